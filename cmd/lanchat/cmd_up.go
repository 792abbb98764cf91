package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

var upHelp = help{
	synopsis: "lanchat up [--room ROOM]... [options]",
	text: `Run your node in the foreground, with no chat window: it finds your
trusted peers, keeps your rooms in sync and stores every message, until
Ctrl-C or SIGTERM (then it says bye to its peers and exits 0). Made for
systemd, a terminal multiplexer or a script.

While it runs, everything else goes through it: "lanchat chat" attaches a
chat window to it (as many as you like, each with its own current room;
quitting one leaves the node running), and history, send, trust, untrust,
trusted, peers and id reach it too.

Rooms: --room for this run; without it, the rooms the node was in after
its last /join or /leave, else lobby. It logs to stderr: one line when it
is up, and link and discovery diagnostics with -v. --notify shows a desktop
notification for each message that mentions you (where a D-Bus session bus
runs; without one it says so once and runs on).

It serves the web UI on 127.0.0.1:47180 (--web-addr; off: none):
"lanchat web --open" logs your browser in.`,
	example: `  lanchat up
  lanchat up --web-addr 127.0.0.1:0   # the web UI on any free port (lanchat web prints its link)
  lanchat up --discovery-addr 127.255.255.255 --port 0   # stay on this machine
  lanchat up --room lobby --room ops -v`,
}

func runUp(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	nf := e.addNodeFlags(fs, "room to join (repeatable; default: the rooms it was in last time, else lobby)")
	notifyFlag := fs.Bool("notify", false, notifyHelp)
	wf := addWebFlags(fs, e.getenv)
	nf.auto = addAutoFetchFlags(fs)
	addKeepFlag(fs, nf)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("up", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := wf.check("up"); err != nil {
		return err
	}
	if err := e.refuseSecondNode(ctx, "up"); err != nil {
		return err
	}
	dir, err := e.dir()
	if err != nil {
		return err
	}
	rn, page, stop, err := e.serveNode(ctx, "up", nf, wf, dir, *notifyFlag)
	if err != nil {
		return err
	}
	if id, err := rn.service().Identity(ctx); err == nil && id.Node != nil {
		fmt.Fprintf(e.stderr, "lanchat: up as %s (%s), listening on %s, in %s; Ctrl-C or SIGTERM stops it\n",
			id.Node.Nick, id.Short, id.Node.Addr, strings.Join(id.Node.Rooms, ", "))
	}
	if page != "" {
		fmt.Fprintf(e.stderr, "lanchat: web UI on %s (lanchat web --open logs your browser in)\n", page)
	}
	<-ctx.Done() // a signal
	if err := stop(); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "lanchat: stopped")
	return nil
}
