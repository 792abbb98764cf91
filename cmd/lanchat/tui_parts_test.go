package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/term"

	"github.com/lanchat/lanchat/chat"
)

func TestSanitizeLineStopsTerminalControl(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"clear\x1b[2Jscreen", "clear\uFFFD[2Jscreen"},
		{"bell\a and CSI \u009b31m", "bell\uFFFD and CSI \uFFFD31m"},
		{"two\nlines\r", "two ⏎ lines\uFFFD"},
		{"evil\u202etxt.exe", "evil\uFFFDtxt.exe"}, // right-to-left override
		{"isolate\u2066x\u2069", "isolate\uFFFDx\uFFFD"},
	}
	for _, tt := range tests {
		if got := sanitizeLine(tt.in); got != tt.want {
			t.Errorf("sanitizeLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSharedNicknameIsFlagged(t *testing.T) {
	var screen bytes.Buffer
	u := &tui{room: "lobby", t: term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), &screen}, "")}
	msg := func(nick, fp string) *chat.MessageView {
		return &chat.MessageView{Room: "lobby", Author: fp, AuthorShort: fp[:7], Nick: nick, Body: "hi", Trusted: true, Time: time.Now()}
	}
	real, fake := "AAAAAAA-REAL", "BBBBBBB-FAKE"
	first := u.message(msg("Bob", real))
	second := u.message(msg("bob ", fake))
	again := u.message(msg("Bob", real))
	if strings.Contains(first, "⚠") || !strings.Contains(second, "⚠") || !strings.Contains(again, "⚠") {
		t.Errorf("labels %q, %q, %q: want the warning sign once two keys share the name", first, second, again)
	}
	if n := strings.Count(screen.String(), "warning"); n != 1 || !strings.Contains(screen.String(), "AAAAAAA and BBBBBBB") {
		t.Errorf("screen %q: want one warning naming both keys", screen.String())
	}
}

func TestAuthorColourIsStable(t *testing.T) {
	a, b := colorOf("K7QF3AB-X"), colorOf("K7QF3AB-X")
	if a != b || !slices.Contains(authorColors, a) {
		t.Errorf("colorOf gives %q then %q; want one colour of the palette", a, b)
	}
	seen := map[string]bool{}
	for _, fp := range []string{"A", "B", "C", "D", "E", "F", "G", "H"} {
		seen[colorOf(fp)] = true
	}
	if len(seen) < 3 {
		t.Errorf("8 authors got %d colours: the hash does not spread", len(seen))
	}
}

func TestTranslateKeys(t *testing.T) {
	in := []byte("hi\r\nyo\x0f\x1b[A")
	translateKeys(in)
	if want := []byte("hi\x0f\x0fyo\x07\x1b[A"); !bytes.Equal(in, want) {
		t.Errorf("translateKeys = %q, want %q", in, want)
	}
}

func TestInputHistory(t *testing.T) {
	var h inputHistory
	for _, l := range []string{"one", "two", "two", "", "three"} {
		h.Add(l)
	}
	if h.Len() != 3 || h.At(0) != "three" || h.At(2) != "one" {
		t.Errorf("history %q, want newest first without repeats or empty lines", h.lines)
	}
	for i := range maxInputHistory + 10 {
		h.Add(strings.Repeat("x", i+1))
	}
	if h.Len() != maxInputHistory {
		t.Errorf("history holds %d lines, want the bound %d", h.Len(), maxInputHistory)
	}
}

func TestParseTrustArgs(t *testing.T) {
	fp := "NDDAU7G-G4AZG2A-JLRTVB3-EVEGGFC-IY75DP6-UMXPJSS-3VRITAR-5HJONA6"
	spaced := strings.ReplaceAll(fp, "-", " ")
	tests := []struct {
		arg, name string
		ok        bool
	}{
		{fp, "", true},
		{fp + " bob", "bob", true},
		{spaced + " bob", "bob", true},
		{spaced, "", true},
		{"", "", false},
		{"NDDAU7G-typo bob", "", false},
	}
	for _, tt := range tests {
		got, name, err := parseTrustArgs(tt.arg)
		if (err == nil) != tt.ok || tt.ok && (got.String() != fp || name != tt.name) {
			t.Errorf("parseTrustArgs(%q) = %s, %q, %v; want ok=%v name %q", tt.arg, got, name, err, tt.ok, tt.name)
		}
	}
}

func TestLogSwitch(t *testing.T) {
	var stderr bytes.Buffer
	l := &logSwitch{w: &stderr}
	var shown []string
	l.Write([]byte("before\n"))
	l.show(func(s string) { shown = append(shown, s) })
	l.Write([]byte("one\ntw"))
	l.Write([]byte("o\n"))
	l.show(nil)
	l.Write([]byte("after\n"))
	if stderr.String() != "before\nafter\n" || !slices.Equal(shown, []string{"one", "two"}) {
		t.Errorf("stderr %q, shown %q; want lines on screen only while the terminal chat runs", stderr.String(), shown)
	}
}
