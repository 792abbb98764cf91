package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyEquivocatorPrefix starts the room meta keys that mark an author found
// signing two different messages under one sequence number:
// "e" | author [32] → the first such sequence number u64 | the copy not kept
// (the evidence, which other members can verify).
var keyEquivocatorPrefix = []byte("e")

// Presence says whether a message's (room, author, seq) is stored, and
// whether with the same bytes.
type Presence uint8

// The answers of CompareMessages.
const (
	Absent  Presence = iota // nothing stored under (room, author, seq)
	Same                    // the same bytes are stored
	Differs                 // other bytes are stored under the same (room, author, seq)
)

// CompareMessages reports for each message whether (room, author, seq) is
// stored and whether the stored bytes equal msgs[i].Raw (Clock is not
// looked at).
func (db *DB) CompareMessages(msgs []StoredMessage) ([]Presence, error) {
	out := make([]Presence, len(msgs))
	err := db.view(func(tx *bolt.Tx) error {
		for i := range msgs {
			raw, _, err := storedRawTx(tx, msgs[i].Room, msgs[i].Author, msgs[i].Seq)
			switch {
			case err != nil:
				return err
			case raw == nil:
				out[i] = Absent
			case bytes.Equal(raw, msgs[i].Raw):
				out[i] = Same
			default:
				out[i] = Differs
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking up messages: %w", err)
	}
	return out, nil
}

// storedRawTx returns the stored bytes and clock of (room, author, seq),
// nil if none. The slice is valid only inside tx.
func storedRawTx(tx *bolt.Tx, room string, author [AuthorKeySize]byte, seq uint64) ([]byte, uint64, error) {
	o, a, _, _, err := roomBuckets(tx, room, false)
	if err != nil || a == nil {
		return nil, 0, err
	}
	clock := a.Get(authorKey(author, seq))
	if clock == nil {
		return nil, 0, nil
	}
	raw := o.Get(orderKey(u64(clock), author, seq))
	if raw == nil {
		return nil, 0, fmt.Errorf("%w: room %q: index names a missing message", ErrCorrupt, room)
	}
	return raw, u64(clock), nil
}

// Message returns the stored message (room, author, seq); ok is false when
// there is none.
func (db *DB) Message(room string, author [AuthorKeySize]byte, seq uint64) (m StoredMessage, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		raw, clock, err := storedRawTx(tx, room, author, seq)
		if err != nil || raw == nil {
			return err
		}
		m, ok = StoredMessage{Room: room, Author: author, Seq: seq, Clock: clock, Raw: bytes.Clone(raw)}, true
		return nil
	})
	if err != nil {
		return StoredMessage{}, false, fmt.Errorf("reading room %q: %w", room, err)
	}
	return m, ok, nil
}

// ReplaceMessage stores next in place of prev: the same (room, author, seq)
// with other bytes and possibly another clock (so another place in the
// room's order). It does so only while prev is what is stored, and reports
// whether it did; false means the stored message is no longer prev (another
// replacement came first). The room's count and heads do not change.
func (db *DB) ReplaceMessage(prev, next StoredMessage) (bool, error) {
	if prev.Room != next.Room || prev.Author != next.Author || prev.Seq != next.Seq {
		return false, fmt.Errorf("replacing a message: %s/%d by %s/%d: not the same message", prev.Room, prev.Seq, next.Room, next.Seq)
	}
	replaced := false
	err := db.update(func(tx *bolt.Tx) error {
		o, a, _, m, err := roomBuckets(tx, prev.Room, false)
		if err != nil || a == nil {
			return err
		}
		ak := authorKey(prev.Author, prev.Seq)
		clock := a.Get(ak)
		if clock == nil || u64(clock) != prev.Clock {
			return nil
		}
		ok := orderKey(prev.Clock, prev.Author, prev.Seq)
		if !bytes.Equal(o.Get(ok), prev.Raw) {
			return nil
		}
		if err := o.Delete(ok); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		if err := o.Put(orderKey(next.Clock, next.Author, next.Seq), next.Raw); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		if err := putU64(a, ak, next.Clock); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		if next.Clock > u64(m.Get(keyClock)) {
			if err := putU64(m, keyClock, next.Clock); err != nil {
				return err
			}
		}
		replaced = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("room %q: %w", prev.Room, err)
	}
	return replaced, nil
}

func equivocatorKey(author [AuthorKeySize]byte) []byte {
	return append(bytes.Clone(keyEquivocatorPrefix), author[:]...)
}

// Equivocation is what is kept of an author found signing two different
// messages under one sequence number in a room.
type Equivocation struct {
	Seq   uint64 // the first sequence number found signed twice
	Other []byte // the copy that is not kept: signed evidence
}

// MarkEquivocator records that author signed two different messages with
// sequence number seq in room, other being the copy not kept. It reports
// whether the author was not marked in that room before (the first mark
// is kept).
func (db *DB) MarkEquivocator(room string, author [AuthorKeySize]byte, seq uint64, other []byte) (bool, error) {
	added := false
	err := db.update(func(tx *bolt.Tx) error {
		_, _, _, m, err := roomBuckets(tx, room, true)
		if err != nil {
			return err
		}
		k := equivocatorKey(author)
		if m.Get(k) != nil {
			return errNothingNew
		}
		added = true
		return m.Put(k, append(binary.BigEndian.AppendUint64(nil, seq), other...))
	})
	if err != nil && err != errNothingNew {
		return false, fmt.Errorf("room %q: marking an author: %w", room, err)
	}
	return added, nil
}

// Equivocators returns the authors marked by MarkEquivocator in room.
func (db *DB) Equivocators(room string) (map[[AuthorKeySize]byte]Equivocation, error) {
	out := map[[AuthorKeySize]byte]Equivocation{}
	err := db.view(func(tx *bolt.Tx) error {
		_, _, _, m, err := roomBuckets(tx, room, false)
		if err != nil || m == nil {
			return err
		}
		c := m.Cursor()
		for k, v := c.Seek(keyEquivocatorPrefix); k != nil && bytes.HasPrefix(k, keyEquivocatorPrefix); k, v = c.Next() {
			if len(k) == len(keyEquivocatorPrefix)+AuthorKeySize && len(v) >= 8 {
				out[[AuthorKeySize]byte(k[len(keyEquivocatorPrefix):])] = Equivocation{Seq: u64(v[:8]), Other: bytes.Clone(v[8:])}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}
