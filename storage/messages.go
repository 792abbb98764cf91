package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// Message layout. Under the top-level messages bucket each room has a bucket
// of its own (named by the room) holding four buckets:
//
//	o  order:     clock u64 | author [32] | seq u64  →  encoded message
//	a  by author: author [32] | seq u64              →  clock u64
//	h  heads:     author [32]                        →  highest contiguous seq u64
//	m  meta:      "clock" → highest clock seen u64; "count" → messages u64
//
// Integers are big-endian, so cursor order is numeric order: the order bucket
// iterates in the room's total order (Lamport clock, author key, sequence),
// the same on every node.
var (
	bktOrder    = []byte("o")
	bktByAuthor = []byte("a")
	bktHeads    = []byte("h")
	bktRoomMeta = []byte("m")
	keyClock    = []byte("clock")
	keyCount    = []byte("count")
)

// AuthorKeySize is the length of an author key (an Ed25519 public key).
const AuthorKeySize = 32

const orderKeyLen = 8 + AuthorKeySize + 8

// StoredMessage is a message as storage sees it: the fields it indexes by and
// the encoded bytes, which only the chat package interprets.
type StoredMessage struct {
	Room   string
	Author [AuthorKeySize]byte
	Seq    uint64
	Clock  uint64
	Raw    []byte
}

// ErrNoRoom is returned for a room with no messages.
var ErrNoRoom = errors.New("no such room")

