package storage

import (
	"errors"
	"fmt"
	"io/fs"
)

// Errors from Open and the record methods, for errors.Is.
var (
	// ErrLocked: another process has the database open. The error is a
	// *LockedError that names the holder's pid when it is known.
	ErrLocked = errors.New("the data dir is in use by another lanchat")
	// ErrNotLanchat: the file is not a bbolt database, or not lanchat's.
	ErrNotLanchat = errors.New("not a lanchat database")
	// ErrCorrupt: the file is a lanchat database but damaged.
	ErrCorrupt = errors.New("the database is damaged")
	// ErrNewerSchema: the file was written by a newer lanchat.
	ErrNewerSchema = errors.New("the database was written by a newer lanchat")
	// ErrOlderSchema: a read-only open found a schema that needs upgrading,
	// which only a read-write open does.
	ErrOlderSchema = errors.New("the database needs an upgrade that a read-only open cannot do")
	// ErrReadOnly: a write was attempted on a database opened read-only.
	ErrReadOnly = errors.New("the database is open read-only")
	// ErrNoIdentity: no identity has been stored yet.
	ErrNoIdentity = errors.New("no identity in this database")
	// ErrSelf: the fingerprint is this node's own.
	ErrSelf = errors.New("that is this node's own fingerprint")
	// ErrNotTrusted: the fingerprint is not in the trust list.
	ErrNotTrusted = errors.New("not a trusted peer")
	// ErrRecord: a record could not be encoded or decoded.
	ErrRecord = errors.New("invalid record")
)

// LockedError says that another process holds the database's lock.
// errors.Is(err, ErrLocked) is true for it.
type LockedError struct {
	Path string // the database file
	PID  int    // the holder's process id; 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%v (pid unknown)", ErrLocked)
	}
	return fmt.Sprintf("%v (pid %d)", ErrLocked, e.PID)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// withoutPath drops the path from an *fs.PathError about path itself, whose
// message would name it a second time after "open <path>: ".
func withoutPath(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err
	}
	return err
}
