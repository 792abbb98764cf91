package storage

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

var bucketExtra = []byte("extra")

// v2Steps are the real migrations plus a step 2 that adds a bucket.
func v2Steps() []migration {
	steps := append([]migration(nil), migrations...)
	return append(steps, migration{version: SchemaVersion + 1, what: "add extra", apply: createBuckets(bucketExtra)})
}

func schemaOf(t *testing.T, b *bbolt.DB) (v uint32, extra bool) {
	t.Helper()
	must(t, b.View(func(tx *bbolt.Tx) error {
		v = binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(keySchema))
		extra = tx.Bucket(bucketExtra) != nil
		return nil
	}))
	return v, extra
}

func TestSetUpIsOneTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	makeDB(t, path)
	b, err := bbolt.Open(path, 0o600, nil)
	must(t, err)
	defer b.Close()

	boom := errors.New("boom")
	failing := append(v2Steps(), migration{version: SchemaVersion + 2, what: "fail",
		apply: func(*bbolt.Tx) error { return boom }})
	err = b.Update(func(tx *bbolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		return setUp(tx, st, failing)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("setUp with a failing step: %v, want boom", err)
	}
	if v, extra := schemaOf(t, b); v != SchemaVersion || extra {
		t.Errorf("after a failed upgrade: schema %d, extra bucket %v; want %d and no bucket", v, extra, SchemaVersion)
	}

	must(t, b.Update(func(tx *bbolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		return setUp(tx, st, v2Steps())
	}))
	if v, extra := schemaOf(t, b); v != SchemaVersion+1 || !extra {
		t.Errorf("after the upgrade: schema %d, extra bucket %v; want %d and the bucket", v, extra, SchemaVersion+1)
	}
}

// TestOpenUpgradesOlderSchema pretends this build is one schema newer than
// the file. It changes package variables, so it must not run in parallel.
func TestOpenUpgradesOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	makeDB(t, path)
	saved, savedVersion := migrations, SchemaVersion
	t.Cleanup(func() { migrations, SchemaVersion = saved, savedVersion })
	migrations = v2Steps()
	SchemaVersion = migrations[len(migrations)-1].version
	requiredBuckets = append(requiredBuckets, bucketExtra)
	t.Cleanup(func() { requiredBuckets = requiredBuckets[:len(requiredBuckets)-1] })

	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrOlderSchema) {
		t.Errorf("read-only open of an older file: %v, want ErrOlderSchema", err)
	}
	db, err := Open(path, DefaultOptions())
	must(t, err)
	if _, err := db.Identity(); err != nil {
		t.Errorf("identity after the upgrade: %v", err)
	}
	if v, extra := schemaOf(t, db.bolt); v != SchemaVersion || !extra {
		t.Errorf("after Open: schema %d, extra bucket %v; want %d and the bucket", v, extra, SchemaVersion)
	}
	must(t, db.Close())
	checkFile(t, path)
}