func orderKey(clock uint64, author [AuthorKeySize]byte, seq uint64) []byte {
	k := make([]byte, 0, orderKeyLen)
	k = binary.BigEndian.AppendUint64(k, clock)
	k = append(k, author[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func authorKey(author [AuthorKeySize]byte, seq uint64) []byte {
	k := make([]byte, 0, AuthorKeySize+8)
	k = append(k, author[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

// roomBuckets returns the room's buckets, creating them when create is set.
// It returns nil buckets (and no error) for a missing room when !create.
func roomBuckets(tx *bolt.Tx, room string, create bool) (o, a, h, m *bolt.Bucket, err error) {
	top := tx.Bucket(bucketMessages)
	if top == nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: messages bucket missing", ErrCorrupt)
	}
	r := top.Bucket([]byte(room))
	if r == nil {
		if !create {
			return nil, nil, nil, nil, nil
		}
		if r, err = top.CreateBucket([]byte(room)); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("creating room %q: %w", room, err)
		}
		for _, name := range [][]byte{bktOrder, bktByAuthor, bktHeads, bktRoomMeta} {
			if _, err := r.CreateBucket(name); err != nil {
				return nil, nil, nil, nil, fmt.Errorf("creating room %q: %w", room, err)
			}
		}
	}
	o, a, h, m = r.Bucket(bktOrder), r.Bucket(bktByAuthor), r.Bucket(bktHeads), r.Bucket(bktRoomMeta)
	if o == nil || a == nil || h == nil || m == nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: room %q is missing a bucket", ErrCorrupt, room)
	}
	// Keys mostly arrive in order (clocks grow; each author's sequence
	// grows), so fuller pages roughly halve the file (bbolt's default: 50%).
	o.FillPercent, a.FillPercent = 0.9, 0.9
	return o, a, h, m, nil
}

// addMessageTx stores one message unless (room, author, seq) is already
// there. It reports whether the message was new.
func addMessageTx(tx *bolt.Tx, msg *StoredMessage) (bool, error) {
	o, a, h, m, err := roomBuckets(tx, msg.Room, true)
	if err != nil {
		return false, err
	}
	ak := authorKey(msg.Author, msg.Seq)
	if a.Get(ak) != nil {
		return false, nil
	}
	if err := o.Put(orderKey(msg.Clock, msg.Author, msg.Seq), msg.Raw); err != nil {
		return false, fmt.Errorf("storing message: %w", err)
	}
	if err := putU64(a, ak, msg.Clock); err != nil {
		return false, fmt.Errorf("indexing message: %w", err)
	}
	if err := advanceHead(a, h, msg.Author); err != nil {
		return false, err
	}
	if msg.Clock > u64(m.Get(keyClock)) {
		if err := putU64(m, keyClock, msg.Clock); err != nil {
			return false, err
		}
	}
	return true, putU64(m, keyCount, u64(m.Get(keyCount))+1)
}

// advanceHead moves the author's contiguous head past every sequence number
// now present. Every author with a stored message has a head, 0 while its
// sequence 1 is missing, so sync knows of it.
func advanceHead(a, h *bolt.Bucket, author [AuthorKeySize]byte) error {
	old := h.Get(author[:])
	head := u64(old)
	next := head
	for a.Get(authorKey(author, next+1)) != nil {
		next++
	}
	if next == head && old != nil {
		return nil
	}
	if err := putU64(h, author[:], next); err != nil {
		return fmt.Errorf("advancing head: %w", err)
	}
	return nil
}

// errNothingNew rolls back a transaction that found only duplicates: bbolt
// would otherwise write and fsync its meta page for nothing.
var errNothingNew = errors.New("no new messages")

// AddMessages stores msgs in one transaction (one fsync) and reports for
// each whether it was new. Duplicates, also within msgs, are skipped; when
// every message is a duplicate nothing is written at all.
func (db *DB) AddMessages(msgs []StoredMessage) ([]bool, error) {
	added := make([]bool, len(msgs))
	err := db.update(func(tx *bolt.Tx) error {
		anyNew := false
		for i := range msgs {
			ok, err := addMessageTx(tx, &msgs[i])
			if err != nil {
				return err
			}
			added[i], anyNew = ok, anyNew || ok
		}
		if !anyNew {
			return errNothingNew
		}
		return nil
	})
	if errors.Is(err, errNothingNew) {
		return added, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storing %d messages: %w", len(msgs), err)
	}
	return added, nil
}

// RoomState is what a room's sync needs: the highest clock seen and, per
// author, the highest contiguous sequence number stored (a version vector).
type RoomState struct {
	MaxClock uint64
	Count    uint64
	Heads    map[[AuthorKeySize]byte]uint64
}

// RoomState returns the state of room (zero for a room with no messages).
func (db *DB) RoomState(room string) (RoomState, error) {
	st := RoomState{Heads: map[[AuthorKeySize]byte]uint64{}}
	err := db.view(func(tx *bolt.Tx) error {
		_, _, h, m, err := roomBuckets(tx, room, false)
		if err != nil || h == nil {
			return err
		}
		st.MaxClock, st.Count = u64(m.Get(keyClock)), u64(m.Get(keyCount))
		return h.ForEach(func(k, v []byte) error {
			if len(k) == AuthorKeySize {
				st.Heads[[AuthorKeySize]byte(k)] = u64(v)
			}
			return nil
		})
	})
	if err != nil {
		return RoomState{}, fmt.Errorf("reading room %q: %w", room, err)
	}
	return st, nil
}

// MessagesAfter returns up to limit messages of author in room with sequence
// numbers above after, in sequence order (what a peer missed).
func (db *DB) MessagesAfter(room string, author [AuthorKeySize]byte, after uint64, limit int) ([]StoredMessage, error) {
	var out []StoredMessage
	err := db.view(func(tx *bolt.Tx) error {
		o, a, _, _, err := roomBuckets(tx, room, false)
		if err != nil || a == nil {
			return err
		}
		c := a.Cursor()
		for k, v := c.Seek(authorKey(author, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
			if !bytes.HasPrefix(k, author[:]) {
				break
			}
			seq := u64(k[AuthorKeySize:])
			raw := o.Get(orderKey(u64(v), author, seq))
			if raw == nil {
				return fmt.Errorf("%w: index names a missing message", ErrCorrupt)
			}
			out = append(out, StoredMessage{Room: room, Author: author, Seq: seq, Clock: u64(v), Raw: bytes.Clone(raw)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}

// LastSeq returns the highest sequence number of author stored in room (0
// if none), gaps or not.
func (db *DB) LastSeq(room string, author [AuthorKeySize]byte) (uint64, error) {
	var last uint64
	err := db.view(func(tx *bolt.Tx) error {
		_, a, _, _, err := roomBuckets(tx, room, false)
		if err != nil || a == nil {
			return err
		}
		c := a.Cursor()
		k, _ := c.Seek(authorKey(author, math.MaxUint64))
		if k == nil || !bytes.Equal(k, authorKey(author, math.MaxUint64)) {
			k, _ = c.Prev()
		}
		if k != nil && bytes.HasPrefix(k, author[:]) {
			last = u64(k[AuthorKeySize:])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading room %q: %w", room, err)
	}
	return last, nil
}

// MessageRooms lists the rooms that hold messages, sorted.
func (db *DB) MessageRooms() ([]string, error) {
	var rooms []string
	err := db.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketMessages)
		if top == nil {
			return fmt.Errorf("%w: messages bucket missing", ErrCorrupt)
		}
		return top.ForEachBucket(func(k []byte) error {
			rooms = append(rooms, string(k))
			return nil
		})
	})
	return rooms, err
}
