package main

import (
	"context"
	"errors"
	"log"
	"path/filepath"

	"github.com/lanchat/lanchat/control"
)

// serveControl serves the running node's control socket, so the other
// commands reach it; stop ends it (removing the socket) and waits.
func (e *env) serveControl(ctx context.Context, rn *runningNode, verbose bool) (stop func(), err error) {
	path := control.SocketPath(filepath.Dir(rn.db.Path()))
	cfg := control.DefaultServerConfig()
	if verbose {
		cfg.Logf = log.New(e.stderr, "lanchat: ", log.Ltime).Printf
	}
	srv, err := control.Listen(rn.service(), path, cfg)
	switch {
	case errors.Is(err, control.ErrPathTooLong):
		warnf(e.stderr, "%v; other commands cannot reach this chat while it runs", err)
		return func() {}, nil
	case errors.Is(err, control.ErrUnsafe):
		dir := filepath.Dir(path)
		return nil, withHint(err, "only you should be able to write to it: chmod 700 "+dir)
	case errors.Is(err, control.ErrInUse):
		return nil, withHint(err, "use that lanchat, or stop it first")
	case err != nil:
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	return func() {
		cancel()
		if err := <-served; err != nil {
			warnf(e.stderr, "%v", err)
		}
	}, nil
}
