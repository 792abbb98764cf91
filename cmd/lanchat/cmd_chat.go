package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
)

var chatHelp = help{
	synopsis: "lanchat chat [--room ROOM]... [--json | --plain] [options]",
	text: `Chat in rooms with the trusted peers on your network. Each line you type
goes to the current room (the first --room); messages arrive as they are
written. Peers are found by broadcast beacons; only people on your trust
list get a link.

When a node already runs on the data dir (lanchat up, or another chat), this
window attaches to it: open as many as you like, each with its own current
room; quitting one leaves the node running. Otherwise chat starts a node in
its own process, and other windows can attach to it.

Lines starting with "/" are commands (/help lists them): /join ROOM,
/leave [ROOM], /rooms, /peers, /trust FP [NAME], /untrust FP, /history [N],
/nick [NAME], /quit. "#room text" sends to another room you are in; "//"
starts a line with "/", "##" with "#". A line longer than a message may
be is sent as several, with a notice.

On a pipe: messages on stdout, notices on stderr, until end of input. --json
prints one JSON event per line (the first, "ready", says who and where the
node is) and keeps running after end of input, until Ctrl-C or SIGTERM. On a
terminal (unless --plain or --json): a line editor with input history, one
colour per author, and notices when peers come and go.

With no identity yet, it offers to create one (--no-passphrase: asking
nothing).`,
	example: `  lanchat chat --room lobby
  lanchat chat --discovery-addr 127.255.255.255 --port 0   # stay on this machine
  lanchat chat --json </dev/null | jq -c 'select(.type=="message") | .message.body'`,
}

func runChat(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	nf := e.addNodeFlags(fs, "room to join (repeatable; the first is the current room; default: the node's rooms, else lobby)")
	nf.auto = addAutoFetchFlags(fs)
	addKeepFlag(fs, nf)
	asJSON := fs.Bool("json", false, "print one JSON event per line (ready, message, peer_up, peer_down, join, leave, nick, untrusted_peer, untrusted_peers, peer_refused, relink_backoff, equivocation, events_dropped, receipt, presence, typing, file, deleted)")
	typing := fs.Bool("typing", false, "on a terminal: tell the peers in the room when you are typing (at most every 3 s)")
	plain := fs.Bool("plain", false, "line mode even on a terminal: no line editor, no colours")
	notifyFlag := fs.Bool("notify", false, notifyHelp)
	awayAfter := fs.Duration("away-after", 10*time.Minute, "on a terminal: after this long without a key your peers see you away (idle); 0: never")
	noPass := fs.Bool("no-passphrase", false, "first run only: create the identity unsealed, asking nothing")
	wf := addWebFlags(fs, e.getenv)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("chat", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	for _, r := range nf.rooms {
		if _, err := control.NormalizeRoom(r); err != nil {
			return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "chat: %v", err)
		}
	}
	if err := wf.check("chat"); err != nil {
		return err
	}
	keep, err := nf.keepParams()
	if err != nil {
		return err
	}
	in, tty, isTTY := e.ttyPair()
	opts := chatui.Options{Mode: chatui.Plain, Rooms: nf.rooms, In: e.stdin, Out: e.stdout, Err: e.stderr,
		TTYIn: in, TTYOut: tty, NoColor: e.getenv("NO_COLOR") != "", Typing: *typing, AwayAfter: *awayAfter}
	switch {
	case *asJSON:
		opts.Mode = chatui.JSON
	case isTTY && !*plain:
		opts.Mode = chatui.Terminal
	}
	dir, err := e.dir()
	if err != nil {
		return err
	}
	// A node runs on the data dir: this window attaches to it, and leaves
	// it running when it quits.
	if cl := control.Connect(ctx, dir); cl != nil {
		defer cl.Close()
		if err := e.applyKeep(ctx, cl, keep, nf.verbose); err != nil {
			return err
		}
		if *notifyFlag {
			defer e.startNotifier(ctx, cl)()
		}
		return chatui.Run(ctx, cl, opts)
	}
	if err := e.firstRun(ctx, nf, *noPass); err != nil {
		return err
	}
	opts.Logs = chatui.NewLogSwitch(e.stderr)
	if opts.Mode == chatui.Terminal {
		e.stderr = opts.Logs // the node's diagnostics become notices on screen
	}
	rn, page, stop, err := e.serveNode(ctx, "chat", nf, wf, dir, *notifyFlag)
	if err != nil {
		return err
	}
	if page != "" && nf.verbose {
		fmt.Fprintf(e.stderr, "lanchat: web UI on %s (lanchat web --open logs your browser in)\n", page)
	}
	err = chatui.Run(ctx, rn.service(), opts)
	if serr := stop(); err == nil {
		err = serr
	}
	return err
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
