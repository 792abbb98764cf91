package chatui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// The line editor is our own, not x/term's Terminal: that one counts runes
// as columns, so a wide character (日本語, 🎉) or a combining mark put
// the cursor and the wrap in the wrong place, and Ctrl-U on wide text left
// half a line on screen. This one edits by grapheme cluster and leaves the
// columns to layout (layout.go), which measures with uniseg.

// keyKind is what a key does.
type keyKind int

const (
	keyText keyKind = iota
	keyEnter
	keyBackspace
	keyDelete
	keyLeft
	keyRight
	keyHome
	keyEnd
	keyUp
	keyDown
	keyKillStart // Ctrl-U
	keyKillEnd   // Ctrl-K
	keyKillWord  // Ctrl-W
	keyInterrupt // Ctrl-C
	keyEOF       // Ctrl-D
	keyRedraw    // Ctrl-L
	keyIgnored
	keyTab // completes an @nick
)

type key struct {
	kind keyKind
	text string // keyText
}

// controlKeys are the single-byte keys the editor knows.
var controlKeys = map[byte]keyKind{
	'\r': keyEnter, '\n': keyEnter, 0x7f: keyBackspace, 0x08: keyBackspace,
	0x01: keyHome, 0x05: keyEnd, 0x02: keyLeft, 0x06: keyRight, 0x10: keyUp, 0x0e: keyDown,
	0x15: keyKillStart, 0x0b: keyKillEnd, 0x17: keyKillWord, 0x03: keyInterrupt, 0x04: keyEOF, 0x0c: keyRedraw,
	'\t': keyTab,
}

// csiKeys are the final bytes (and ~ parameters) of the escape sequences
// the editor knows; modifiers (ESC [ 1 ; 5 C) are ignored.
var csiKeys = map[string]keyKind{
	"A": keyUp, "B": keyDown, "C": keyRight, "D": keyLeft, "H": keyHome, "F": keyEnd,
	"1~": keyHome, "7~": keyHome, "4~": keyEnd, "8~": keyEnd, "3~": keyDelete,
}

// decodeKeys splits what the terminal sent into keys; rest is an
// unfinished sequence or character to put before the next read.
func decodeKeys(p []byte) (keys []key, rest []byte) {
	for len(p) > 0 {
		b := p[0]
		switch {
		case b == 0x1b:
			k, n := decodeEscape(p)
			if n == 0 {
				return keys, p
			}
			keys, p = append(keys, k), p[n:]
		case b < 0x20 || b == 0x7f:
			kind, ok := controlKeys[b]
			if !ok {
				kind = keyIgnored
			}
			keys, p = append(keys, key{kind: kind}), p[1:]
		default:
			if !utf8.FullRune(p) {
				return keys, p
			}
			r, n := utf8.DecodeRune(p)
			if r != utf8.RuneError && (unicode.IsPrint(r) || r == ' ' || unicode.Is(unicode.Mn, r) || r == 0x200d || unicode.Is(unicode.Variation_Selector, r)) {
				if last := len(keys) - 1; last >= 0 && keys[last].kind == keyText {
					keys[last].text += string(r)
				} else {
					keys = append(keys, key{kind: keyText, text: string(r)})
				}
			}
			p = p[n:]
		}
	}
	return keys, nil
}

// decodeEscape reads the escape sequence at the start of p; n is 0 if it
// is not complete yet. A lone ESC at the end of a read is ignored.
func decodeEscape(p []byte) (key, int) {
	if len(p) == 1 {
		return key{kind: keyIgnored}, 1
	}
	switch p[1] {
	case '[', 'O':
		for i := 2; i < len(p); i++ {
			if p[i] >= 0x40 && p[i] <= 0x7e { // the final byte
				params := string(p[2:i])
				final := string(p[i])
				if final == "~" {
					if semi := strings.IndexByte(params, ';'); semi >= 0 {
						params = params[:semi]
					}
					final = params + "~"
				}
				kind, ok := csiKeys[final]
				if !ok {
					kind = keyIgnored
				}
				return key{kind: kind}, i + 1
			}
		}
		if len(p) > 32 { // not a sequence we will ever finish
			return key{kind: keyIgnored}, len(p)
		}
		return key{}, 0
	}
	return key{kind: keyIgnored}, 2 // Alt-something
}

// editor is the line being typed and its input history.
type editor struct {
	buf      string
	cur      int // byte offset in buf, at a grapheme cluster boundary
	hist     inputHistory
	histAt   int    // -1: editing a new line; else the history line shown
	draft    string // the new line, while history is shown
	maxBytes int
	tooLong  bool // text was refused since the last key that fit
	// complete returns the nicknames starting with a prefix (folded),
	// for Tab after "@"; nil: no completion.
	complete func(prefix string) []string
}

func newEditor(maxBytes int) *editor { return &editor{histAt: -1, maxBytes: maxBytes} }

// edited is what a key did to the line.
type edited struct {
	submit string // keyEnter: the line
	enter  bool
	quit   bool // Ctrl-C, or Ctrl-D on an empty line
}

