package chatui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/rivo/uniseg"
	"golang.org/x/term"
)

// terminal is the terminal UI: messages and notices scroll above a line
// editor whose prompt names the current room. Only Run's goroutine calls
// its methods; the key reader and the log switch hand over by channel.
type terminal struct {
	out           io.Writer
	ttyOut        *os.File // for its size; nil in tests
	width, height int
	color         bool
	asciiMarks    bool // marks in ASCII: the locale is not UTF-8
	prompt        string
	status        string // the attention line above the prompt; "" for none
	ed            *editor
	curRow        int       // the cursor's row within the input area, as drawn
	log           screenLog // the lines printed that may be on screen

	keys    chan []byte    // what the terminal sent
	logs    chan string    // diagnostics to show
	resized chan os.Signal // SIGWINCH
	pending []byte         // an unfinished key sequence

	restore  func() // puts the terminal back as it was; idempotent
	stop     context.CancelFunc
	readDone chan struct{}
	readErrV error // set before keys is closed
	logSw    *LogSwitch
}

// Terminal keys: how many reads may wait, and how many log lines.
const (
	keyQueue = 16
	logQueue = 64
)

// openTerminal puts o.TTYIn in raw mode and starts reading it.
func openTerminal(o Options) (*terminal, error) {
	if o.TTYIn == nil || o.TTYOut == nil {
		return nil, errors.New("chatui: Terminal mode needs TTYIn and TTYOut")
	}
	fd := int(o.TTYIn.Fd())
	saved, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	t := newTerminal(o.TTYOut, 80, 24, !o.NoColor)
	t.ttyOut = o.TTYOut
	t.asciiMarks = terminalASCII()
	t.restore = sync.OnceFunc(func() { _ = term.Restore(fd, saved) })
	t.resize()
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	go t.read(&TTYReader{Ctx: ctx, F: o.TTYIn})
	notifyResize(t.resized)
	if o.Logs != nil {
		t.logSw = o.Logs
		o.Logs.show(func(l string) {
			select {
			case t.logs <- l:
			default: // the screen is busy: the line is lost, never the node held up
			}
		})
	}
	return t, nil
}

// newTerminal is a terminal UI writing to out, width×height.
func newTerminal(out io.Writer, width, height int, color bool) *terminal {
	return &terminal{out: out, width: width, height: height, color: color, ed: newEditor(maxLineBytes),
		keys: make(chan []byte, keyQueue), logs: make(chan string, logQueue),
		resized: make(chan os.Signal, 1), readDone: make(chan struct{}), restore: func() {}, stop: func() {}}
}

// read hands what the terminal sends to the main loop until it ends.
func (t *terminal) read(r io.Reader) {
	defer close(t.readDone)
	defer close(t.keys)
	for {
		b := make([]byte, 4096)
		n, err := r.Read(b)
		if n > 0 {
			t.keys <- b[:n]
		}
		if err != nil {
			t.readErrV = err
			return
		}
	}
}

// readErr is why the terminal's input ended: nil for its end or ours.
func (t *terminal) readErr() error {
	if err := t.readErrV; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("reading the terminal: %w", err)
	}
	return nil
}

// close ends reading, clears the prompt and puts the terminal back.
func (t *terminal) close() {
	t.stop()
	go func() { // the reader may wait to hand over a read nobody takes now
		for range t.keys {
		}
	}()
	<-t.readDone
	signal.Stop(t.resized)
	if t.logSw != nil {
		t.logSw.show(nil)
	}
	var b strings.Builder
	t.clearInput(&b) // the prompt goes; the shell's comes
	_, _ = io.WriteString(t.out, b.String())
	t.restore()
}

// restoreOnPanic puts the terminal back before a panic goes on.
func restoreOnPanic(restore func()) {
	if r := recover(); r != nil {
		restore()
		panic(r)
	}
}

func (t *terminal) resize() {
	if t.ttyOut == nil {
		return
	}
	if w, h, err := term.GetSize(int(t.ttyOut.Fd())); err == nil && w > 0 && h > 0 {
		t.setSize(w, h)
	}
	t.redraw()
}

// setSize takes the terminal's size; after a change the lines printed are
// forgotten: the terminal may have rewrapped them, so their rows are not
// known any more, and their marks are left as they are.
func (t *terminal) setSize(w, h int) {
	if w != t.width || h != t.height {
		t.log.forget()
	}
	t.width, t.height = w, h
}

// typed is what the keys of one read did: a line entered, or leave.
type typed struct {
	line string
	quit bool
}

// feed applies what the terminal sent and redraws the line once.
func (t *terminal) feed(b []byte) []typed {
	keys, rest := decodeKeys(append(t.pending, b...))
	t.pending = append([]byte(nil), rest...)
	var out []typed
	for _, k := range keys {
		if k.kind == keyRedraw {
			t.write("\x1b[H\x1b[2J")
			t.curRow = 0
			t.log.forget()
		}
		res := t.ed.key(k)
		if res.quit {
			return append(out, typed{quit: true})
		}
		if res.enter {
			out = append(out, typed{line: res.submit})
		}
	}
	t.redraw()
	if t.ed.tooLong {
		t.ed.tooLong = false
		t.show(noticeLine(lineNotice, "a line holds at most %d bytes: the rest was not taken", maxLineBytes))
	}
	return out
}

