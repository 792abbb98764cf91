package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// inspect opens the file at path read-only and checks it before anything may
// write to it: walkFile's bounds-checked walk of every page in use, bbolt's
// consistency check (when full is set: before a writer opens it; a reader
// never writes, so it skips bbolt's slower check of the free pages and
// every page's reachability), then readState. It returns the open
// read-only handle (nil for a missing or empty file) and what it found.
//
// bbolt panics on pages it cannot make sense of, and a truncated file faults
// when its mapping is read; both become ErrCorrupt here, with the file
// closed. The file is never written.
func inspect(path string, timeout time.Duration, full bool) (b *bbolt.DB, st fileState, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && info.Size() == 0) {
		return nil, fileState{fresh: true}, nil // nothing to lose
	}
	if err != nil {
		return nil, fileState{}, withoutPath(path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fileState{}, fmt.Errorf("%w: not a regular file", ErrNotLanchat)
	}
	if err := checkLength(path, info.Size()); err != nil {
		return nil, fileState{}, err
	}

	var file *os.File // kept so a panic inside bbolt.Open can still close it
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if b != nil {
				_ = b.Close()
			} else if file != nil {
				_ = file.Close()
			}
			b, st, err = nil, fileState{}, panicError(r)
		}
	}()
	b, err = bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         timeout,
		ReadOnly:        true,
		PreLoadFreelist: full, // tx.Check needs the freelist
		OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, mode)
			file = f
			return f, err
		},
	})
	if err != nil {
		return nil, fileState{}, openError(path, err)
	}
	if err := b.View(func(tx *bbolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("%w: the file is truncated (%d bytes, its pages need %d)", ErrCorrupt, info.Size(), tx.Size())
		}
		// Our own walk first, here where a fault is caught: after it,
		// bbolt's check (in a goroutine of its own, where a fault would
		// kill the process) and every later read stay inside the file.
		if err := walkFile(file, info.Size(), b.Info().PageSize, uint64(tx.ID())); err != nil {
			return err
		}
		if full {
			if err := check(tx); err != nil {
				return err
			}
		}
		st, err = readState(tx)
		return err
	}); err != nil {
		_ = b.Close()
		return nil, fileState{}, err
	}
	return b, st, nil
}

// check runs bbolt's consistency check over the whole file: every page
// reachable once, nothing both free and in use. (About 30 ms for a 120 MB
// file on a warm cache.)
func check(tx *bbolt.Tx) error {
	var problems []string
	for err := range tx.Check() {
		if len(problems) < 3 {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// openError turns bbolt.Open's errors into ours.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return &LockedError{Path: path, PID: readPIDFile(pidPath(path))}
	case errors.Is(err, berrors.ErrInvalid):
		return fmt.Errorf("%w: not a bbolt database", ErrNotLanchat)
	case errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%w: its header pages fail bbolt's check (%w)", ErrCorrupt, err)
	default:
		return withoutPath(path, err)
	}
}

// checkLength refuses a bbolt file shorter than its two meta pages (bbolt
// itself says only "file size too small"). Files that do not start with a
// valid bbolt meta page are left to bbolt.Open to refuse.
func checkLength(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return withoutPath(path, err)
	}
	defer f.Close()
	b := make([]byte, pageHeaderSize+metaChecksummed+8)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil // too short for a meta page: not a database, bbolt says so
	}
	if m, ok := parseMeta(b); ok && size < 2*int64(m.pageSize) {
		return fmt.Errorf("%w: the file is truncated (%d bytes, its two meta pages need %d)", ErrCorrupt, size, 2*m.pageSize)
	}
	return nil
}

// panicError describes a panic from bbolt reading a damaged file.
func panicError(r any) error {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return fmt.Errorf("%w: a page could not be read (is the file truncated?)", ErrCorrupt)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, r)
}
