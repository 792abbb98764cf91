package chatui

import (
	"fmt"
	"strings"

	"github.com/rivo/uniseg"
)

// The terminal keeps what it printed above the input area that may still
// be on screen, how many rows each line took and where its mark is, so it
// can rewrite an own message's mark in place. It never knows the screen
// row of the input area for sure (the chat may start anywhere on the
// screen), only a lower bound: a mark is rewritten only when it is on
// screen even at that bound.

// printed is one line printed above the input area.
type printed struct {
	rows int       // rows it took, wrapped at the width it was printed at
	mark *markSpot // nil: a line without a mark
}

// markSpot is where an own message's mark was printed.
type markSpot struct {
	key      ownKey
	row, col int // where the mark starts: rows below the line's first, column
	state    markState
}

// screenLog is what the terminal printed that may be on screen.
type screenLog struct {
	lines []printed // oldest first
	// top is a lower bound of the screen row of the input area's first
	// row (the attention line, else the prompt).
	top int
}

// forget drops every line: the screen was cleared, or resized (the
// terminal may have rewrapped what it shows).
func (s *screenLog) forget() {
	s.lines, s.top = nil, 0
}

// printedLine records a line of rows rows printed at the input area's
// top; then the input area starts below it.
func (s *screenLog) printedLine(p printed, height int) {
	s.lines = append(s.lines, p)
	s.top = min(s.top+p.rows, height-1)
	s.prune()
}

// inputDrawn records that the input area now takes rows rows: it reaches
// the screen's bottom at most.
func (s *screenLog) inputDrawn(rows, height int) {
	s.top = min(s.top, height-max(rows, 1))
	s.prune()
}

// prune drops the lines whose last row may have scrolled off.
func (s *screenLog) prune() {
	above := 0 // rows between the input area and the end of line i
	for i := len(s.lines) - 1; i >= 0; i-- {
		above += s.lines[i].rows
		if s.top-above+s.lines[i].rows-1 < 0 {
			s.lines = append([]printed(nil), s.lines[i+1:]...)
			return
		}
	}
}

// find returns the marks of k that are surely on screen (a message shown
// twice, by /history, has two), each with how many rows above the input
// area's first row it starts.
func (s *screenLog) find(k ownKey) (spots []*markSpot, ups []int) {
	above := 0
	for i := len(s.lines) - 1; i >= 0; i-- {
		above += s.lines[i].rows
		if m := s.lines[i].mark; m != nil && m.key == k && s.top-(above-m.row) >= 0 {
			spots, ups = append(spots, m), append(ups, above-m.row)
		}
	}
	return spots, ups
}

// wrapAt lays s out from column 0 in rows of width columns, as a terminal
// autowraps it (a wide character that does not fit starts the next row):
// the rows it takes, and where the cluster at byte offset at starts.
func wrapAt(s string, width, at int) (rows, atRow, atCol int) {
	width = max(width, 2)
	row, col, off, state := 0, 0, 0, -1
	atRow, atCol = -1, -1
	for rest := s; rest != ""; {
		var c string
		var w int
		c, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if col+w > width {
			row, col = row+1, 0
		}
		if off == at {
			atRow, atCol = row, col
		}
		col += w
		off += len(c)
	}
	return row + 1, atRow, atCol
}

// markField is the mark of k in st.
func (t *terminal) markField(k ownKey, st markState) string {
	return markText(k.seq, st, t.asciiMarks)
}

// plainText is l as it is printed, without attributes.
func plainText(l line) string {
	if l.kind != lineMessage {
		return "-- " + l.text()
	}
	return l.text()
}

// watching implements renderer: a mark of k is on screen.
func (t *terminal) watching(k ownKey) bool {
	spots, _ := t.log.find(k)
	return len(spots) > 0
}

// marksChanged rewrites, in place, the marks still on screen: the cursor
// is saved, moved up to the mark, and restored, so the line being typed
// and the attention line stay as they are.
func (t *terminal) marksChanged(ch []markChange) {
	var b strings.Builder
	for _, c := range ch {
		spots, ups := t.log.find(c.key)
		for i, spot := range spots {
			if spot.state == c.state {
				continue
			}
			spot.state = c.state
			b.WriteString("\x1b7")
			if n := t.curRow + ups[i]; n > 0 {
				fmt.Fprintf(&b, "\x1b[%dA", n)
			}
			b.WriteString("\r")
			if spot.col > 0 {
				fmt.Fprintf(&b, "\x1b[%dC", spot.col)
			}
			t.paint(&b, dim, t.markField(c.key, c.state))
			b.WriteString("\x1b8")
		}
	}
	if b.Len() > 0 {
		t.write(b.String())
	}
}
