package chatui

import (
	"strings"
	"testing"

	"github.com/rivo/uniseg"
)

func TestMarkText(t *testing.T) {
	for _, tc := range []struct {
		st          markState
		utf8, ascii string
	}{
		{markState{}, "[7 ·  ]", "[7 .  ]"},
		{markState{members: 2}, "[7 ·  ]", "[7 .  ]"},
		{markState{members: 2, stored: 1}, "[7 ✓  ]", "[7 +  ]"},
		{markState{members: 2, stored: 2}, "[7 ✓✓ ]", "[7 ++ ]"},
		{markState{members: 2, stored: 2, read: 1}, "[7 ✓✓r]", "[7 ++r]"},
		{markState{members: 2, stored: 1, read: 1}, "[7 ✓ r]", "[7 + r]"},
		{markState{members: 2, stored: 2, read: 2}, "[7 ✓✓R]", "[7 ++R]"},
	} {
		if got := markText(7, tc.st, false); got != tc.utf8 {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.utf8)
		}
		if got := markText(7, tc.st, true); got != tc.ascii {
			t.Errorf("%+v in ASCII: %q, want %q", tc.st, got, tc.ascii)
		}
		if w, w0 := uniseg.StringWidth(tc.utf8), uniseg.StringWidth(markText(7, markState{}, false)); w != w0 {
			t.Errorf("%+v: the mark takes %d columns, the first one %d", tc.st, w, w0)
		}
	}
}

func TestUTF8Locale(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"LANG": "C.UTF-8"}, true},
		{map[string]string{"LANG": "en_US.utf8"}, true},
		{map[string]string{"LANG": "C"}, false},
		{map[string]string{"LC_ALL": "C", "LANG": "en_US.UTF-8"}, false}, // LC_ALL wins
		{map[string]string{"LC_CTYPE": "de_DE.UTF-8", "LANG": "C"}, true},
	} {
		if got := UTF8Locale(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: UTF-8 %v, want %v", tc.env, got, tc.want)
		}
	}
}

// countingVT is a vt that counts what is written to it.
type countingVT struct {
	*vt
	n int
}

func (c *countingVT) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.vt.Write(p)
}

func ownLine(text string, seq uint64, st markState) line {
	return line{kind: lineMessage, spans: []span{{text: text}}, own: &ownRef{key: ownKey{"lobby", seq}, state: st}}
}

// A mark on a line that wrapped, among wrapped lines with wide
// characters, is rewritten in place: every other row, the attention line,
// the line being typed and the cursor stay as they were.
func TestMarkRewrittenInPlace(t *testing.T) {
	v := newVT(30, 10)
	term := newTerminal(v, 30, 10, true)
	term.setRoom("lobby")
	typeKeys(term, "half typed 日本")
	term.setStatus("unread: #ops 1")
	// 16 columns, then 7 wide characters fill row 0; 語 starts row 1, the
	// mark follows it.
	term.show(ownLine("12:00:00 alice: 日本語日本語日本語", 1, markState{members: 1}))
	term.show(noticeLine(lineNotice, "a notice long enough to wrap onto a second row"))
	term.show(line{kind: lineMessage, spans: []span{{text: "12:00:01 bob: 今日は"}}})
	term.show(ownLine("12:00:02 alice: short", 2, markState{members: 1}))
	before := strings.Split(v.screen(), "\n")
	wantBefore := []string{
		"12:00:00 alice: 日本語日本語日",
		"本語 [1 ·  ]",
		"-- a notice long enough to wra",
		"p onto a second row",
		"12:00:01 bob: 今日は",
		"12:00:02 alice: short [2 ·  ]",
		"unread: #ops 1",
		"#lobby> half typed 日本",
	}
	if strings.Join(before, "\n") != strings.Join(wantBefore, "\n") {
		t.Fatalf("screen before\n%s\nwant\n%s", v.screen(), strings.Join(wantBefore, "\n"))
	}
	row, col := v.row, v.col

	term.marksChanged([]markChange{{key: ownKey{"lobby", 1}, state: markState{members: 1, stored: 1, read: 1}}})
	after := strings.Split(v.screen(), "\n")
	want := append([]string{}, wantBefore...)
	want[1] = "本語 [1 ✓✓R]"
	if strings.Join(after, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen after the receipt\n%s\nwant\n%s", v.screen(), strings.Join(want, "\n"))
	}
	if v.row != row || v.col != col {
		t.Errorf("the cursor moved from %d,%d to %d,%d", row, col, v.row, v.col)
	}
	// Typing goes on where it was.
	typeKeys(term, "語")
	if got := v.line(7); got != "#lobby> half typed 日本語" {
		t.Errorf("the prompt row after typing on: %q", got)
	}
	term.show(ownLine("12:00:00 alice: short again", 2, markState{members: 1})) // shown twice (/history)
	term.marksChanged([]markChange{{key: ownKey{"lobby", 2}, state: markState{members: 1, stored: 1}}})
	if got := v.line(5); got != "12:00:02 alice: short [2 ✓✓ ]" {
		t.Errorf("the second mark: %q\n%s", got, v.screen())
	}
	if got := v.line(6) + "\n" + v.line(7); got != "12:00:00 alice: short again [2\n ✓✓ ]" { // wrapped inside the mark
		t.Errorf("the second mark shown again: %q\n%s", got, v.screen())
	}
	if got := v.line(1); got != "本語 [1 ✓✓R]" {
		t.Errorf("the first mark after the second changed: %q", got)
	}
}

