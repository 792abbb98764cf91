package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// Bucket and key names. Never rename one: old files use them.
var (
	bucketMeta     = []byte("meta")
	bucketIdentity = []byte("identity")
	bucketTrusted  = []byte("trusted")
	bucketRooms    = []byte("rooms")
	bucketMessages = []byte("messages")

	keyMagic  = []byte("magic")
	keySchema = []byte("schema")
)

// dbMagic marks a bbolt file as lanchat's. It does not change with the schema.
const dbMagic = "lanchat database"

// SchemaVersion is the schema this build writes: the version of the last
// step in migrations.
var SchemaVersion = migrations[len(migrations)-1].version

// A migration takes the file from version-1 to version. Steps run in order,
// all in one transaction with the new schema number, so a failed upgrade
// leaves the file as it was.
type migration struct {
	version uint32
	what    string
	apply   func(tx *bbolt.Tx) error
}

// migrations: ONLY APPEND TO THIS LIST. A change of layout is a new step;
// an existing step is never edited, because files out there ran it.
var migrations = []migration{
	{version: 1, what: "create the buckets", apply: createBuckets(
		bucketIdentity, bucketTrusted, bucketRooms, bucketMessages)},
	// A file at version 1 with content is rewritten sealed by sealLegacy
	// (migrate.go), not in place; a new file has nothing to seal.
	{version: 2, what: "seal the records (sealed.go)", apply: func(*bbolt.Tx) error { return nil }},
}

// sealedSchema is the first schema whose records are sealed.
const sealedSchema = 2

// requiredBuckets are the buckets a file at SchemaVersion must have.
var requiredBuckets = [][]byte{bucketMeta, bucketIdentity, bucketTrusted, bucketRooms, bucketMessages}

func createBuckets(names ...[]byte) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucket(n); err != nil {
				return fmt.Errorf("create bucket %q: %w", n, err)
			}
		}
		return nil
	}
}

// fileState is what readState learned about a file.
type fileState struct {
	fresh  bool   // no buckets at all: new, or created but never set up
	schema uint32 // 0 when fresh
}

// readState checks that tx sees a lanchat database this build can use, or a
// fresh one. It only reads.
func readState(tx *bbolt.Tx) (fileState, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if hasBuckets(tx) {
			return fileState{}, fmt.Errorf("%w: a bbolt database without lanchat's marker", ErrNotLanchat)
		}
		return fileState{fresh: true}, nil
	}
	if !bytes.Equal(meta.Get(keyMagic), []byte(dbMagic)) {
		return fileState{}, fmt.Errorf("%w: a bbolt database with a different marker", ErrNotLanchat)
	}
	v := meta.Get(keySchema)
	if len(v) != 4 || binary.BigEndian.Uint32(v) == 0 {
		return fileState{}, fmt.Errorf("%w: schema version unreadable (%x)", ErrCorrupt, v)
	}
	st := fileState{schema: binary.BigEndian.Uint32(v)}
	if st.schema > SchemaVersion {
		return fileState{}, fmt.Errorf("%w: schema %d, this lanchat knows up to %d", ErrNewerSchema, st.schema, SchemaVersion)
	}
	if st.schema == SchemaVersion {
		for _, b := range requiredBuckets {
			if tx.Bucket(b) == nil {
				return fileState{}, fmt.Errorf("%w: bucket %q is missing", ErrCorrupt, b)
			}
		}
	}
	return st, nil
}

func hasBuckets(tx *bbolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k != nil
}

// setUp brings a fresh or older file to SchemaVersion in tx: it writes the
// marker on a fresh file and runs the steps after the file's version.
func setUp(tx *bbolt.Tx, st fileState, steps []migration) error {
	if st.fresh {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return fmt.Errorf("create bucket %q: %w", bucketMeta, err)
		}
		if err := meta.Put(keyMagic, []byte(dbMagic)); err != nil {
			return fmt.Errorf("write marker: %w", err)
		}
	}
	for _, m := range steps {
		if m.version <= st.schema {
			continue
		}
		if err := m.apply(tx); err != nil {
			return fmt.Errorf("schema step %d (%s): %w", m.version, m.what, err)
		}
		if err := putSchema(tx, m.version); err != nil {
			return err
		}
	}
	return nil
}

func putSchema(tx *bbolt.Tx, v uint32) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	if err := tx.Bucket(bucketMeta).Put(keySchema, b[:]); err != nil {
		return fmt.Errorf("write schema version %d: %w", v, err)
	}
	return nil
}