// key applies k.
func (e *editor) key(k key) edited {
	switch k.kind {
	case keyText:
		e.insert(k.text)
	case keyEnter:
		line := e.buf
		e.hist.Add(line)
		e.buf, e.cur, e.histAt, e.draft = "", 0, -1, ""
		return edited{submit: line, enter: true}
	case keyBackspace:
		if e.cur > 0 {
			prev := e.prevBoundary()
			e.buf, e.cur = e.buf[:prev]+e.buf[e.cur:], prev
		}
	case keyDelete:
		if e.cur < len(e.buf) {
			e.buf = e.buf[:e.cur] + e.buf[e.nextBoundary():]
		}
	case keyLeft:
		e.cur = e.prevBoundary()
	case keyRight:
		e.cur = e.nextBoundary()
	case keyHome:
		e.cur = 0
	case keyEnd:
		e.cur = len(e.buf)
	case keyKillStart:
		e.buf, e.cur = e.buf[e.cur:], 0
	case keyKillEnd:
		e.buf = e.buf[:e.cur]
	case keyKillWord:
		start := e.cur
		for start > 0 && e.buf[start-1] == ' ' {
			start--
		}
		for start > 0 && e.buf[start-1] != ' ' {
			start--
		}
		e.buf, e.cur = e.buf[:start]+e.buf[e.cur:], start
	case keyUp:
		e.browse(+1)
	case keyDown:
		e.browse(-1)
	case keyTab:
		e.completeMention()
	case keyInterrupt:
		return edited{quit: true}
	case keyEOF:
		if e.buf == "" {
			return edited{quit: true}
		}
		if e.cur < len(e.buf) {
			e.buf = e.buf[:e.cur] + e.buf[e.nextBoundary():]
		}
	}
	return edited{}
}

// completeMention completes the "@prefix" before the cursor to the one
// nickname it starts, or to what all the nicknames it starts share.
func (e *editor) completeMention() {
	if e.complete == nil {
		return
	}
	start := strings.LastIndexByte(e.buf[:e.cur], ' ') + 1
	word := e.buf[start:e.cur]
	if !strings.HasPrefix(word, "@") {
		return
	}
	names := e.complete(word[1:])
	if len(names) == 0 {
		return
	}
	done := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(strings.ToLower(n), strings.ToLower(done)) {
			_, size := utf8.DecodeLastRuneInString(done)
			done = done[:len(done)-size]
		}
	}
	if len(names) == 1 {
		done += " "
	}
	if len(done) <= len(word)-1 && len(names) > 1 {
		return
	}
	rest := e.buf[e.cur:]
	e.buf = e.buf[:start] + "@" + done + rest
	e.cur = len(e.buf) - len(rest)
}

// insert types s at the cursor, refusing what would go over maxBytes.
func (e *editor) insert(s string) {
	if room := e.maxBytes - len(e.buf); len(s) > room {
		e.tooLong = true
		if room <= 0 {
			return
		}
		s = s[:clusterCut(s, room)]
	}
	e.buf = e.buf[:e.cur] + s + e.buf[e.cur:]
	e.cur = e.boundaryAtOrAfter(e.cur + len(s)) // a combining mark joins the cluster before it
}

// browse moves through the input history: +1 older, -1 newer.
func (e *editor) browse(dir int) {
	at := e.histAt + dir
	if at < -1 || at >= e.hist.Len() {
		return
	}
	if e.histAt == -1 {
		e.draft = e.buf
	}
	e.histAt = at
	if at == -1 {
		e.buf = e.draft
	} else {
		e.buf = e.hist.At(at)
	}
	e.cur = len(e.buf)
}

// boundaries are the grapheme cluster boundaries of buf, 0 and len included.
func (e *editor) boundaries() []int {
	b := []int{0}
	state, off := -1, 0
	for rest := e.buf; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		off += len(c)
		b = append(b, off)
	}
	return b
}

func (e *editor) prevBoundary() int {
	prev := 0
	for _, b := range e.boundaries() {
		if b >= e.cur {
			break
		}
		prev = b
	}
	return prev
}

func (e *editor) nextBoundary() int { return e.boundaryAtOrAfter(e.cur + 1) }

func (e *editor) boundaryAtOrAfter(off int) int {
	for _, b := range e.boundaries() {
		if b >= off {
			return b
		}
	}
	return len(e.buf)
}

// maxInputHistory bounds the lines kept for the arrow keys.
const maxInputHistory = 500

// inputHistory is the typed lines: newest first, no repeats of the line
// before, bounded.
type inputHistory struct {
	lines []string // oldest first
}

func (h *inputHistory) Add(line string) {
	if line == "" || len(h.lines) > 0 && h.lines[len(h.lines)-1] == line {
		return
	}
	if len(h.lines) == maxInputHistory {
		h.lines = h.lines[1:]
	}
	h.lines = append(h.lines, line)
}

func (h *inputHistory) Len() int { return len(h.lines) }

func (h *inputHistory) At(i int) string { return h.lines[len(h.lines)-1-i] }
