package files

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// migrate moves the record files an older lanchat wrote in s.dir into
// s.recs: each is put (durably) first, then removed, so a crash leaves it
// in one place or both (then the next open puts the same record again and
// removes the file). Half-written temporary files of the old writer are
// removed; the folder is removed once empty.
func (s *Store) migrate() error {
	if s.dir == "" {
		return nil
	}
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading old file records: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, m := range []func() error{s.migrateManifests, s.migrateShares, s.migrateFetches} {
		if err := m(); err != nil {
			return fmt.Errorf("moving the file records of %s into the sealed database: %w", s.dir, err)
		}
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") { // an old write cut short
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	syncDir(s.dir)
	_ = os.Remove(s.dir) // only if empty: anything else there is not ours to remove
	return nil
}

func (s *Store) migrateManifests() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".manifest")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil {
			return err
		}
		r := Root(b)
		if hex.EncodeToString(r[:]) != id {
			continue // damaged: left where it is, never read (Manifest checks the root)
		}
		if err := s.recs.PutFileRecord(kindManifest, id, b); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) migrateShares() error {
	return migrateJSON(s, kindShare, func(sh Share) string { return sh.Root })
}

func (s *Store) migrateFetches() error {
	return migrateJSON(s, kindFetch, func(f Fetch) string { return f.OfferID })
}

func migrateJSON[T any](s *Store, kind string, id func(T) string) error {
	old, err := legacyRecords[T](s.dir, kind+"-")
	if err != nil {
		return err
	}
	for _, l := range old {
		if err := s.recs.PutFileRecord(kind, id(l.v), l.raw); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(s.dir, l.name)); err != nil {
			return err
		}
	}
	return nil
}
