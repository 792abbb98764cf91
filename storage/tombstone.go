package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Deleted for everyone: a member's signed request (a tombstone, which only
// the chat package reads) to delete one of its messages. Honouring it wipes
// the message here as Forget does (its record goes, its by-author entry
// stays, marked forgotten with the hash the tombstone names), and keeps the
// tombstone in the room's meta bucket, sealed, to pass on:
//
//	"d" ‖ author [32] ‖ seq u64  →  the tombstone, sealed
var keyTombstonePrefix = []byte("d")

func tombstoneKey(author [AuthorKeySize]byte, seq uint64) []byte {
	return append(bytes.Clone(keyTombstonePrefix), authorKey(author, seq)...)
}

// DeleteMessage honours a tombstone for message seq of author in room,
// whose encoding has SHA-256 sum: the message is wiped (or, not stored
// yet, never will be) and the tombstone kept. Of two tombstones for one
// message, the one naming the smaller hash wins, on every node alike. It
// reports whether anything changed (false: this tombstone, or the winning
// one, was there already). The file is not compacted: the wiped record's
// sealed bytes stay in free pages until bbolt reuses them or a Forget,
// retention or passphrase change compacts it.
func (db *DB) DeleteMessage(room string, author [AuthorKeySize]byte, seq uint64, sum [sha256.Size]byte, tombstone []byte) (bool, error) {
	k, err := db.ring()
	if err != nil {
		return false, err
	}
	changed := false
	err = db.update(func(tx *bolt.Tx) error {
		r, err := roomBuckets(tx, k, room, true)
		if err != nil {
			return err
		}
		ak := authorKey(author, seq)
		v := r.a.Get(ak)
		if isForgotten(v) && len(v) == 9+sha256.Size {
			if old := v[9:]; r.m.Get(tombstoneKey(author, seq)) != nil && bytes.Compare(old, sum[:]) <= 0 {
				return errNothingNew
			}
		}
		var clock []byte
		switch {
		case v == nil:
			clock = make([]byte, 8) // never stored: its place in the order is unknown, and not needed
			if err := putU64(r.m, keyCount, u64(r.m.Get(keyCount))+1); err != nil {
				return err
			}
		case isForgotten(v):
			clock = bytes.Clone(v[:8])
		default:
			clock = bytes.Clone(v[:8])
			if err := r.o.Delete(orderKey(clockOf(v), author, seq)); err != nil {
				return fmt.Errorf("deleting a message: %w", err)
			}
		}
		marker := append(append(clock, forgottenMark), sum[:]...)
		if err := r.a.Put(ak, marker); err != nil {
			return fmt.Errorf("deleting a message: %w", err)
		}
		if err := advanceHead(r.a, r.h, author); err != nil {
			return err
		}
		tk := tombstoneKey(author, seq)
		if err := r.m.Put(tk, k.seal(tombstone, recordAD(tk, bucketMessages, r.id, bktRoomMeta))); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err == errNothingNew {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("room %q: deleting a message: %w", room, err)
	}
	return changed, nil
}

// Tombstones returns the tombstones kept for room, in (author, seq) order.
func (db *DB) Tombstones(room string) ([][]byte, error) {
	var out [][]byte
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.m.Cursor()
		for k, sealed := c.Seek(keyTombstonePrefix); k != nil && bytes.HasPrefix(k, keyTombstonePrefix); k, sealed = c.Next() {
			if len(k) != len(keyTombstonePrefix)+AuthorKeySize+8 {
				continue
			}
			v, err := r.k.open(sealed, recordAD(k, bucketMessages, r.id, bktRoomMeta))
			if err != nil {
				return fmt.Errorf("a tombstone: %w", err)
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}

// DeletedMessage is the place of a message deleted for everyone and the
// SHA-256 of its encoding (its id).
type DeletedMessage struct {
	Position
	Sum [sha256.Size]byte
}

// DeletedMessages returns the messages of room deleted for everyone that
// this node held, in the room's order (a deleted message it never held has
// no known place and is left out), so history can show a "deleted" line
// where each was.
func (db *DB) DeletedMessages(room string) ([]DeletedMessage, error) {
	var out []DeletedMessage
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.m.Cursor()
		for k, _ := c.Seek(keyTombstonePrefix); k != nil && bytes.HasPrefix(k, keyTombstonePrefix); k, _ = c.Next() {
			if len(k) != len(keyTombstonePrefix)+AuthorKeySize+8 {
				continue
			}
			ak := k[len(keyTombstonePrefix):]
			v := r.a.Get(ak)
			if clock := clockOf(v); clock != 0 && isForgotten(v) && len(v) == 9+sha256.Size {
				d := DeletedMessage{Position: Position{Clock: clock, Author: [AuthorKeySize]byte(ak[:AuthorKeySize]), Seq: binary.BigEndian.Uint64(ak[AuthorKeySize:])}}
				copy(d.Sum[:], v[9:])
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	slices.SortFunc(out, func(a, b DeletedMessage) int { return a.Compare(b.Position) })
	return out, nil
}
