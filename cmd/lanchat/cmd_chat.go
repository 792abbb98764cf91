package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/chat"
)

var chatHelp = help{
	synopsis: "lanchat chat [--room ROOM]... [--json] [options]",
	text: `Join rooms and chat with the trusted peers on your network. Each line you
type is sent to the room; messages arrive as they are written. Peers are
found by broadcast beacons; only people on your trust list get a link.

Lines starting with "/" are commands: /join ROOM, /leave ROOM, /rooms,
/peers, /quit. With several rooms, "#room text" sends to that room; plain
lines go to the first room. On a pipe: one line per message on stdout,
notices on stderr; --json prints one JSON event per line instead.
End of input, Ctrl-C or SIGTERM says bye to the peers and exits.

On a terminal (unless --plain or --json) the chat has a line editor with
input history on the arrow keys, one colour per author, notices when peers
come and go, and more commands: /help lists them.

While it runs, the other commands (history, send, trust, untrust, trusted,
peers, id) go through it, by a socket in the data dir that only you can use.
With no identity yet, it offers to create one (--no-passphrase: asking
nothing).`,
	example: `  lanchat chat --room lobby
  lanchat chat --discovery-addr 127.255.255.255 --port 0   # stay on this machine
  lanchat chat --json | jq -c 'select(.type=="message") | .message.body'`,
}

func runChat(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	nf := e.addNodeFlags(fs, "room to join (repeatable; default lobby)")
	asJSON := fs.Bool("json", false, "print one JSON event per line (message, peer_up, peer_down, join, leave, untrusted_peer, untrusted_peers, peer_refused, relink_backoff, equivocation, events_dropped)")
	plain := fs.Bool("plain", false, "line mode even on a terminal: no line editor, no colours")
	noPass := fs.Bool("no-passphrase", false, "first run only: create the identity unsealed, asking nothing")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("chat", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := e.refuseSecondNode(ctx, "chat"); err != nil {
		return err
	}
	if err := e.firstRun(ctx, nf, *noPass); err != nil {
		return err
	}
	in, tty, useTUI := e.ttyPair()
	useTUI = useTUI && !*asJSON && !*plain
	logs := &logSwitch{w: e.stderr}
	if useTUI {
		e.stderr = logs // the node's diagnostics become notices on screen
	}
	rn, err := e.startNode(ctx, "chat", nf)
	if err != nil {
		return err
	}
	stopControl, err := e.serveControl(ctx, rn, nf.verbose)
	if err != nil {
		return errors.Join(err, rn.shutdown())
	}
	if useTUI {
		err = e.runTUI(ctx, rn, nodeNick(rn, nf), in, tty, logs)
	} else {
		printed := e.printEvents(rn, *asJSON)
		defer func() { <-printed }() // after shutdown, which ends the events
		out := &chatOutput{e: e, json: *asJSON, node: rn.node}
		err = chatInput(ctx, e, newLineChat(rn.node, out, nf.rooms))
	}
	stopControl()
	if serr := rn.shutdown(); err == nil {
		err = serr
	}
	return err
}

// printEvents prints the node's events in line mode until it stops; the
// returned channel closes when all are printed.
func (e *env) printEvents(rn *runningNode, asJSON bool) <-chan struct{} {
	events, _ := rn.node.Subscribe() // ends when the node stops
	out := &chatOutput{e: e, json: asJSON, node: rn.node}
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for ev := range events {
			out.event(ev)
		}
	}()
	if !asJSON {
		addr, _ := rn.node.Addr(context.Background()) // listening already
		fmt.Fprintf(e.stderr, "lanchat: you are %s in %s; listening on %s. Type a line to send it, /help for commands.\n",
			rn.node.Identity().Fingerprint().Short(), strings.Join(rn.node.Rooms(), ", "), addr)
	}
	return printed
}

// chatInput reads lines until end of input, /quit or ctx ends.
func chatInput(ctx context.Context, e *env, lc *lineChat) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() { // ends at end of input; the process exits after chat returns
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 64<<10), chat.MaxBodyBytes*4)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if err != nil && err != io.EOF {
				return fmt.Errorf("reading input: %w", err)
			}
			return nil
		case line := <-lines:
			if quit := lc.handleLine(ctx, line); quit {
				return nil
			}
		}
	}
}

// lineChat is line mode's state: the room plain lines go to.
type lineChat struct {
	node    *chat.Node
	out     *chatOutput
	current string // "" when in no room
}

func newLineChat(node *chat.Node, out *chatOutput, rooms []string) *lineChat {
	lc := &lineChat{node: node, out: out}
	if len(rooms) > 0 {
		lc.current, _ = chat.NormalizeRoom(rooms[0]) // checked at start
	} else if r := node.Rooms(); len(r) > 0 {
		lc.current = r[0]
	}
	return lc
}

