package main

// The line editor is golang.org/x/term's Terminal: it keeps the half-typed
// line intact while other output is written above it, and has input
// history on the arrow keys. One change: Enter does not end ReadLine (which
// would leave the typed line on the screen above the message it becomes).
// The tty reader turns Enter into submitKey, which the Terminal hands to
// AutoCompleteCallback with the whole line; the callback takes the line and
// clears it in place.

// submitKey is what Enter becomes on its way to the Terminal: Ctrl-O, a key
// the Terminal does not handle itself. A real Ctrl-O becomes ignoredKey.
const (
	submitKey  = 0x0f
	ignoredKey = 0x07 // Ctrl-G: the Terminal ignores it
)

// maxInputHistory bounds the lines kept for the arrow keys.
const maxInputHistory = 500

// translateKeys rewrites Enter (CR or LF) to submitKey in place.
func translateKeys(p []byte) {
	for i, b := range p {
		switch b {
		case '\r', '\n':
			p[i] = submitKey
		case submitKey:
			p[i] = ignoredKey
		}
	}
}

// inputHistory is the Terminal's History: newest first, no repeats of the
// line before, bounded.
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
