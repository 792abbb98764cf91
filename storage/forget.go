package storage

import (
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Forget deletes the messages of room that drop accepts (drop sees each
// message opened; a damaged one has Damaged set), then compacts the file so
// that neither the records nor the pages that held them stay in it. It
// returns how many it deleted.
//
// What stays of a forgotten message is its by-author index entry (author,
// sequence number → clock, marked forgotten, and the SHA-256 of its
// encoding): the sequence number stays
// taken, so the message is not fetched and stored again by the next sync,
// and this node never signs a second message under one of its own numbers.
// The room's heads and counts stay as they were.
func (db *DB) Forget(room string, drop func(m StoredMessage) bool) (int, error) {
	n, err := db.ForgetMessages(room, drop)
	if err != nil || n == 0 {
		return n, err
	}
	return n, db.Compact()
}

// ForgetMessages is Forget without the compaction: for deleting in several
// rooms, then compacting once (the records stay in free pages until then).
func (db *DB) ForgetMessages(room string, drop func(m StoredMessage) bool) (int, error) {
	k, err := db.ring()
	if err != nil {
		return 0, fmt.Errorf("forget in room %q: %w", room, err)
	}
	n := 0
	err = db.update(func(tx *bolt.Tx) error {
		r, err := roomBuckets(tx, k, room, false)
		if err != nil || r == nil {
			return err
		}
		var gone, sums [][]byte
		c := r.o.Cursor()
		for key, sealed := c.First(); key != nil; key, sealed = c.Next() {
			if len(key) != orderKeyLen {
				continue
			}
			m := StoredMessage{Room: room, Clock: u64(key[:8]), Author: [AuthorKeySize]byte(key[8 : 8+AuthorKeySize]), Seq: u64(key[8+AuthorKeySize:])}
			if m.Raw, err = r.openMsg(key, sealed); err != nil {
				m.Raw, m.Damaged = append([]byte(nil), sealed...), true
			}
			if drop == nil || drop(m) {
				sum := sha256.Sum256(m.Raw)
				gone, sums = append(gone, append([]byte(nil), key...)), append(sums, sum[:])
			}
		}
		for i, key := range gone {
			if err := r.o.Delete(key); err != nil {
				return fmt.Errorf("deleting a message: %w", err)
			}
			ak := key[8:]
			marker := append(append(append([]byte(nil), key[:8]...), forgottenMark), sums[i]...)
			if err := r.a.Put(ak, marker); err != nil {
				return fmt.Errorf("deleting a message: %w", err)
			}
		}
		n = len(gone)
		if n == 0 {
			return errNothingNew
		}
		return nil
	})
	if err == errNothingNew {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("forget in room %q: %w", room, err)
	}
	return n, nil
}
