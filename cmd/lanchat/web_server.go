package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/web"
)

// envWebAddr, when set, is the default of --web-addr (a test suite sets
// 127.0.0.1:0 so that parallel nodes never compete for the fixed port).
const envWebAddr = "LANCHAT_WEB_ADDR"

// webOff is the --web-addr that serves no web UI.
const webOff = "off"

// webFlags are the web UI flags of the commands that run a node (up, chat).
type webFlags struct {
	addr        string
	allowRemote bool
	fs          *pflag.FlagSet
}

func addWebFlags(fs *pflag.FlagSet, getenv func(string) string) *webFlags {
	f := &webFlags{fs: fs}
	def := getenv(envWebAddr)
	if def == "" {
		def = web.DefaultAddr
	}
	fs.StringVar(&f.addr, "web-addr", def, "serve the web UI on this address (127.0.0.1:0: any free port; off: no web UI; default $"+envWebAddr+", else "+web.DefaultAddr+")")
	fs.BoolVar(&f.allowRemote, "web-allow-remote", false, "allow a --web-addr that is not loopback: the UI is then reachable from the network (login still needs a link from lanchat web)")
	return f
}

// check validates the flags before the node starts (a usage error names
// the flag).
func (f *webFlags) check(cmd string) error {
	if f.addr == webOff {
		return nil
	}
	_, _, err := web.CheckAddr(f.addr, f.allowRemote)
	if errors.Is(err, web.ErrRemote) {
		return usageErrorf("keep the web UI on this machine (--web-addr 127.0.0.1:47180), or add --web-allow-remote if the network may reach it",
			"%s: --web-addr: %v", cmd, err)
	}
	if err != nil {
		return usageErrorf("use an address like 127.0.0.1:47180, 127.0.0.1:0 (any free port) or off", "%s: --web-addr: %v", cmd, err)
	}
	return nil
}

// listenWeb binds the web UI's address and loads its key in dir, before
// the node starts, unless --web-addr is off (nil: no web UI). The default
// address being taken (another user's node, say) is a warning, a chosen
// one an error. A data dir that does not exist yet is left to the node's
// start to report.
func (e *env) listenWeb(cmd string, f *webFlags, dir string, verbose bool) (*web.Server, error) {
	if f.addr == webOff {
		return nil, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, nil
	}
	cfg := web.DefaultConfig()
	cfg.Addr, cfg.AllowRemote = f.addr, f.allowRemote
	cfg.KeyFile = filepath.Join(dir, web.KeyFileName)
	if verbose {
		cfg.Logf = log.New(e.stderr, "lanchat: ", log.Ltime).Printf
	}
	srv, err := web.Listen(cfg)
	chosen := f.fs.Changed("web-addr") || e.getenv(envWebAddr) != ""
	switch {
	case errors.Is(err, web.ErrRemote):
		return nil, usageErrorf("keep the web UI on this machine (--web-addr 127.0.0.1:47180), or add --web-allow-remote if the network may reach it",
			"%s: --web-addr: %v", cmd, err)
	case errors.Is(err, syscall.EADDRINUSE) && !chosen:
		warnf(e.stderr, "no web UI: %v", err)
		fmt.Fprintf(e.stderr, "lanchat: hint: --web-addr 127.0.0.1:0 picks a free port, --web-addr off serves none\n")
		return nil, nil
	case errors.Is(err, web.ErrKeyExposed):
		return nil, withHint(err, "only you should read it: chmod 600 "+cfg.KeyFile)
	case errors.Is(err, web.ErrKeyDamaged):
		return nil, withHint(err, "remove "+cfg.KeyFile+" (a new one is made; browsers log in again)")
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, withHint(fmt.Errorf("%s: %w", cmd, err), "pick another --web-addr (127.0.0.1:0: any free port), or off")
	case err != nil:
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if f.allowRemote {
		warnf(e.stderr, "the web UI listens on %s and may be reachable from the network: anyone who gets a login link can use your chat", srv.Addr())
	}
	return srv, nil
}

// serveWeb serves srv (from listenWeb; nil: none) for the running node;
// stop ends it and waits for its handlers; page is its address ("": none).
// It only starts a goroutine: nothing slow stands between the node's start
// and the front end's subscription.
func (e *env) serveWeb(ctx context.Context, rn *runningNode, srv *web.Server) (stop func(), page string) {
	if srv == nil {
		return func() {}, ""
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, rn.service()) }()
	rn.service().SetWebLogin(func(ctx context.Context) (string, string, error) {
		u, err := srv.LoginURL(ctx)
		return u, srv.URL(), err
	})
	return func() {
		rn.service().SetWebLogin(nil)
		cancel()
		if err := <-served; err != nil {
			warnf(e.stderr, "%v", err)
		}
	}, srv.URL()
}

// closeWeb releases srv if the node did not start.
func closeWeb(srv *web.Server) {
	if srv != nil {
		srv.Close()
	}
}

// serveNode runs the node of cmd ("up", or "chat" with no node running)
// with what it serves beside itself: the web UI's listener (bound first, so
// its errors come before the node runs), the control socket, desktop
// notifications with notify, then the web UI. page is the UI's address
// ("" for none); stop ends them in the reverse order, then the node.
func (e *env) serveNode(ctx context.Context, cmd string, nf *nodeFlags, wf *webFlags, dir string, notify bool) (rn *runningNode, page string, stop func() error, err error) {
	ws, err := e.listenWeb(cmd, wf, dir, nf.verbose)
	if err != nil {
		return nil, "", nil, err
	}
	if rn, err = e.startNode(ctx, cmd, nf); err != nil {
		closeWeb(ws)
		return nil, "", nil, err
	}
	stopControl, err := e.serveControl(ctx, rn, nf.verbose)
	if err != nil {
		closeWeb(ws)
		return nil, "", nil, errors.Join(err, rn.shutdown())
	}
	stopNotify := func() {}
	if notify {
		stopNotify = e.startNotifier(ctx, rn.service())
	}
	stopWeb, page := e.serveWeb(ctx, rn, ws)
	return rn, page, func() error {
		stopWeb()
		stopNotify()
		stopControl()
		return rn.shutdown()
	}, nil
}
