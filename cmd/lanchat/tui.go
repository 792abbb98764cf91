package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"golang.org/x/term"
)

// tui is lanchat chat on a terminal: messages and notices scroll above a
// line editor whose prompt names the current room.
type tui struct {
	e     *env
	rn    *runningNode
	t     *term.Terminal
	out   *os.File
	nick  string // ours, as peers see it
	color bool
	names nameBook

	room string // where plain lines go; "" when in no room (main loop only)
}

// ttyPair returns stdin and stdout if both are terminals.
func (e *env) ttyPair() (in, out *os.File, ok bool) {
	in, okIn := e.stdin.(*os.File)
	out, okOut := e.stdout.(*os.File)
	if !okIn || !okOut {
		return nil, nil, false
	}
	return in, out, term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

// runTUI runs the terminal chat until /quit, Ctrl-C, Ctrl-D or ctx ends. The
// terminal is put back as it was on every way out, a panic included. logs is
// switched to show the node's diagnostics as notices meanwhile.
func (e *env) runTUI(ctx context.Context, rn *runningNode, nick string, in, out *os.File, logs *logSwitch) error {
	fd := int(in.Fd())
	saved, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	restore := sync.OnceFunc(func() { _ = term.Restore(fd, saved) })
	defer restore()
	defer restoreOnPanic(restore)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	u := &tui{e: e, rn: rn, out: out, nick: nick, color: e.getenv("NO_COLOR") == ""}
	u.t = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{&ttyReader{ctx: ctx, f: in}, out}, "")
	u.t.History = &inputHistory{}
	u.resize()
	u.names.see(nick, rn.node.Identity().Fingerprint().String())
	u.setRoom(firstOr(rn.node.Rooms(), ""))
	logs.show(func(line string) { u.notice("%s", sanitizeLine(line)) })
	defer logs.show(nil)
	u.welcome()

	lines := make(chan string)
	inputEnded := make(chan error, 1)
	inputExited := make(chan struct{})
	u.t.AutoCompleteCallback = u.onKey(ctx, lines)
	go func() {
		defer close(inputExited)
		defer restoreOnPanic(restore)
		inputEnded <- u.readInput()
	}()
	err = u.loop(ctx, lines, inputEnded)
	cancel()
	<-inputExited
	fmt.Fprint(out, "\r\x1b[K") // the prompt goes; the shell's comes
	return err
}

// restoreOnPanic puts the terminal back before a panic goes on.
func restoreOnPanic(restore func()) {
	if r := recover(); r != nil {
		restore()
		panic(r)
	}
}

// onKey is the Terminal's key callback: Enter (submitKey) hands the line to
// the main loop and clears it in place.
func (u *tui) onKey(ctx context.Context, lines chan<- string) func(string, int, rune) (string, int, bool) {
	return func(line string, _ int, key rune) (string, int, bool) {
		if key != submitKey {
			return "", 0, false
		}
		u.t.History.Add(line) // called from ReadLine's goroutine, as History wants
		select {
		case lines <- line:
		case <-ctx.Done():
		}
		return "", 0, true
	}
}

// readInput runs the line editor until Ctrl-C, Ctrl-D or the end of input.
func (u *tui) readInput() error {
	for {
		if _, err := u.t.ReadLine(); err != nil {
			return err
		}
	}
}

// loop handles typed lines, events and resizes until the user leaves.
func (u *tui) loop(ctx context.Context, lines <-chan string, inputEnded <-chan error) error {
	events, unsubscribe := u.rn.node.Subscribe()
	defer unsubscribe()
	resized := make(chan os.Signal, 1)
	notifyResize(resized)
	defer signal.Stop(resized)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-inputEnded:
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("reading the terminal: %w", err)
		case line := <-lines:
			if u.handleLine(ctx, line) {
				return nil
			}
		case ev, ok := <-events:
			if !ok {
				return nil // the node stopped
			}
			u.event(ev)
		case <-resized:
			u.resize()
		}
	}
}

func (u *tui) resize() {
	if w, h, err := term.GetSize(int(u.out.Fd())); err == nil {
		_ = u.t.SetSize(w, h)
	}
}

// print writes one line above the prompt. Text from the network must have
// been sanitized.
func (u *tui) print(line string) {
	_, _ = u.t.Write([]byte(line + "\n"))
}

// notice prints a line from lanchat itself, dimmed.
func (u *tui) notice(format string, args ...any) {
	u.print(u.paint(dim, "-- "+fmt.Sprintf(format, args...)))
}

// setRoom makes room the current one (where plain lines go).
func (u *tui) setRoom(room string) {
	u.room = room
	prompt := "(no room)> "
	if room != "" {
		prompt = "#" + room + "> "
	}
	u.t.SetPrompt(u.paint(bold, prompt))
}

func (u *tui) welcome() {
	addr, _ := u.rn.node.Addr(context.Background()) // listening already
	fp := u.rn.node.Identity().Fingerprint()
	u.notice("you are %s in %s; listening on %s", u.label(u.nick, fp.Short(), fp.String()),
		"#"+strings.Join(u.rn.node.Rooms(), ", #"), addr)
	u.notice("type a line to send it; /help for commands; Ctrl-C or /quit to leave")
	if peers, err := u.rn.db.TrustedPeers(); err == nil && len(peers) == 0 {
		u.notice("nobody is trusted yet: read your fingerprint (%s) to a friend and /trust theirs", fp)
	}
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// logSwitch is where the node's diagnostics go: stderr, until the terminal
// chat shows each line as a notice instead (raw stderr would tear the
// screen).
type logSwitch struct {
	mu      sync.Mutex
	w       io.Writer
	display func(string) // nil: write to w
	partial []byte
}

// maxLogLine bounds a diagnostic line kept while waiting for its end.
const maxLogLine = 4096

func (l *logSwitch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.display == nil {
		return l.w.Write(p)
	}
	l.partial = append(l.partial, p...)
	for {
		line, rest, ok := strings.Cut(string(l.partial), "\n")
		if !ok {
			break
		}
		l.display(line)
		l.partial = []byte(rest)
	}
	if len(l.partial) > maxLogLine {
		l.display(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

// show sends each line to display, or with nil, to stderr again.
func (l *logSwitch) show(display func(string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.display = display
	l.partial = nil
}
