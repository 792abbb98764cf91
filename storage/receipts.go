package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Receipts layout. The top-level receipts bucket is created on the first
// write (a file without it has no receipts yet; an older lanchat ignores
// it). Each room has a bucket of its own, named by the room's id (its keyed
// hash, as in the messages bucket: the name is not in the file), holding
//
//	"read"              →  this node's read position: clock u64 | author [32] | seq u64
//	"m" | member [32]   →  flags u8 (bit 0: left) | read position (48) |
//	                       count u32 | count × (author [32] | head u64)
//
// A member's heads are what it holds of each author without gaps (its
// version vector, PROTOCOL.md 5.5 and 5.11); its read position is the last
// message it said it read. Both only grow.
var (
	bucketReceipts = []byte("receipts")
	keyReadPos     = []byte("read")
	memberPrefix   = []byte("m")
)

// Position is a place in a room's total order (clock, author, seq). The
// zero Position is before every message.
type Position struct {
	Clock  uint64
	Author [AuthorKeySize]byte
	Seq    uint64
}

// Compare orders positions as the room's total order does.
func (p Position) Compare(q Position) int {
	return bytes.Compare(orderKey(p.Clock, p.Author, p.Seq), orderKey(q.Clock, q.Author, q.Seq))
}

// IsZero reports whether p is before every message.
func (p Position) IsZero() bool { return p == Position{} }

// PositionOf is the position of a stored message.
func PositionOf(m *StoredMessage) Position {
	return Position{Clock: m.Clock, Author: m.Author, Seq: m.Seq}
}

func positionFrom(b []byte) Position {
	var p Position
	if len(b) != orderKeyLen {
		return p
	}
	p.Clock = binary.BigEndian.Uint64(b)
	copy(p.Author[:], b[8:8+AuthorKeySize])
	p.Seq = binary.BigEndian.Uint64(b[8+AuthorKeySize:])
	return p
}

// MemberState is what this node knows of one member of a room.
type MemberState struct {
	Left  bool                           // it said it left the room
	Read  Position                       // the last message it said it read
	Heads map[[AuthorKeySize]byte]uint64 // per author, what it holds without gaps
}

func encodeMember(m MemberState) []byte {
	var flags byte
	if m.Left {
		flags = 1
	}
	b := append([]byte{flags}, orderKey(m.Read.Clock, m.Read.Author, m.Read.Seq)...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Heads)))
	for a, h := range m.Heads {
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint64(b, h)
	}
	return b
}

func decodeMember(v []byte) (MemberState, error) {
	r := reader{b: v}
	m := MemberState{Left: r.byte()&1 != 0, Heads: map[[AuthorKeySize]byte]uint64{}}
	m.Read = positionFrom(r.take(orderKeyLen))
	n := int(r.uint32())
	if r.err == nil && n > len(r.b)/(AuthorKeySize+8) {
		return MemberState{}, fmt.Errorf("%w: member record of %d heads in %d bytes", ErrCorrupt, n, len(r.b))
	}
	for i := 0; i < n && r.err == nil; i++ {
		var a [AuthorKeySize]byte
		copy(a[:], r.take(AuthorKeySize))
		if h := r.uint64(); r.err == nil {
			m.Heads[a] = h
		}
	}
	if err := r.done(); err != nil {
		return MemberState{}, err
	}
	return m, nil
}

// receiptsRoom returns room's receipts bucket; nil (no error) if it does
// not exist and create is false.
func receiptsRoom(tx *bolt.Tx, k *keyring, room string, create bool) (*bolt.Bucket, error) {
	top := tx.Bucket(bucketReceipts)
	if top == nil {
		if !create {
			return nil, nil
		}
		var err error
		if top, err = tx.CreateBucket(bucketReceipts); err != nil {
			return nil, fmt.Errorf("creating the receipts bucket: %w", err)
		}
	}
	id := k.roomID(room) // the room's keyed hash, as in the messages bucket: no name in the clear
	b := top.Bucket(id)
	if b == nil && create {
		var err error
		if b, err = top.CreateBucket(id); err != nil {
			return nil, fmt.Errorf("creating the receipts of room %q: %w", room, err)
		}
	}
	return b, nil
}

