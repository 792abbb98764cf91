package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention settings live in the meta bucket:
//
//	"retain"              → keep u64 (seconds): every room without its own
//	"retain/" ‖ room id   → keep u64 (seconds) ‖ the room name, sealed
//
// A keep of 0 is no limit. The node applies them (chat.ApplyRetention).
var (
	keyRetainDefault = []byte("retain")
	keyRetainPrefix  = []byte("retain/")
)

// Retention is how long messages are kept.
type Retention struct {
	Default time.Duration            // every room without its own; 0: forever
	Rooms   map[string]time.Duration // per room; 0: forever, whatever the default
}

// KeepFor returns how long room's messages are kept (0: forever).
func (r Retention) KeepFor(room string) time.Duration {
	if keep, ok := r.Rooms[room]; ok {
		return keep
	}
	return r.Default
}

// SetRetention keeps room's messages for keep (0: forever). Room "" sets
// the default of every room without its own; remove a room's own setting
// with ClearRetention.
func (db *DB) SetRetention(room string, keep time.Duration) error {
	if keep < 0 {
		return fmt.Errorf("%w: a negative retention", ErrRecord)
	}
	secs := binary.BigEndian.AppendUint64(nil, uint64(keep/time.Second))
	if room == "" {
		return db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyRetainDefault, secs) })
	}
	k, err := db.ring()
	if err != nil {
		return err
	}
	key := append(bytes.Clone(keyRetainPrefix), k.roomID(room)...)
	v := append(secs, k.seal([]byte(room), recordAD(key, bucketMeta))...)
	return db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(key, v) })
}

// ClearRetention removes room's own retention setting: the default applies.
func (db *DB) ClearRetention(room string) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	key := append(bytes.Clone(keyRetainPrefix), k.roomID(room)...)
	return db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(key) })
}

// Retention returns the retention settings.
func (db *DB) Retention() (Retention, error) {
	r := Retention{Rooms: map[string]time.Duration{}}
	k, err := db.ring()
	if err != nil {
		return r, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyRetainDefault); len(v) == 8 {
			r.Default = time.Duration(binary.BigEndian.Uint64(v)) * time.Second
		}
		c := meta.Cursor()
		for key, v := c.Seek(keyRetainPrefix); key != nil && bytes.HasPrefix(key, keyRetainPrefix); key, v = c.Next() {
			if len(v) < 8 {
				return fmt.Errorf("%w: a retention setting of %d bytes", ErrCorrupt, len(v))
			}
			name, err := k.open(v[8:], recordAD(key, bucketMeta))
			if err != nil {
				return fmt.Errorf("a retention setting: %w", err)
			}
			r.Rooms[string(name)] = time.Duration(binary.BigEndian.Uint64(v[:8])) * time.Second
		}
		return nil
	})
	return r, err
}
