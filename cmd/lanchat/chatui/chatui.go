// Package chatui is lanchat chat's front end: one interpreter of the chat
// line (commands, rooms, escapes) and of the node's events, over
// control.API only, with three renderers: plain line mode, --json and the
// terminal UI.
package chatui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lanchat/lanchat/control"
)

// Mode is how the chat is shown.
type Mode int

const (
	// Plain is line mode: one line per message on Out, notices on Err.
	Plain Mode = iota
	// JSON prints every event as one JSON line on Out, after a "ready"
	// event; end of input does not end it (only /quit or ctx does).
	JSON
	// Terminal is the terminal UI on TTYIn/TTYOut: a line editor under
	// the messages, colours, input history.
	Terminal
)

// Options say what Run shows and where.
type Options struct {
	Mode Mode
	// Rooms are the rooms named on the command line: each is joined, and
	// the first is the current room (where plain lines go). Nil: the
	// node's rooms, the first of them current.
	Rooms []string
	// In is read line by line in Plain and JSON mode.
	In io.Reader
	// Out gets messages (Plain) or events (JSON); Err notices.
	Out, Err io.Writer
	// TTYIn and TTYOut are the terminal (Terminal mode).
	TTYIn, TTYOut *os.File
	// NoColor turns colours off (NO_COLOR).
	NoColor bool
	// Logs, if set, is where the node's diagnostics are written: in
	// Terminal mode its lines are shown as notices while Run runs.
	Logs *LogSwitch
	// Typing tells the room's peers when the user types a line (Terminal
	// mode; opt-in, rate-limited).
	Typing bool
	// AwayAfter: in Terminal mode, after this long without a key the
	// peers are told "away (idle)", and the next key makes it online
	// again; 0: never.
	AwayAfter time.Duration
}

// apiTimeout bounds one API call made for a typed line.
const apiTimeout = 10 * time.Second

// EventReady is the type of the first --json event.
const EventReady = "ready"

// Ready is the first --json event: who and where the node is.
type Ready struct {
	Kind        string    `json:"type"` // EventReady
	Time        time.Time `json:"time"`
	Schema      int       `json:"schema"`
	Fingerprint string    `json:"fingerprint"`
	Short       string    `json:"short"`
	Nick        string    `json:"nick"`
	Addr        string    `json:"addr"` // link listener
	Rooms       []string  `json:"rooms"`
	Room        string    `json:"room"` // the current room; "" for none
	DataDir     string    `json:"data_dir"`
}

// Run runs the chat over api until /quit, end of input (in Plain and
// Terminal mode), Ctrl-C or Ctrl-D on a terminal, the end of the node's
// events, or ctx's end. It never stops the node: the caller decides.
func Run(ctx context.Context, api control.API, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &interp{api: api, mode: o.Mode, now: time.Now, typingOn: o.Typing}
	if o.Mode == Terminal {
		s.idle.after = o.AwayAfter
	}
	var term *terminal
	switch o.Mode {
	case Plain:
		s.r = &plainRenderer{out: o.Out, err: o.Err}
	case JSON:
		s.r = &jsonRenderer{plainRenderer{out: o.Out, err: o.Err}}
	case Terminal:
		var err error
		if term, err = openTerminal(o); err != nil {
			return err
		}
		defer term.close()
		defer restoreOnPanic(term.restore)
		s.r = term
		term.ed.complete = s.names.complete
	default:
		return fmt.Errorf("chatui: unknown mode %d", o.Mode)
	}
	events, err := api.Subscribe(ctx)
	if err != nil {
		return err
	}
	if err := s.start(ctx, o.Rooms); err != nil {
		return err
	}
	s.announceLinked(ctx)
	if term != nil {
		return s.loop(ctx, events, nil, term)
	}
	return s.loop(ctx, events, readLines(ctx, o.In), nil)
}