// handleLine sends a line or runs a slash command; it reports /quit.
func (lc *lineChat) handleLine(ctx context.Context, line string) bool {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return false
	}
	if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
		return lc.slashCommand(line)
	}
	line = strings.TrimPrefix(line, "/")
	room := lc.current
	if strings.HasPrefix(line, "#") {
		if r, text, ok := strings.Cut(line[1:], " "); ok {
			room, line = r, text
		}
	}
	if room == "" {
		lc.out.notice("not sent: you are in no room; /join ROOM first")
		return false
	}
	if _, _, err := lc.node.Send(ctx, room, line); err != nil {
		lc.out.notice("not sent: %v", err)
	}
	return false
}

func (lc *lineChat) slashCommand(line string) bool {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/join":
		if arg == "" {
			lc.out.notice("usage: /join ROOM")
		} else if r, err := lc.node.Join(arg); err != nil {
			lc.out.notice("cannot join: %v", err)
		} else {
			lc.current = r
			lc.out.notice("joined #%s; lines now go there", r)
		}
	case "/leave":
		if arg == "" {
			arg = lc.current
		}
		if r, err := lc.node.Leave(arg); err != nil {
			lc.out.notice("cannot leave: %v", err)
		} else {
			lc.out.notice("left #%s", r)
			if r == lc.current {
				lc.current = ""
				if rooms := lc.node.Rooms(); len(rooms) > 0 {
					lc.current = rooms[0]
				}
			}
		}
	case "/rooms":
		lc.out.notice("rooms: %s (lines go to #%s)", strings.Join(lc.node.Rooms(), ", "), lc.current)
	case "/peers":
		peers := lc.node.Peers()
		if len(peers) == 0 {
			lc.out.notice("nobody found yet")
		}
		for _, p := range peers {
			lc.out.notice("%s", peerLine(p))
		}
	case "/help":
		lc.out.notice("commands: /join ROOM, /leave [ROOM], /rooms, /peers, /quit; \"#room text\" sends to a room; \"//text\" sends a line starting with /")
	default:
		lc.out.notice("unknown command %s (try /help)", cmd)
	}
	return false
}

func peerLine(p *chat.PeerView) string {
	state := "not trusted"
	switch {
	case p.Linked:
		state = "linked"
	case p.Trusted:
		state = "trusted, not linked"
	}
	name := p.Nick
	if name == "" {
		name = "?"
	}
	return fmt.Sprintf("%s %s %s (%s) %s", name, p.Fingerprint, p.Addr, state, strings.Join(p.Rooms, ","))
}

// chatOutput prints events: messages on stdout, notices on stderr, or every
// event as one JSON line on stdout (notices still go to stderr).
type chatOutput struct {
	e    *env
	json bool
	node *chat.Node // messages carry their room while it is in several
}

func (o *chatOutput) event(ev chat.Event) {
	if o.json {
		b, err := json.Marshal(ev)
		if err == nil {
			fmt.Fprintf(o.e.stdout, "%s\n", b)
		}
		return
	}
	switch ev.Kind {
	case chat.EventMessage:
		fmt.Fprintln(o.e.stdout, formatLive(ev.Message, len(o.node.Rooms()) > 1))
	case chat.EventPeerUp:
		o.notice("%s linked", peerLabel(ev.Peer))
	case chat.EventPeerDown:
		o.notice("%s gone (%s)", peerLabel(ev.Peer), ev.Reason)
	case chat.EventJoin:
		o.notice("%s joined #%s", peerLabel(ev.Peer), ev.Room)
	case chat.EventLeave:
		o.notice("%s left #%s", peerLabel(ev.Peer), ev.Room)
	case chat.EventUntrusted:
		o.notice("untrusted peer %s at %s wants to link: %s", ev.Peer.Fingerprint, ev.Peer.Addr, ev.Reason)
	case chat.EventRefused:
		o.notice("%s refuses the link: %s", peerLabel(ev.Peer), ev.Reason)
	case chat.EventEquivocation:
		o.notice("%s %s in #%s; every member keeps the same one, and their messages there are marked", peerLabel(ev.Peer), ev.Reason, ev.Room)
	case chat.EventUntrustedMany:
		o.notice("%s", sanitizeLine(ev.Reason))
	case chat.EventRelinkBackoff:
		o.notice("%s: %s", peerLabel(ev.Peer), sanitizeLine(ev.Reason))
	case chat.EventDropped:
		o.notice("%d events were not shown (output too slow); lanchat history shows every message", ev.Count)
	}
}

func (o *chatOutput) notice(format string, args ...any) {
	fmt.Fprintf(o.e.stderr, "lanchat: "+format+"\n", args...)
}

func peerLabel(p *chat.PeerView) string {
	if p == nil {
		return "?"
	}
	if p.Nick == "" {
		return p.Short
	}
	return sanitizeLine(p.Nick) + "(" + p.Short + ")"
}

// formatLive is a message line in a running chat: "14:03:07 alice(K7QF3MX): hi".
func formatLive(v *chat.MessageView, withRoom bool) string {
	s := formatMessage(v, withRoom)
	return s[len("2006-01-02 "):]
}