// A mark whose line scrolled off, or was printed before a resize, is not
// touched; one on the top row still is.
func TestMarkOffScreenIsLeft(t *testing.T) {
	c := &countingVT{vt: newVT(30, 5)}
	term := newTerminal(c, 30, 5, false)
	term.asciiMarks = true
	term.setRoom("lobby")
	term.show(ownLine("12:00:00 alice: one", 1, markState{members: 1}))
	for _, n := range []string{"n1", "n2", "n3"} {
		term.show(noticeLine(lineNotice, "%s", n))
	}
	// The screen is full: the own line is on the top row.
	term.marksChanged([]markChange{{key: ownKey{"lobby", 1}, state: markState{members: 1, stored: 1}}})
	if got := c.line(0); got != "12:00:00 alice: one [1 ++ ]" {
		t.Fatalf("the top row: %q\n%s", got, c.screen())
	}
	term.show(noticeLine(lineNotice, "n4")) // the own line scrolls off
	if term.watching(ownKey{"lobby", 1}) {
		t.Error("a line scrolled off is still watched")
	}
	screen, n := c.screen(), c.n
	term.marksChanged([]markChange{{key: ownKey{"lobby", 1}, state: markState{members: 1, stored: 1, read: 1}}})
	if c.n != n || c.screen() != screen {
		t.Errorf("a mark scrolled off was written: %q, screen\n%s", c.screen(), screen)
	}

	term.show(ownLine("12:00:01 alice: two", 2, markState{members: 1}))
	if !term.watching(ownKey{"lobby", 2}) {
		t.Fatal("the new own line is not watched")
	}
	term.setSize(40, 5)
	if term.watching(ownKey{"lobby", 2}) {
		t.Error("a line printed before a resize is still watched")
	}
	n = c.n
	term.marksChanged([]markChange{{key: ownKey{"lobby", 2}, state: markState{members: 1, stored: 1}}})
	if c.n != n {
		t.Error("a mark printed before a resize was written")
	}
}

// A chat started low on a screen that already holds lines (the shell's):
// the input area's row is known only as a lower bound, and a mark that is
// on screen whatever the start is still rewritten.
func TestMarkAfterStartingMidScreen(t *testing.T) {
	v := newVT(30, 6)
	v.Write([]byte("$ shell 1\r\n$ shell 2\r\n$ shell 3\r\n"))
	term := newTerminal(v, 30, 6, false)
	term.setRoom("lobby")
	term.show(ownLine("12:00:00 alice: a", 1, markState{members: 1}))
	term.show(ownLine("12:00:01 alice: b", 2, markState{members: 1}))
	term.show(noticeLine(lineNotice, "n"))
	// The screen scrolled by one row.
	if got, want := v.screen(), "$ shell 2\n$ shell 3\n12:00:00 alice: a [1 ·  ]\n12:00:01 alice: b [2 ·  ]\n-- n\n#lobby>"; got != want {
		t.Fatalf("screen\n%s\nwant\n%s", got, want)
	}
	term.marksChanged([]markChange{
		{key: ownKey{"lobby", 1}, state: markState{members: 1, stored: 1}},
		{key: ownKey{"lobby", 2}, state: markState{members: 1, stored: 1, read: 1}},
	})
	if got, want := v.screen(), "$ shell 2\n$ shell 3\n12:00:00 alice: a [1 ✓✓ ]\n12:00:01 alice: b [2 ✓✓R]\n-- n\n#lobby>"; got != want {
		t.Errorf("screen after the receipts\n%s\nwant\n%s", got, want)
	}
}

// A mark cut by the end of a row is rewritten across both rows.
func TestMarkAcrossARowEnd(t *testing.T) {
	v := newVT(20, 5)
	term := newTerminal(v, 20, 5, false)
	term.setRoom("lobby")
	term.show(ownLine("12:00:00 alice: ab", 12, markState{members: 2})) // 18 columns, a space, then the mark
	if got, want := v.screen(), "12:00:00 alice: ab [\n12 ·  ]\n#lobby>"; got != want {
		t.Fatalf("screen\n%s\nwant\n%s", got, want)
	}
	term.marksChanged([]markChange{{key: ownKey{"lobby", 12}, state: markState{members: 2, stored: 1, read: 1}}})
	if got, want := v.screen(), "12:00:00 alice: ab [\n12 ✓ r]\n#lobby>"; got != want {
		t.Errorf("screen\n%s\nwant\n%s", got, want)
	}
	if v.row != 2 || v.col != 8 {
		t.Errorf("the cursor is at %d,%d, want 2,8", v.row, v.col)
	}
}
