package chatui

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rivo/uniseg"
)

// vt is a small terminal emulator for what terminal writes: text by
// display width (wide characters wrap whole, as xterm and tmux do),
// CR, LF, cursor up/right, erase below, save/restore cursor (ESC 7, ESC
// 8), SGR ignored.
type vt struct {
	w, h     int
	rows     [][]string // cells; "" after a wide character
	row, col int
	wrapNext bool
	saved    [3]int // row, col, wrapNext of ESC 7
	// xterm: a soft hyphen takes a column, as in xterm's wcwidth (uniseg,
	// the layout's measure, gives it none).
	xterm bool
}

func newVT(w, h int) *vt {
	v := &vt{w: w, h: h}
	for range h {
		v.rows = append(v.rows, make([]string, w))
	}
	return v
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;]*)([A-Za-z])`)

func (v *vt) Write(p []byte) (int, error) {
	s := string(p)
	for s != "" {
		if rest, ok := strings.CutPrefix(s, "\x1b7"); ok {
			w := 0
			if v.wrapNext {
				w = 1
			}
			v.saved, s = [3]int{v.row, v.col, w}, rest
			continue
		}
		if rest, ok := strings.CutPrefix(s, "\x1b8"); ok {
			v.row, v.col, v.wrapNext, s = v.saved[0], v.saved[1], v.saved[2] == 1, rest
			continue
		}
		if m := csi.FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			n = max(n, 1)
			switch m[2] {
			case "A":
				v.row = max(v.row-n, 0)
			case "C":
				v.col = min(v.col+n, v.w-1)
			case "J":
				for c := v.col; c < v.w; c++ {
					v.rows[v.row][c] = " "
				}
				for r := v.row + 1; r < v.h; r++ {
					v.rows[r] = make([]string, v.w)
				}
			case "H":
				v.row, v.col = 0, 0
			}
			v.wrapNext = false
			s = s[len(m[0]):]
			continue
		}
		c, rest, w, _ := uniseg.FirstGraphemeClusterInString(s, -1)
		s = rest
		if v.xterm && c == "\u00ad" {
			w = 1
		}
		switch c {
		case "\r":
			v.col, v.wrapNext = 0, false
		case "\n", "\r\n":
			if c == "\r\n" {
				v.col = 0
			}
			v.lineFeed()
			v.wrapNext = false
		default:
			if v.wrapNext || v.col+w > v.w {
				v.col = 0
				v.lineFeed()
				v.wrapNext = false
			}
			v.rows[v.row][v.col] = c
			if w == 2 {
				v.rows[v.row][v.col+1] = ""
			}
			v.col += w
			if v.col >= v.w {
				v.col, v.wrapNext = v.w-1, true
			}
		}
	}
	return len(p), nil
}

func (v *vt) lineFeed() {
	if v.row == v.h-1 {
		v.rows = append(v.rows[1:], make([]string, v.w))
		return
	}
	v.row++
}

func (v *vt) line(r int) string {
	var b strings.Builder
	for _, c := range v.rows[r] {
		if c == "" {
			continue
		}
		b.WriteString(c)
	}
	return strings.TrimRight(strings.ReplaceAll(b.String(), "\x00", " "), " ")
}

func (v *vt) screen() string {
	var lines []string
	for r := range v.h {
		lines = append(lines, v.line(r))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func typeKeys(t *terminal, s string) { t.feed([]byte(s)) }

// Wide characters, emoji and combining marks keep the prompt, the cursor
// and the wrap where the terminal puts them; Ctrl-U on wide text clears it.
func TestTerminalWideText(t *testing.T) {
	v := newVT(12, 6)
	term := newTerminal(v, 12, 6, true)
	term.setRoom("日本") // a prompt of wide characters: "#日本> " is 7 columns
	typeKeys(term, "日本語🎉e\u0301x")
	// 7 + 2+2 = 11 columns; 語 does not fit in the 12th: it wraps whole.
	if got, want := v.line(0), "#日本> 日本"; got != want {
		t.Errorf("row 0 %q, want %q", got, want)
	}
	if got, want := v.line(1), "語🎉e\u0301x"; got != want {
		t.Errorf("row 1 %q, want %q", got, want)
	}
	if v.row != 1 || v.col != 6 {
		t.Errorf("cursor at row %d col %d, want 1, 6 (after x)", v.row, v.col)
	}
	typeKeys(term, "\x7f\x7f") // backspace takes x, then é whole
	if got := v.line(1); got != "語🎉" || v.col != 4 {
		t.Errorf("after two backspaces row 1 %q cursor col %d; want 語🎉 at 4", got, v.col)
	}
	typeKeys(term, "\x1b[D\x1b[D") // left over 🎉 and 語: back on row 0's end
	if v.row != 1 || v.col != 0 {
		t.Errorf("after two lefts cursor at %d,%d; want 1,0 (before 語)", v.row, v.col)
	}
	typeKeys(term, "\x15") // Ctrl-U: everything before the cursor goes
	if got := v.screen(); got != "#日本> 語🎉" || v.row != 0 || v.col != 7 {
		t.Errorf("after Ctrl-U the screen is %q, cursor %d,%d; want \"#日本> 語🎉\" at 0,7", got, v.row, v.col)
	}
	if term.ed.buf != "語🎉" {
		t.Errorf("after Ctrl-U the line is %q", term.ed.buf)
	}
}

// A line printed while one is being typed goes above it; the typed line
// stays whole; Enter hands it over and clears it.
func TestTerminalPrintsAboveTheTypedLine(t *testing.T) {
	v := newVT(24, 6)
	term := newTerminal(v, 24, 6, false)
	term.setRoom("lobby")
	typeKeys(term, "hello wor")
	term.show(noticeLine(lineNotice, "bob linked"))
	term.show(line{kind: lineMessage, spans: []span{{text: "12:00:00 bob: hi 日本"}}})
	want := "-- bob linked\n12:00:00 bob: hi 日本\n#lobby> hello wor"
	if got := v.screen(); got != want {
		t.Errorf("screen\n%s\nwant\n%s", got, want)
	}
	got := term.feed([]byte("ld\r"))
	if len(got) != 1 || got[0].line != "hello world" {
		t.Errorf("Enter gave %+v", got)
	}
	if last := v.line(2); last != "#lobby>" {
		t.Errorf("after Enter the prompt row is %q", last)
	}
	typeKeys(term, "\x1b[A") // the line back from the input history
	if last := v.line(2); last != "#lobby> hello world" {
		t.Errorf("after Up the prompt row is %q", last)
	}
	if q := term.feed([]byte{0x03}); len(q) != 1 || !q[0].quit {
		t.Errorf("Ctrl-C gave %+v, want quit", q)
	}
}

// A line taller than the screen shows the rows around the cursor and
// never moves above the input area.
func TestTerminalTallLine(t *testing.T) {
	v := newVT(10, 4)
	term := newTerminal(v, 10, 4, false)
	term.show(noticeLine(lineNotice, "top"))
	term.setRoom("a")
	typeKeys(term, strings.Repeat("x", 60))
	term.show(noticeLine(lineNotice, "new"))
	if !strings.Contains(v.screen(), "-- new") || v.row != 3 {
		t.Errorf("screen after a notice under a tall line:\n%s\ncursor row %d", v.screen(), v.row)
	}
}

func TestDecodeKeys(t *testing.T) {
	in := []byte("hi\x1b[A\x1b[3~\x1bOH\x1b[1;5C日")
	keys, rest := decodeKeys(append(in, "本"[:2]...))
	kinds := []keyKind{keyText, keyUp, keyDelete, keyHome, keyRight, keyText}
	if len(keys) != len(kinds) || string(rest) != "本"[:2] {
		t.Fatalf("keys %+v rest %q", keys, rest)
	}
	for i, k := range keys {
		if k.kind != kinds[i] {
			t.Errorf("key %d is %v, want %v", i, k.kind, kinds[i])
		}
	}
	if keys[5].text != "日" {
		t.Errorf("text %q", keys[5].text)
	}
	if k, rest := decodeKeys([]byte("\x1b[")); len(k) != 0 || !bytes.Equal(rest, []byte("\x1b[")) {
		t.Errorf("an unfinished sequence gave %v, %q", k, rest)
	}
	if k, _ := decodeKeys([]byte("a\x1b[2Jb\x00")); len(k) != 4 || k[1].kind != keyIgnored || k[3].kind != keyIgnored {
		t.Errorf("unknown keys: %+v", k)
	}
}
