package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/storage"
)

// Timeouts of reaching a node.
const (
	// DialTimeout bounds connecting to the control socket: a live node
	// answers in microseconds, a stale socket is refused at once.
	DialTimeout = 2 * time.Second
	// StartWait bounds the wait for a node that holds the database but has
	// no control socket yet (it is starting, or asking for its passphrase).
	StartWait = 5 * time.Second
)

// DBFile is the database's file name in the data directory.
const DBFile = "lanchat.db"

// SocketPath is the control socket of a data dir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// Connect returns a client of the node running on dataDir, or nil when
// none answers. A node that holds the database but has no socket up yet is
// waited for (StartWait): a starting node gets its socket up within
// moments, while a short command that holds the file soon releases it.
func Connect(ctx context.Context, dataDir string) *Client {
	if cl := dialOnce(ctx, dataDir); cl != nil {
		return cl
	}
	dbPath := filepath.Join(dataDir, DBFile)
	deadline := time.Now().Add(StartWait)
	for time.Now().Before(deadline) {
		if pid := storage.Holder(dbPath); pid == 0 || pid == os.Getpid() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		if cl := dialOnce(ctx, dataDir); cl != nil {
			return cl
		}
	}
	return nil
}

func dialOnce(ctx context.Context, dataDir string) *Client {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	cl, err := Dial(ctx, SocketPath(dataDir))
	if err != nil {
		return nil
	}
	return cl
}

// Open returns the API of dataDir: the running node's, or else the
// database's, opened with open (a Local, which closes it). A database held
// by a node that is still starting makes it ask the node once more.
func Open(ctx context.Context, dataDir string, open func() (*storage.DB, error)) (API, error) {
	for try := 0; ; try++ {
		if cl := Connect(ctx, dataDir); cl != nil {
			return cl, nil
		}
		db, err := open()
		if errors.Is(err, storage.ErrLocked) && try == 0 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return NewLocal(db, dataDir), nil
	}
}

// Running reports whether api is a running node's (not the database's).
func Running(api API) bool {
	_, local := api.(*Local)
	return !local
}