// RoomMembers returns what is remembered of room's members, by key.
func (db *DB) RoomMembers(room string) (map[[AuthorKeySize]byte]MemberState, error) {
	out := map[[AuthorKeySize]byte]MemberState{}
	k, err := db.ring()
	if err != nil {
		return nil, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		b, err := receiptsRoom(tx, k, room, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.Seek(memberPrefix); k != nil && bytes.HasPrefix(k, memberPrefix); k, v = c.Next() {
			if len(k) != 1+AuthorKeySize {
				return fmt.Errorf("%w: member key of %d bytes", ErrCorrupt, len(k))
			}
			m, err := decodeMember(v)
			if err != nil {
				return err
			}
			out[[AuthorKeySize]byte(k[1:])] = m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the members of room %q: %w", room, err)
	}
	return out, nil
}

// PutRoomMembers stores the given members' states of room (the others stay
// as they are), in one transaction.
func (db *DB) PutRoomMembers(room string, members map[[AuthorKeySize]byte]MemberState) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	err = db.update(func(tx *bolt.Tx) error {
		b, err := receiptsRoom(tx, k, room, true)
		if err != nil {
			return err
		}
		for k, m := range members {
			if err := b.Put(append(bytes.Clone(memberPrefix), k[:]...), encodeMember(m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing the members of room %q: %w", room, err)
	}
	return nil
}

// ReadPosition returns this node's read position in room (zero: nothing
// read yet).
func (db *DB) ReadPosition(room string) (Position, error) {
	var p Position
	k, err := db.ring()
	if err != nil {
		return p, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		b, err := receiptsRoom(tx, k, room, false)
		if err != nil || b == nil {
			return err
		}
		p = positionFrom(b.Get(keyReadPos))
		return nil
	})
	if err != nil {
		return Position{}, fmt.Errorf("reading the read position of room %q: %w", room, err)
	}
	return p, nil
}

// SetReadPosition moves this node's read position in room to p if p is
// after it; moved says whether it did.
func (db *DB) SetReadPosition(room string, p Position) (moved bool, err error) {
	k, err := db.ring()
	if err != nil {
		return false, err
	}
	err = db.update(func(tx *bolt.Tx) error {
		b, err := receiptsRoom(tx, k, room, true)
		if err != nil {
			return err
		}
		if positionFrom(b.Get(keyReadPos)).Compare(p) >= 0 {
			return nil
		}
		moved = true
		return b.Put(keyReadPos, orderKey(p.Clock, p.Author, p.Seq))
	})
	if err != nil {
		return false, fmt.Errorf("storing the read position of room %q: %w", room, err)
	}
	return moved, nil
}

// MessagesSince calls fn for each message of room after p, in the room's
// order, until fn returns false. The message's Raw is valid only during
// the call.
func (db *DB) MessagesSince(room string, p Position, fn func(m *StoredMessage) bool) error {
	err := db.viewRoom(room, func(r *roomTx) error {
		start := orderKey(p.Clock, p.Author, p.Seq)
		c := r.o.Cursor()
		k, v := c.Seek(start)
		if k != nil && bytes.Equal(k, start) {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if len(k) != orderKeyLen {
				return fmt.Errorf("%w: order key of %d bytes", ErrCorrupt, len(k))
			}
			q := positionFrom(k)
			m := StoredMessage{Room: room, Author: q.Author, Seq: q.Seq, Clock: q.Clock}
			if raw, err := r.openMsg(k, v); err == nil {
				m.Raw = raw
			} else {
				m.Raw, m.Damaged = v, true
			}
			if !fn(&m) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading room %q: %w", room, err)
	}
	return nil
}

// LastPosition returns the position of room's last message in its order
// (zero for an empty room).
func (db *DB) LastPosition(room string) (Position, error) {
	var p Position
	err := db.viewRoom(room, func(r *roomTx) error {
		k, _ := r.o.Cursor().Last()
		p = positionFrom(k)
		return nil
	})
	if err != nil {
		return Position{}, fmt.Errorf("reading room %q: %w", room, err)
	}
	return p, nil
}

// Heads returns what this node holds of each of authors in room without
// gaps (0 for an author it holds nothing of).
func (db *DB) Heads(room string, authors [][AuthorKeySize]byte) (map[[AuthorKeySize]byte]uint64, error) {
	out := make(map[[AuthorKeySize]byte]uint64, len(authors))
	err := db.viewRoom(room, func(r *roomTx) error {
		for _, a := range authors {
			out[a] = u64(r.h.Get(a[:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}

// MessageAt returns the stored message of room at position p.
func (db *DB) MessageAt(room string, p Position) (m StoredMessage, ok bool, err error) {
	err = db.viewRoom(room, func(r *roomTx) error {
		okey := orderKey(p.Clock, p.Author, p.Seq)
		if v := r.o.Get(okey); v != nil {
			m = StoredMessage{Room: room, Author: p.Author, Seq: p.Seq, Clock: p.Clock}
			raw, err := r.openMsg(okey, v)
			if err != nil {
				raw, m.Damaged = bytes.Clone(v), true
			}
			m.Raw, ok = raw, true
		}
		return nil
	})
	if err != nil {
		return StoredMessage{}, false, fmt.Errorf("reading room %q: %w", room, err)
	}
	return m, ok, nil
}
