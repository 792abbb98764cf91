package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// Options tune Open.
type Options struct {
	// Timeout bounds the wait for another process's lock on the file; then
	// Open returns a *LockedError. Zero or negative means the default.
	Timeout time.Duration
	// ReadOnly takes a shared lock, so several readers can look at once, and
	// refuses every write with ErrReadOnly. It needs a set-up file at the
	// current schema: an empty file gives ErrNoIdentity, an older one
	// ErrOlderSchema.
	ReadOnly bool
	// Passphrase, when set, is asked for the passphrase when a read-write
	// open finds a database of an older lanchat whose identity is sealed:
	// it is then rewritten sealed (see migrate.go), which needs it. Without
	// it such an open gives ErrSealed.
	Passphrase func() ([]byte, error)
}

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{
		// Long enough to ride out a short command (lanchat trust) that holds
		// the file for milliseconds; short enough that a second node is told
		// at once that the data dir is busy.
		Timeout: time.Second,
		// Read-write: the node and the commands that change things.
		ReadOnly: false,
	}
}

// DB is an open lanchat database. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bbolt.DB
	path     string
	readOnly bool
	now      func() time.Time // time.Now; tests replace it

	// mu guards bolt against Compact, which swaps it for the compacted
	// file: every transaction holds it shared.
	mu sync.RWMutex
	// keys is the open data key (nil: locked); unlocker asks for the
	// passphrase the first time it is needed (see ring).
	keys     atomic.Pointer[keyring]
	unlockMu sync.Mutex
	unlocker func() ([]byte, error)
	quiet    func() []byte // see SetQuietPassphrase
	// sealedBackup is the plaintext backup that sealing an older
	// database kept, when this Open did that.
	sealedBackup string

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database at path, creating it (mode 0600) if it does not
// exist. See the package documentation for what it checks and refuses.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOptions().Timeout
	}
	ro, st, err := inspect(path, opts.Timeout, !opts.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.ReadOnly {
		return openReadOnly(path, ro, st)
	}
	if ro != nil {
		if err := ro.Close(); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return openReadWrite(path, opts)
}

func openReadOnly(path string, ro *bbolt.DB, st fileState) (*DB, error) {
	switch {
	case ro == nil || st.fresh:
		if ro != nil {
			_ = ro.Close()
		}
		return nil, fmt.Errorf("open %s: %w: the file is empty or missing", path, ErrNoIdentity)
	case st.schema < SchemaVersion:
		_ = ro.Close()
		return nil, fmt.Errorf("open %s: %w (schema %d, current %d)", path, ErrOlderSchema, st.schema, SchemaVersion)
	}
	return &DB{bolt: ro, path: path, readOnly: true, now: time.Now}, nil
}

func openReadWrite(path string, opts Options) (_ *DB, err error) {
	timeout := opts.Timeout
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	defer func() {
		// A file this Open created and could not set up (a full disk) holds
		// nothing: leave no empty or half-written file behind. A lock
		// timeout means another process has it: never remove it then.
		if err != nil && created && !errors.Is(err, ErrLocked) {
			if rerr := os.Remove(path); rerr == nil {
				_ = syncDir(filepath.Dir(path))
			}
		}
	}()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, openError(path, err))
	}
	db := &DB{bolt: b, path: path, now: time.Now}
	if err := writePIDFile(pidPath(path)); err != nil {
		_ = b.Close()
		return nil, err
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	err = upgrade(b)
	if errors.Is(err, errNeedsSealing) {
		backup, err := sealLegacy(b, path, opts.Passphrase)
		_ = db.Close()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db, err := openReadWrite(path, opts)
		if db != nil {
			db.sealedBackup = backup
		}
		return db, err
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// upgrade checks the file again under the write lock (it may have changed
// since inspect let go of it) and brings it to SchemaVersion in one
// transaction. A file that is already current is not written to: even an
// empty commit would write a meta page.
func upgrade(b *bbolt.DB) error {
	var st fileState
	err := b.View(func(tx *bbolt.Tx) (err error) {
		st, err = readState(tx)
		return err
	})
	if err != nil || st.schema == SchemaVersion {
		return err
	}
	if !st.fresh && st.schema < sealedSchema {
		return errNeedsSealing
	}
	return b.Update(func(tx *bbolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		if err := setUp(tx, st, migrations); err != nil {
			return err
		}
		_, err = readState(tx)
		return err
	})
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Close closes the database and removes the pid file. It is safe to call
// more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		defer db.mu.Unlock()
		err := db.bolt.Close()
		if !db.readOnly {
			err = errors.Join(err, removePIDFile(pidPath(db.path)))
		}
		if err != nil {
			db.closeErr = fmt.Errorf("close database %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// SealedBackup returns the path of the backup that this Open kept when it
// sealed the database of an older lanchat ("" if it did not): it holds the
// history in the clear, until the user removes it.
func (db *DB) SealedBackup() string { return db.sealedBackup }

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// view runs fn in a read transaction. Values fn reads are valid only until
// it returns: copy what you keep. A page bbolt cannot read (the file was
// damaged after Open checked it) is ErrCorrupt, not a crash.
func (db *DB) view(fn func(tx *bbolt.Tx) error) (err error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	defer guard(&err)()
	return db.bolt.View(fn)
}

// update runs fn in a read-write transaction, committed (and fsynced) when
// fn returns nil, rolled back otherwise (also when a damaged page makes
// bbolt panic: then the error is ErrCorrupt).
func (db *DB) update(fn func(tx *bbolt.Tx) error) (err error) {
	if db.readOnly {
		return ErrReadOnly
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	defer guard(&err)()
	return db.bolt.Update(fn)
}

// guard makes a page fault in this goroutine a panic, and the returned
// function (deferred) turns a panic in bbolt into ErrCorrupt in *err and
// restores the fault setting. bbolt rolls the transaction back as the panic
// unwinds. Use it as "defer guard(&err)()".
func guard(err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = panicError(r)
		}
	}
}

// Check runs bbolt's consistency check over the whole file.
func (db *DB) Check() error { return db.view(check) }

// Backup writes a consistent copy of the database to a new file at path
// (mode 0600), which must not exist yet, and fsyncs it.
func (db *DB) Backup(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
