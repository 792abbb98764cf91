package chatui

import "github.com/rivo/uniseg"

// cell is one grapheme cluster of the prompt or the line, where it goes
// on screen.
type cell struct {
	text     string
	prompt   bool
	row, col int
}

// screenLayout is the prompt and the line laid out in rows of width
// columns, and where the cursor goes. Columns are display columns: a
// cluster's width is uniseg's (East Asian wide characters and emoji take
// two), and one that does not fit at the end of a row starts the next, as
// terminals wrap it.
type screenLayout struct {
	cells          []cell
	rows           int // rows used, the cursor's included
	curRow, curCol int
}

// layout lays out prompt and buf (cursor at byte offset cur) in width
// columns.
func layout(prompt, buf string, cur, width int) screenLayout {
	width = max(width, 2) // room for one wide character
	var l screenLayout
	row, col := 0, 0
	place := func(s string, isPrompt bool, atCursor func(int) bool) {
		state, off := -1, 0
		for rest := s; rest != ""; {
			if atCursor(off) {
				l.curRow, l.curCol = row, col
			}
			var c string
			var w int
			c, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
			if col+w > width {
				row, col = row+1, 0
				if atCursor(off) {
					l.curRow, l.curCol = row, col
				}
			}
			l.cells = append(l.cells, cell{text: c, prompt: isPrompt, row: row, col: col})
			col += w
			off += len(c)
		}
	}
	place(prompt, true, func(int) bool { return false })
	place(buf, false, func(off int) bool { return off == cur })
	if cur >= len(buf) { // the cursor after the last cell needs a column of its own
		if col >= width {
			row, col = row+1, 0
		}
		l.curRow, l.curCol = row, col
	}
	l.rows = max(row, l.curRow) + 1
	return l
}
