package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/storage"
)

// While a node runs (lanchat chat), it holds the database; the other
// commands then go through its control socket (lanchat.sock in the data
// dir) and get the same answers they would from the file.

const (
	// nodeDialTimeout bounds connecting to the control socket: a live node
	// answers in microseconds, a stale socket is refused at once.
	nodeDialTimeout = 2 * time.Second
	// nodeCallTimeout bounds one request (a send waits for its commit).
	nodeCallTimeout = 30 * time.Second
)

// socketPath is the control socket of the data dir.
func (e *env) socketPath() (string, error) {
	dir, err := e.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, chat.ControlSocketName), nil
}

// dialNode connects to the node running on the data dir, or returns nil if
// none answers.
func (e *env) dialNode(ctx context.Context) *chat.ControlClient {
	path, err := e.socketPath()
	if err != nil {
		return nil // the direct path reports it
	}
	ctx, cancel := context.WithTimeout(ctx, nodeDialTimeout)
	defer cancel()
	cl, err := chat.DialControl(ctx, path)
	if err != nil {
		return nil
	}
	return cl
}

// callNode sends one request to the node running on the data dir. running
// is false when no node answers: the caller then opens the database itself.
func (e *env) callNode(ctx context.Context, method string, params, result any) (running bool, err error) {
	cl := e.dialNode(ctx)
	if cl == nil {
		cl = e.waitForStartingNode(ctx)
	}
	if cl == nil {
		return false, nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, nodeCallTimeout)
	defer cancel()
	return true, nodeError(cl.Call(ctx, method, params, result))
}

// nodeStartWait bounds the wait for a node that holds the database but has
// no control socket yet (it is starting, or asking for its passphrase).
const nodeStartWait = 5 * time.Second

// waitForStartingNode waits while another live process holds the database
// and no control socket answers: a node that is starting gets its socket
// up within moments, a short command releases the file. It returns the
// node's client, or nil once the file is free (or the wait is over).
func (e *env) waitForStartingNode(ctx context.Context) *chat.ControlClient {
	dir, err := e.dir()
	if err != nil {
		return nil
	}
	dbPath := filepath.Join(dir, dbFile)
	deadline := time.Now().Add(nodeStartWait)
	for time.Now().Before(deadline) {
		if pid := storage.Holder(dbPath); pid == 0 || pid == os.Getpid() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		if cl := e.dialNode(ctx); cl != nil {
			return cl
		}
	}
	return nil
}

// nodeError explains an error from the running node.
func nodeError(err error) error {
	var ce *chat.ControlError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.Code == chat.CodeBusy:
		return withHint(fmt.Errorf("the running lanchat is busy: %w", err), "try again in a moment")
	case errors.As(err, &ce), errors.Is(err, context.Canceled):
		return err // its message and hint are those of the direct path
	}
	return withHint(fmt.Errorf("talking to the running lanchat: %w", err),
		"it may have stopped; run the command again")
}

// refuseSecondNode fails when a node already runs on the data dir: a
// clearer message than the database lock's, and no passphrase asked first.
func (e *env) refuseSecondNode(ctx context.Context, cmd string) error {
	cl := e.dialNode(ctx)
	if cl == nil {
		return nil
	}
	defer cl.Close()
	var id chat.IdentityInfo
	ctx, cancel := context.WithTimeout(ctx, nodeCallTimeout)
	defer cancel()
	if err := cl.Call(ctx, chat.MethodID, nil, &id); err != nil {
		return nil // let the database lock decide
	}
	return withHint(fmt.Errorf("%s: lanchat is already running on %s (pid %d)", cmd, id.DataDir, id.Node.PID),
		"use that one (history, send, trust and the others reach it), or stop it first; another --data-dir runs a second identity")
}
