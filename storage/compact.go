package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/bbolt"
)

// compactTxSize bounds what one transaction of Compact copies, so that a
// large history does not sit in memory at once.
const compactTxSize = 32 << 20

// Compact rewrites the database into a new file holding only the pages in
// use, and puts it in place of the old one (a rename: a crash leaves one
// or the other, both whole). bbolt keeps the pages a deletion or an
// update frees, with their old bytes, until it reuses them: after Forget,
// a passphrase change or a new data-key seal, Compact is what makes the
// old records and keys leave the file. The blocks of the old file are
// freed on the disk, not overwritten (see SECURITY.md).
//
// It holds every other use of the database off while it runs; the
// transactions around it see the compacted file.
func (db *DB) Compact() error {
	if db.readOnly {
		return ErrReadOnly
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	tmp := db.path + ".compact"
	dst, err := newFileBeside(tmp)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	fail := func(err error) error {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", db.path, err)
	}
	if err := func() (err error) {
		defer guard(&err)()
		return bbolt.Compact(dst, db.bolt, compactTxSize)
	}(); err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	// dst holds the lock of the new file before the rename: no other
	// process can slip in between.
	if err := os.Rename(tmp, db.path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(db.path)); err != nil {
		return fail(err)
	}
	old := db.bolt
	db.bolt = dst
	if err := old.Close(); err != nil {
		return fmt.Errorf("compact %s: closing the old file: %w", db.path, err)
	}
	return nil
}

// newFileBeside creates an empty bbolt file at path (mode 0600), replacing a
// stale one that an interrupted run left.
func newFileBeside(path string) (*bbolt.DB, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return bbolt.Open(path, 0o600, &bbolt.Options{Timeout: DefaultOptions().Timeout})
}