// interp is the chat's state, owned by Run's goroutine.
type interp struct {
	api   control.API
	mode  Mode
	r     renderer
	now   func() time.Time
	self  *control.Identity
	rooms []string // the node's rooms, as last told
	room  string   // the current room; "" for none
	names nameBook
	away  away
	att   attention
	marks ownMarks
	// typingOn: say when the user types (Options.Typing); typedAt: when
	// it was last said.
	typingOn bool
	typedAt  time.Time
	idle     idleAway

	// privateNames are the names of the private rooms made current, by id
	// (the prompt shows the name).
	privateNames map[string]string
	// fileStates is each fetch's last shown state, so a notice says only
	// what changed.
	fileStates map[string]string
	// linked are the peers shown as linked (by fingerprint): the links
	// the node had before this window subscribed, then peer_up/peer_down.
	linked map[string]bool

	// directIDs maps a /query PEER conversation ("@peer") to the
	// conversation's identifier, which messages, receipts and unread
	// counts name.
	directIDs map[string]string
}

// announceLinked shows a peer_up for each peer the node was already linked
// with when this window subscribed: a link that came up between the node's
// start and the subscription has no event of its own. Subscribing first and
// then asking means no link is missed; one announced both ways is shown once.
func (s *interp) announceLinked(ctx context.Context) {
	peers, err := s.api.Peers(ctx)
	if err != nil {
		return
	}
	for _, p := range peers {
		if p.Linked {
			s.event(ctx, control.Event{Kind: control.EventPeerUp, Time: s.now().UTC().Truncate(time.Millisecond),
				Peer: &control.PeerView{Fingerprint: p.Fingerprint, Short: p.Short, Nick: p.Nick, Addr: p.Addr,
					Trusted: p.Trusted, Linked: true, Presence: p.Presence, Status: p.Status}})
		}
	}
}

// seeLink keeps linked up to date with ev and reports whether ev is news:
// false for a peer_up of a peer already shown as linked.
func (s *interp) seeLink(ev control.Event) bool {
	if ev.Peer == nil {
		return true
	}
	switch ev.Kind {
	case control.EventPeerUp:
		if s.linked[ev.Peer.Fingerprint] {
			return false
		}
		if s.linked == nil {
			s.linked = map[string]bool{}
		}
		s.linked[ev.Peer.Fingerprint] = true
	case control.EventPeerDown:
		delete(s.linked, ev.Peer.Fingerprint)
	}
	return true
}

// start learns who we are, joins the rooms asked for and says hello.
func (s *interp) start(ctx context.Context, rooms []string) error {
	var err error
	if s.self, err = s.api.Identity(ctx); err != nil {
		return err
	}
	for _, r := range rooms {
		res, err := s.api.Join(ctx, r)
		if err != nil {
			return fmt.Errorf("joining #%s: %w", r, err)
		}
		if s.room == "" {
			s.room = res.Room
		}
	}
	s.refreshRooms(ctx)
	if s.room == "" && len(s.rooms) > 0 {
		s.room = s.rooms[0]
	}
	s.r.setRoom(s.room)
	s.names.see(s.nick(), s.self.Fingerprint)
	s.welcome(ctx)
	s.startAttention(ctx)
	return nil
}

// nick is ours, as peers see it.
func (s *interp) nick() string {
	if s.self.Node != nil {
		return s.self.Node.Nick
	}
	return s.self.Nick
}

func (s *interp) refreshRooms(ctx context.Context) {
	if rooms, err := s.api.Rooms(ctx); err == nil {
		s.rooms = rooms
	}
}