func (t *terminal) raw() bool { return false }

func (t *terminal) ascii() bool { return t.asciiMarks }
func (t *terminal) event(any)   {}

// setRoom shows room in the prompt.
func (t *terminal) setRoom(room string) {
	t.prompt = "(no room)> "
	switch {
	case strings.HasPrefix(room, "@"): // a direct conversation
		t.prompt = room + "> "
	case room != "":
		t.prompt = "#" + room + "> "
	}
	t.redraw()
}

// setStatus shows status above the prompt.
func (t *terminal) setStatus(status string) {
	if status == t.status {
		return
	}
	var b strings.Builder
	t.clearInput(&b)
	t.status = status
	t.drawInput(&b)
	t.write(b.String())
}

// show prints l above the line being typed, which stays as it was; a
// mention rings the bell; an own message ends in its mark.
func (t *terminal) show(l line) {
	var b strings.Builder
	t.clearInput(&b)
	t.paintLine(&b, l)
	text := plainText(l)
	var p printed
	if l.own != nil {
		field := t.markField(l.own.key, l.own.state)
		b.WriteString(" ")
		t.paint(&b, dim, field)
		rows, row, col := wrapAt(text+" "+field, t.width, len(text)+1)
		p = printed{rows: rows, mark: &markSpot{key: l.own.key, row: row, col: col, state: l.own.state}}
	} else {
		p.rows, _, _ = wrapAt(text, t.width, -1)
	}
	b.WriteString("\r\n")
	t.log.printedLine(p, t.height)
	if l.mention {
		b.WriteString("\a")
	}
	t.drawInput(&b)
	t.write(b.String())
}

func (t *terminal) redraw() {
	var b strings.Builder
	t.clearInput(&b)
	t.drawInput(&b)
	t.write(b.String())
}

func (t *terminal) write(s string) { _, _ = io.WriteString(t.out, s) }

// paint wraps s in an SGR attribute, unless colours are off.
func (t *terminal) paint(b *strings.Builder, attr, s string) {
	if !t.color || attr == plainAttr {
		b.WriteString(s)
		return
	}
	b.WriteString("\x1b[" + attr + "m" + s + "\x1b[0m")
}

// paintLine writes l: a message as it is, a notice dimmed after "-- ", a
// warning in red.
func (t *terminal) paintLine(b *strings.Builder, l line) {
	base := plainAttr
	switch l.kind {
	case lineNotice:
		base = dim
	case lineWarning:
		base = red
	}
	if l.kind != lineMessage {
		t.paint(b, base, "-- ")
	}
	for _, s := range l.spans {
		attr := s.attr
		if attr == plainAttr {
			attr = base
		}
		t.paint(b, attr, s.text)
	}
}

// clearInput moves to the start of the input area and clears it and
// everything below.
func (t *terminal) clearInput(b *strings.Builder) {
	if t.curRow > 0 {
		fmt.Fprintf(b, "\x1b[%dA", t.curRow)
	}
	b.WriteString("\r\x1b[J")
	t.curRow = 0
}

// drawInput writes the prompt and the line from the start of the input
// area, each row ended by us (never by the terminal's autowrap, which
// differs between terminals at the last column), and puts the cursor in
// place. A line taller than the screen shows the rows around the cursor.
func (t *terminal) drawInput(b *strings.Builder) {
	if t.prompt == "" {
		return // not started
	}
	statusRows := 0
	if t.status != "" && t.height > 2 {
		t.paint(b, dim, fitWidth(t.status, t.width-1))
		b.WriteString("\r\n")
		statusRows = 1
	}
	l := layout(t.prompt, t.ed.buf, t.ed.cur, t.width)
	maxRows := max(t.height-1-statusRows, 1)
	top := 0
	if l.rows > maxRows {
		top = min(max(l.curRow-maxRows+1, 0), l.rows-maxRows)
	}
	row, bolded := top, false
	for _, c := range l.cells {
		if c.row < top || c.row >= top+maxRows {
			continue
		}
		for ; row < c.row; row++ {
			b.WriteString("\r\n")
		}
		if c.prompt && !bolded && t.color {
			b.WriteString("\x1b[" + bold + "m")
			bolded = true
		}
		if !c.prompt && bolded {
			b.WriteString("\x1b[0m")
			bolded = false
		}
		b.WriteString(c.text)
	}
	if bolded {
		b.WriteString("\x1b[0m")
	}
	for ; row < l.curRow; row++ {
		b.WriteString("\r\n")
	}
	t.log.inputDrawn(statusRows+min(l.rows, maxRows), t.height)
	if row > l.curRow {
		fmt.Fprintf(b, "\x1b[%dA", row-l.curRow)
	}
	b.WriteString("\r")
	if l.curCol > 0 {
		fmt.Fprintf(b, "\x1b[%dC", l.curCol)
	}
	t.curRow = l.curRow - top + statusRows
}

// fitWidth cuts s to at most width display columns.
func fitWidth(s string, width int) string {
	if uniseg.StringWidth(s) <= width {
		return s
	}
	out, w, state := "", 0, -1
	for rest := s; rest != ""; {
		var c string
		var cw int
		c, rest, cw, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if w+cw > width-1 {
			break
		}
		out, w = out+c, w+cw
	}
	return out + "…"
}
