package chatui

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lanchat/lanchat/chat"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want input
		ok   bool
	}{
		{"hello", input{text: "hello"}, true},
		{"  \r", input{}, false},
		{"/join  dev ", input{cmd: "/join", arg: "dev"}, true},
		{"/TRUST FP Dave OBrien", input{cmd: "/trust", arg: "FP Dave OBrien"}, true},
		{"//etc/hosts is here", input{text: "/etc/hosts is here"}, true},
		{"#dev deploy now", input{room: "dev", text: "deploy now"}, true},
		{"##1 priority", input{text: "#1 priority"}, true},
		{"#hashtag", input{text: "#hashtag"}, true},
		{"# spaced", input{text: "# spaced"}, true},
		{"line\r", input{text: "line"}, true},
	}
	for _, tt := range tests {
		got, ok := parseLine(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSplitBody(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("a", 10000),
		strings.Repeat("日本語 ", 1000),
		strings.Repeat("🎉", 3000),
		strings.Repeat("e\u0301", 3000),
		"short",
	} {
		parts := splitBody(s, chat.MaxBodyBytes)
		if strings.Join(parts, "") != s {
			t.Errorf("pieces of a %d-byte line do not join back", len(s))
		}
		for _, p := range parts {
			if len(p) > chat.MaxBodyBytes || len(p) == 0 || !utf8.ValidString(p) {
				t.Errorf("a piece of %d bytes (valid UTF-8: %v)", len(p), utf8.ValidString(p))
			}
			if strings.HasPrefix(p, "\u0301") {
				t.Error("a piece starts inside a character (a lone combining mark)")
			}
		}
	}
	if parts := splitBody(strings.Repeat("word ", 1000), 4096); !strings.HasSuffix(parts[0], " ") {
		t.Errorf("the cut is not at a space: %q", parts[0][len(parts[0])-10:])
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
		{fp + " Dave OBrien", "Dave OBrien", true},
		{spaced + " Dave OBrien", "Dave OBrien", true},
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

func TestLineReader(t *testing.T) {
	in := "one\r\n" + strings.Repeat("x", 100) + "\n" + strings.Repeat("y", 30) + "\nlast"
	lr := &lineReader{r: strings.NewReader(in), max: 50}
	var got []lineIn
	for {
		l, err := lr.next()
		if err != nil {
			break
		}
		got = append(got, l)
	}
	want := []lineIn{{text: "one\r"}, {tooLong: 100}, {text: strings.Repeat("y", 30)}, {text: "last"}}
	if !slices.Equal(got, want) {
		t.Errorf("lines %+v, want %+v", got, want)
	}
}

func TestSanitizeLineStopsTerminalControl(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"clear\x1b[2Jscreen", "clear\uFFFD[2Jscreen"},
		{"bell\a and CSI \u009b31m", "bell\uFFFD and CSI \uFFFD31m"},
		{"two\nlines\r", "two ⏎ lines\uFFFD"},
		{"evil\u202etxt.exe", "evil\uFFFDtxt.exe"}, // right-to-left override
		{"isolate\u2066x\u2069", "isolate\uFFFDx\uFFFD"},
		// Zero columns in the layout, not in every terminal (marks.go
		// rewrites by the layout's count): soft hyphen, zero-width space,
		// word joiner, BOM, line and paragraph separators.
		{"soft\u00adhyphen", "soft\uFFFDhyphen"},
		{"zero\u200bwidth\u2060joiner\ufeff", "zero\uFFFDwidth\uFFFDjoiner\uFFFD"},
		{"line\u2028para\u2029", "line\uFFFDpara\uFFFD"},
		// Kept: emoji joined by ZWJ and a subdivision flag's tags.
		{"\U0001F469\u200d\U0001F4BB", "\U0001F469\u200d\U0001F4BB"},
		{"\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"},
	}
	for _, tt := range tests {
		if got := SanitizeLine(tt.in); got != tt.want {
			t.Errorf("SanitizeLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatMessage(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 3, 7, 0, time.Local)
	v := &chat.MessageView{Room: "lobby", AuthorShort: "K7QF3MX", Nick: "al\x1bice", Time: at, Body: "hi\nthere", Trusted: false, Equivocator: true}
	want := "2026-11-25 14:03:07 #lobby al\uFFFDice(K7QF3MX) [untrusted] [signed conflicting messages]: hi ⏎ there"
	if got := FormatMessage(v, true); got != want {
		t.Errorf("FormatMessage = %q, want %q", got, want)
	}
	if got := FormatLive(&chat.MessageView{AuthorShort: "K7QF3MX", Time: at, Damaged: true, Trusted: true}, false); got != "14:03:07 K7QF3MX: "+DamagedText {
		t.Errorf("FormatLive = %q", got)
	}
	if got := messageLine(v, false, false, false).text(); got != FormatLive(v, false) {
		t.Errorf("the plain message line %q differs from FormatLive %q", got, FormatLive(v, false))
	}
}

func TestSharedNicknameIsFlagged(t *testing.T) {
	var screen bytes.Buffer
	s := &interp{mode: Terminal, r: newTerminal(&screen, 200, 24, false), room: "lobby", now: time.Now}
	msg := func(nick, fp string) *chat.MessageView {
		return &chat.MessageView{Room: "lobby", Author: fp, AuthorShort: fp[:7], Nick: nick, Body: "hi", Trusted: true, Time: time.Now()}
	}
	real, fake := "AAAAAAA-REAL", "BBBBBBB-FAKE"
	s.showMessage(context.Background(), msg("Bob", real), false)
	first := screen.String()
	s.showMessage(context.Background(), msg("bob ", fake), false)
	s.showMessage(context.Background(), msg("Bob", real), false)
	rest := screen.String()[len(first):]
	if strings.Contains(first, "⚠") || strings.Count(rest, "⚠") != 2 {
		t.Errorf("first %q then %q: want the warning sign once two keys share the name", first, rest)
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

func TestColoursOffWithNoColor(t *testing.T) {
	var on, off bytes.Buffer
	l := messageLine(&chat.MessageView{Author: "A", AuthorShort: "A", Time: time.Now(), Body: "x"}, false, false, false)
	newTerminal(&on, 80, 24, true).show(l)
	newTerminal(&off, 80, 24, false).show(l)
	if !strings.Contains(on.String(), "\x1b[2m") || strings.Contains(off.String(), "\x1b[0m") {
		t.Errorf("with colours %q, without %q", on.String(), off.String())
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

func TestEditorKeepsTheDraftWhileBrowsing(t *testing.T) {
	e := newEditor(100)
	for _, k := range []key{{kind: keyText, text: "old"}, {kind: keyEnter}, {kind: keyText, text: "draft"}, {kind: keyUp}} {
		e.key(k)
	}
	if e.buf != "old" {
		t.Errorf("Up shows %q", e.buf)
	}
	e.key(key{kind: keyDown})
	if e.buf != "draft" {
		t.Errorf("Down back gives %q, want the draft", e.buf)
	}
	e.key(key{kind: keyText, text: strings.Repeat("z", 200)})
	if len(e.buf) != 100 || !e.tooLong {
		t.Errorf("a line over the bound: %d bytes, refused %v", len(e.buf), e.tooLong)
	}
}

func TestLogSwitch(t *testing.T) {
	var stderr bytes.Buffer
	l := NewLogSwitch(&stderr)
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