func (s *interp) welcome(ctx context.Context) {
	addr := ""
	if s.self.Node != nil {
		addr = s.self.Node.Addr
	}
	if s.r.raw() {
		s.r.event(Ready{Kind: EventReady, Time: s.now().UTC().Truncate(time.Millisecond), Schema: s.self.Schema,
			Fingerprint: s.self.Fingerprint, Short: s.self.Short, Nick: s.nick(), Addr: addr,
			Rooms: append([]string{}, s.rooms...), Room: s.room, DataDir: s.self.DataDir})
		return
	}
	l := line{kind: lineNotice}.add(plainAttr, "you are ").add(colorOf(s.self.Fingerprint), nameLabel(s.nick(), s.self.Short))
	s.show(l.addf(" in %s; plain lines go to %s; listening on %s", roomList(s.rooms), roomName(s.room), addr))
	s.notice("type a line to send it; /help for commands; /quit to leave")
	if peers, err := s.api.Trusted(ctx); err == nil && len(peers) == 0 {
		s.notice("nobody is trusted yet: read your fingerprint (%s) to a friend and /trust theirs", s.self.Fingerprint)
	}
}

func (s *interp) show(l line) { s.r.show(l) }

func (s *interp) notice(format string, args ...any) { s.show(noticeLine(lineNotice, format, args...)) }

// loop handles typed lines (lines, or term's keys) and events until the
// user leaves.
func (s *interp) loop(ctx context.Context, events <-chan control.Event, lines <-chan lineIn, term *terminal) error {
	var keys <-chan []byte
	var logs <-chan string
	var resized <-chan os.Signal
	if term != nil {
		keys, logs, resized = term.keys, term.logs, term.resized
	}
	defer s.flushRead(context.WithoutCancel(ctx))
	defer s.flushAway(context.WithoutCancel(ctx))
	for {
		select {
		case <-ctx.Done():
			return nil
		case in, ok := <-lines:
			if !ok {
				lines = nil
				if s.mode == JSON { // stdin closed (</dev/null, systemd): run until ctx ends
					s.notice("input ended; events go on until lanchat is stopped (SIGTERM, Ctrl-C)")
					continue
				}
				return nil
			}
			if in.err != nil {
				return fmt.Errorf("reading input: %w", in.err)
			}
			if s.handleInput(ctx, in) {
				return nil
			}
		case b, ok := <-keys:
			if !ok {
				return term.readErr()
			}
			for _, typed := range term.feed(b) {
				if typed.quit || s.handleLine(ctx, typed.line) {
					return nil
				}
			}
			s.typed(ctx, term.ed.buf)
			s.keyPressed(ctx)
		case l := <-logs:
			s.notice("%s", SanitizeLine(l))
		case <-resized:
			term.resize()
		case ev, ok := <-events:
			if !ok {
				return nil // the node stopped
			}
			s.event(ctx, ev)
		case <-s.awayTimer():
			s.flushAway(ctx)
		case <-s.readTimer():
			s.flushRead(ctx)
		case <-s.markTimer():
			s.refreshMarks(ctx)
		case <-s.typingTimer():
			s.updateStatus()
		case <-s.idleTimer():
			s.wentIdle(ctx)
		}
	}
}

// lineIn is one line read in Plain or JSON mode.
type lineIn struct {
	text    string
	tooLong int   // > 0: the line had this many bytes, over maxLineBytes, and was dropped
	err     error // reading failed; nothing else is set
}

// maxLineBytes bounds a line read or typed: longer ones are refused, with
// their size. Lines up to it are sent, split into messages of at most
// control.MaxBodyBytes.
const maxLineBytes = 16 * control.MaxBodyBytes

// handleInput handles one line read from In.
func (s *interp) handleInput(ctx context.Context, in lineIn) (quit bool) {
	if in.tooLong > 0 {
		s.notice("not sent: a line of %d bytes is over the %d-byte limit of one line", in.tooLong, maxLineBytes)
		return false
	}
	return s.handleLine(ctx, in.text)
}

// readLines reads r line by line until its end (then the channel closes)
// or ctx ends.
func readLines(ctx context.Context, r io.Reader) <-chan lineIn {
	out := make(chan lineIn)
	if r == nil {
		close(out)
		return out
	}
	go func() { // a blocked Read ends with the input; the process may exit first
		defer close(out)
		lr := &lineReader{r: r, max: maxLineBytes}
		for {
			in, err := lr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				in = lineIn{err: err}
			}
			select {
			case out <- in:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}
