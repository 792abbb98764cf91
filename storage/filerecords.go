package storage

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// File-transfer records (chat/files.Store): what this node offered, what
// it fetches and the manifests of both. They name files and folders and
// where they are on this machine, so they are sealed like history. The
// top-level bucket is created on the first write (a file without it has no
// records; an older lanchat ignores it) and holds one bucket per kind
// ("share", "fetch", "manifest"); within it each record is keyed by
//
//	HMAC-SHA256(room-id key, "file\x00" ‖ kind ‖ "\x00" ‖ id)[:16]
//
// (the id, a manifest root or an offer id, is not in the file) and its value
// is sealed with the AD of its bucket path and key, so a record moved to
// another key or kind does not open.
var bucketFiles = []byte("files")

const fileRecordKeySize = 16

// ErrFileKind is returned for a record kind that is empty or too long.
var ErrFileKind = errors.New("bad file record kind")

func fileRecordKey(k *keyring, kind, id string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte("file\x00" + kind + "\x00" + id))
	return m.Sum(nil)[:fileRecordKeySize]
}

func checkFileKind(kind string) error {
	if kind == "" || len(kind) > 32 {
		return fmt.Errorf("%w %q", ErrFileKind, kind)
	}
	return nil
}

// PutFileRecord stores val as the record id of kind, sealed, replacing any
// record it had. It is durable when it returns.
func (db *DB) PutFileRecord(kind, id string, val []byte) error {
	if err := checkFileKind(kind); err != nil {
		return err
	}
	k, err := db.ring()
	if err != nil {
		return err
	}
	key := fileRecordKey(k, kind, id)
	sealed := k.seal(val, recordAD(key, bucketFiles, []byte(kind)))
	err = db.update(func(tx *bbolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketFiles)
		if err != nil {
			return err
		}
		b, err := top.CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		return b.Put(key, sealed)
	})
	if err != nil {
		return fmt.Errorf("store %s record: %w", kind, err)
	}
	return nil
}

// FileRecord returns the record id of kind, nil if there is none, or
// ErrDamaged if it does not open.
func (db *DB) FileRecord(kind, id string) ([]byte, error) {
	if err := checkFileKind(kind); err != nil {
		return nil, err
	}
	k, err := db.ring()
	if err != nil {
		return nil, err
	}
	key := fileRecordKey(k, kind, id)
	var sealed []byte
	err = db.view(func(tx *bbolt.Tx) error {
		if b := fileKindBucket(tx, kind); b != nil {
			sealed = bytes.Clone(b.Get(key))
		}
		return nil
	})
	if err != nil || sealed == nil {
		return nil, err
	}
	plain, err := k.open(sealed, recordAD(key, bucketFiles, []byte(kind)))
	if err != nil {
		return nil, fmt.Errorf("%s record: %w", kind, err)
	}
	return plain, nil
}

// FileRecords returns every record of kind, in no particular order. A
// record that does not open is left out and counted in damaged.
func (db *DB) FileRecords(kind string) (recs [][]byte, damaged int, err error) {
	if err := checkFileKind(kind); err != nil {
		return nil, 0, err
	}
	k, err := db.ring()
	if err != nil {
		return nil, 0, err
	}
	err = db.view(func(tx *bbolt.Tx) error {
		b := fileKindBucket(tx, kind)
		if b == nil {
			return nil
		}
		return b.ForEach(func(key, v []byte) error {
			plain, err := k.open(v, recordAD(key, bucketFiles, []byte(kind)))
			if err != nil {
				damaged++
				return nil
			}
			recs = append(recs, plain)
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read %s records: %w", kind, err)
	}
	return recs, damaged, nil
}

func fileKindBucket(tx *bbolt.Tx, kind string) *bbolt.Bucket {
	top := tx.Bucket(bucketFiles)
	if top == nil {
		return nil
	}
	return top.Bucket([]byte(kind))
}
