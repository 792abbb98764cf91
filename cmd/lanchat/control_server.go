package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/lanchat/lanchat/chat"
)

// serveControl serves the running node's control socket, so the other
// commands reach it; stop ends it (removing the socket) and waits.
func (e *env) serveControl(ctx context.Context, rn *runningNode) (stop func(), err error) {
	path, err := e.socketPath()
	if err != nil {
		return nil, err
	}
	srv, err := chat.ListenControl(rn.node, path, chat.DefaultControlConfig())
	switch {
	case errors.Is(err, chat.ErrControlPathTooLong):
		warnf(e.stderr, "%v; other commands cannot reach this chat while it runs", err)
		return func() {}, nil
	case errors.Is(err, chat.ErrControlUnsafe):
		dir := filepath.Dir(path)
		return nil, withHint(err, "only you should be able to write to it: chmod 700 "+dir)
	case errors.Is(err, chat.ErrControlInUse):
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

// nodeNick is the nickname the running node shows its peers.
func nodeNick(rn *runningNode, nf *nodeFlags) string {
	if nf.nick != "" {
		return nf.nick
	}
	rec, err := rn.db.Identity()
	if err != nil {
		return ""
	}
	return rec.Nickname
}
