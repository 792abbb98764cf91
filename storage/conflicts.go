package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
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
// looked at). A forgotten message counts as Same: it was had, and is not
// taken again. A stored record that does not open counts as Differs.
func (db *DB) CompareMessages(msgs []StoredMessage) ([]Presence, error) {
	k, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("looking up messages: %w", err)
	}
	out := make([]Presence, len(msgs))
	err = db.view(func(tx *bolt.Tx) error {
		for i := range msgs {
			m, found, err := storedTx(tx, k, msgs[i].Room, msgs[i].Author, msgs[i].Seq)
			switch {
			case errors.Is(err, errForgotten):
				out[i] = Same
			case err != nil:
				return err
			case !found:
				out[i] = Absent
			case !m.Damaged && bytes.Equal(m.Raw, msgs[i].Raw):
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

// errForgotten: storedTx found (room, author, seq) forgotten.
var errForgotten = errors.New("the message was forgotten")

// storedTx returns the stored message (room, author, seq), opened (see
// roomTx.stored); found is false if there is none, errForgotten if it was
// forgotten.
func storedTx(tx *bolt.Tx, k *keyring, room string, author [AuthorKeySize]byte, seq uint64) (StoredMessage, bool, error) {
	r, err := roomBuckets(tx, k, room, false)
	if err != nil || r == nil {
		return StoredMessage{}, false, err
	}
	v := r.a.Get(authorKey(author, seq))
	switch {
	case v == nil:
		return StoredMessage{}, false, nil
	case isForgotten(v):
		return StoredMessage{}, false, errForgotten
	}
	m, err := r.stored(room, clockOf(v), author, seq)
	return m, err == nil, err
}

// Message returns the stored message (room, author, seq); ok is false when
// there is none (or it was forgotten). A record that does not open is
// returned with Damaged set.
func (db *DB) Message(room string, author [AuthorKeySize]byte, seq uint64) (m StoredMessage, ok bool, err error) {
	k, err := db.ring()
	if err != nil {
		return StoredMessage{}, false, fmt.Errorf("reading room %q: %w", room, err)
	}
	err = db.view(func(tx *bolt.Tx) error {
		m, ok, err = storedTx(tx, k, room, author, seq)
		if errors.Is(err, errForgotten) {
			return nil
		}
		return err
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
	k, err := db.ring()
	if err != nil {
		return false, fmt.Errorf("room %q: %w", prev.Room, err)
	}
	replaced := false
	err = db.update(func(tx *bolt.Tx) error {
		cur, found, err := storedTx(tx, k, prev.Room, prev.Author, prev.Seq)
		if errors.Is(err, errForgotten) || (err == nil && (!found || cur.Clock != prev.Clock || !bytes.Equal(cur.Raw, prev.Raw))) {
			return nil
		}
		if err != nil {
			return err
		}
		r, err := roomBuckets(tx, k, prev.Room, false)
		if err != nil {
			return err
		}
		if err := r.o.Delete(orderKey(prev.Clock, prev.Author, prev.Seq)); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		nk := orderKey(next.Clock, next.Author, next.Seq)
		if err := r.o.Put(nk, r.sealMsg(nk, next.Raw)); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		if err := putU64(r.a, authorKey(prev.Author, prev.Seq), next.Clock); err != nil {
			return fmt.Errorf("replacing message: %w", err)
		}
		if next.Clock > u64(r.m.Get(keyClock)) {
			if err := putU64(r.m, keyClock, next.Clock); err != nil {
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
	k, err := db.ring()
	if err != nil {
		return false, fmt.Errorf("room %q: marking an author: %w", room, err)
	}
	added := false
	err = db.update(func(tx *bolt.Tx) error {
		r, err := roomBuckets(tx, k, room, true)
		if err != nil {
			return err
		}
		ek := equivocatorKey(author)
		if r.m.Get(ek) != nil {
			return errNothingNew
		}
		added = true
		v := append(binary.BigEndian.AppendUint64(nil, seq), other...)
		return r.m.Put(ek, k.seal(v, recordAD(ek, bucketMessages, r.id, bktRoomMeta)))
	})
	if err != nil && err != errNothingNew {
		return false, fmt.Errorf("room %q: marking an author: %w", room, err)
	}
	return added, nil
}

// Equivocators returns the authors marked by MarkEquivocator in room.
func (db *DB) Equivocators(room string) (map[[AuthorKeySize]byte]Equivocation, error) {
	out := map[[AuthorKeySize]byte]Equivocation{}
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.m.Cursor()
		for k, sealed := c.Seek(keyEquivocatorPrefix); k != nil && bytes.HasPrefix(k, keyEquivocatorPrefix); k, sealed = c.Next() {
			if len(k) != len(keyEquivocatorPrefix)+AuthorKeySize {
				continue
			}
			v, err := r.k.open(sealed, recordAD(k, bucketMessages, r.id, bktRoomMeta))
			if err != nil {
				return fmt.Errorf("an equivocation record: %w", err)
			}
			if len(v) >= 8 {
				out[[AuthorKeySize]byte(k[len(keyEquivocatorPrefix):])] = Equivocation{Seq: u64(v[:8]), Other: v[8:]}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}
