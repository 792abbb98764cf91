package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/storage/storagetest"
)

// makeFullDB is makeDB plus 2,000 messages in two rooms, some with values
// that span overflow pages: branch pages, nested buckets, a freelist.
func makeFullDB(t *testing.T, path string) {
	t.Helper()
	makeDB(t, path)
	db, err := Open(path, DefaultOptions())
	must(t, err)
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for batch := range 20 {
		var msgs []StoredMessage
		for i := range 100 {
			n := uint64(batch*100 + i)
			raw := make([]byte, 50+rng.IntN(200))
			if n%97 == 0 {
				raw = make([]byte, 9000) // overflow pages
			}
			m := durableMsg(n, raw)
			if n%3 == 0 {
				m.Room = "ops"
			}
			msgs = append(msgs, m)
		}
		_, err := db.AddMessages(msgs)
		must(t, err)
	}
	must(t, db.Check())
}

// TestOpenRefusesRandomDamage opens, in this process, a full database after
// each of many seeded random damages: a page fault or a panic would end the
// test binary. Each open (read-only and for writing) is ErrCorrupt, and the
// file is never written.
func TestOpenRefusesRandomDamage(t *testing.T) {
	dir := t.TempDir()
	pristinePath := filepath.Join(dir, "pristine.db")
	makeFullDB(t, pristinePath)
	pristine, err := os.ReadFile(pristinePath)
	must(t, err)
	for _, ro := range []bool{false, true} { // the pristine file passes
		db, err := Open(pristinePath, Options{ReadOnly: ro})
		must(t, err)
		must(t, db.Close())
	}
	rng := rand.New(rand.NewPCG(11, 2026))
	path := filepath.Join(dir, "lanchat.db")
	for i := range 300 {
		writeFile(t, path, pristine)
		what, err := storagetest.DamageRandomPage(path, rng)
		must(t, err)
		before, err := os.ReadFile(path)
		must(t, err)
		for _, ro := range []bool{true, false} {
			db, err := Open(path, Options{ReadOnly: ro})
			if err == nil {
				db.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("damage %d (%s): Open(ReadOnly=%v) = %v, want ErrCorrupt", i, what, ro, err)
			}
		}
		after, err := os.ReadFile(path)
		must(t, err)
		if !bytes.Equal(before, after) {
			t.Errorf("damage %d (%s): the file was written to", i, what)
		}
	}
}

// TestDamageAfterOpenIsAnError damages and then truncates the file under an
// open read-only handle (bbolt reads it through a shared mmap): reads fail
// with ErrCorrupt instead of a panic or a page fault.
func TestDamageAfterOpenIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	makeFullDB(t, path)
	db, err := Open(path, Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	must(t, storagetest.DamagePages(path))
	if _, err := db.MessagesAfter("lobby", [AuthorKeySize]byte{}, 0, 10); !errors.Is(err, ErrCorrupt) {
		t.Errorf("reading damaged pages: %v, want ErrCorrupt", err)
	}
	must(t, os.Truncate(path, 8192))
	if _, err := db.MessagesAfter("ops", [AuthorKeySize]byte{}, 0, 10); !errors.Is(err, ErrCorrupt) {
		t.Errorf("reading past the end of a truncated file: %v, want ErrCorrupt", err)
	}
}
