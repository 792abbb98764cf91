package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/storage"
)

// Every command is a client of one API (package control): the node running
// on the data dir, through its control socket, or else the database itself.

// callTimeout bounds one request to a running node (a send waits for its
// commit).
const callTimeout = 30 * time.Second

// api returns the data dir's API: the running node's, or the database's
// opened in mode. Close it when done.
func (e *env) api(ctx context.Context, mode storeMode) (control.API, error) {
	dir, err := e.dir()
	if err != nil {
		return nil, err
	}
	return control.Open(ctx, dir, func() (*storage.DB, error) { return e.openStore(mode) })
}

// withAPI runs fn against the data dir's API and explains a running node's
// errors.
func (e *env) withAPI(ctx context.Context, mode storeMode, fn func(context.Context, control.API) error) error {
	api, err := e.api(ctx, mode)
	if err != nil {
		return err
	}
	defer api.Close()
	if control.Running(api) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return nodeError(fn(ctx, api))
	}
	return fn(ctx, api)
}

// nodeError explains an error from the running node.
func nodeError(err error) error {
	var ce *control.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.Code == control.CodeBusy:
		return withHint(fmt.Errorf("the running lanchat is busy: %w", err), "try again in a moment")
	case errors.As(err, &ce) && ce.Hint != "":
		return withHint(err, ce.Hint)
	case errors.As(err, &ce), errors.Is(err, context.Canceled):
		return err // its message and hint are those of the direct path
	}
	return withHint(fmt.Errorf("talking to the running lanchat: %w", err),
		"it may have stopped; run the command again")
}

// refuseSecondNode fails when a node already runs on the data dir: a
// clearer message than the database lock's, and no passphrase asked first.
func (e *env) refuseSecondNode(ctx context.Context, cmd string) error {
	dir, err := e.dir()
	if err != nil {
		return nil // the database open reports it
	}
	cl := control.Connect(ctx, dir)
	if cl == nil {
		return nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	id, err := cl.Identity(ctx)
	if err != nil || id.Node == nil {
		return nil // let the database lock decide
	}
	return withHint(fmt.Errorf("%s: lanchat is already running on %s (pid %d)", cmd, id.DataDir, id.Node.PID),
		"use that one (chat attaches to it; history, send, trust and the others reach it), or stop it first; another --data-dir runs a second identity")
}
