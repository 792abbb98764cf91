package storage

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Receipts layout. The top-level receipts bucket is created on the first
// write (a file without it has no receipts yet; an older lanchat ignores
// it). Each room has a bucket of its own, named by the room's id (its keyed
// hash, as in the messages bucket: the name is not in the file), holding,
// every value sealed with the data key (AD: the bucket path and the key):
//
//	"read"               →  this node's read position: clock u64 | author [32] | seq u64
//	"s" | member id [16] →  member [32] | flags u8 (bit 0: left) | read position (48) |
//	                        count u32 | count × (author [32] | head u64)
//
// where member id = HMAC-SHA256(room-id key, "member\x00" ‖ room id ‖
// member)[:16], so the file says neither who the members are nor how far
// each has read. A member's heads are what it holds of each author without
// gaps (its version vector, PROTOCOL.md 5.5 and 5.11); its read position is
// the last message it said it read. Both only grow.
//
// Files written before receipts were sealed hold "m" | member [32] → the
// member record, and "read", in the clear: they are still read, and the
// next write of the room's receipts re-seals them in its transaction.
var (
	bucketReceipts = []byte("receipts")
	keyReadPos     = []byte("read")
	memberPrefix   = []byte("m") // in the clear (older files)
	sealedPrefix   = []byte("s")
)

const memberIDSize = 16

func memberKey(k *keyring, roomID []byte, member [AuthorKeySize]byte) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte("member\x00"))
	m.Write(roomID)
	m.Write(member[:])
	return append(bytes.Clone(sealedPrefix), m.Sum(nil)[:memberIDSize]...)
}

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
	m := MemberState{Left: r.byte()&1 != 0}
	m.Read = positionFrom(r.take(orderKeyLen))
	n := int(r.uint32())
	if r.err == nil && n > len(r.b)/(AuthorKeySize+8) {
		return MemberState{}, fmt.Errorf("%w: member record of %d heads in %d bytes", ErrCorrupt, n, len(r.b))
	}
	if n > 0 {
		m.Heads = make(map[[AuthorKeySize]byte]uint64, n)
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

// receiptsRoomID returns room's receipts bucket and the room's id; a nil
// bucket (no error) if it does not exist and create is false.
func receiptsRoomID(tx *bolt.Tx, k *keyring, room string, create bool) (*bolt.Bucket, []byte, error) {
	id := k.roomID(room) // the room's keyed hash, as in the messages bucket: no name in the clear
	top := tx.Bucket(bucketReceipts)
	if top == nil {
		if !create {
			return nil, id, nil
		}
		var err error
		if top, err = tx.CreateBucket(bucketReceipts); err != nil {
			return nil, id, fmt.Errorf("creating the receipts bucket: %w", err)
		}
	}
	b := top.Bucket(id)
	if b == nil && create {
		var err error
		if b, err = top.CreateBucket(id); err != nil {
			return nil, id, fmt.Errorf("creating the receipts of room %q: %w", room, err)
		}
	}
	return b, id, nil
}

func receiptsAD(roomID, key []byte) []byte { return recordAD(key, bucketReceipts, roomID) }

// readMembers returns the member records of b: sealed, and those an older
// lanchat left in the clear (legacy, by their key). A sealed record that
// does not open is left out (the member's next receipt rewrites it).
func readMembers(b *bolt.Bucket, k *keyring, roomID []byte) (out map[[AuthorKeySize]byte]MemberState, legacy [][]byte, err error) {
	out = map[[AuthorKeySize]byte]MemberState{}
	c := b.Cursor()
	for key, v := c.Seek(memberPrefix); key != nil && bytes.HasPrefix(key, memberPrefix); key, v = c.Next() {
		if len(key) != 1+AuthorKeySize {
			return nil, nil, fmt.Errorf("%w: member key of %d bytes", ErrCorrupt, len(key))
		}
		m, err := decodeMember(v)
		if err != nil {
			return nil, nil, err
		}
		out[[AuthorKeySize]byte(key[1:])] = m
		legacy = append(legacy, bytes.Clone(key))
	}
	for key, v := c.Seek(sealedPrefix); key != nil && bytes.HasPrefix(key, sealedPrefix); key, v = c.Next() {
		plain, err := k.open(v, receiptsAD(roomID, key))
		if err != nil || len(plain) < AuthorKeySize {
			continue
		}
		member := [AuthorKeySize]byte(plain)
		if !bytes.Equal(key, memberKey(k, roomID, member)) {
			continue // sealed for another member
		}
		m, err := decodeMember(plain[AuthorKeySize:])
		if err != nil {
			return nil, nil, err
		}
		out[member] = m
	}
	return out, legacy, nil
}

func putMember(b *bolt.Bucket, k *keyring, roomID []byte, member [AuthorKeySize]byte, m MemberState) error {
	key := memberKey(k, roomID, member)
	return b.Put(key, k.seal(append(member[:], encodeMember(m)...), receiptsAD(roomID, key)))
}

// readPos returns the read position kept in b, sealed or (older files) in
// the clear; a sealed one that does not open reads as zero.
func readPos(b *bolt.Bucket, k *keyring, roomID []byte) (p Position, legacy bool) {
	v := b.Get(keyReadPos)
	if v == nil {
		return Position{}, false
	}
	if plain, err := k.open(v, receiptsAD(roomID, keyReadPos)); err == nil {
		return positionFrom(plain), false
	}
	if len(v) == orderKeyLen {
		return positionFrom(v), true
	}
	return Position{}, false
}

// sealLegacyReceipts re-seals what an older lanchat left in the clear in b.
func sealLegacyReceipts(b *bolt.Bucket, k *keyring, roomID []byte) error {
	members, legacy, err := readMembers(b, k, roomID)
	if err != nil {
		return err
	}
	for _, key := range legacy {
		member := [AuthorKeySize]byte(key[1:])
		if err := putMember(b, k, roomID, member, members[member]); err != nil {
			return err
		}
		if err := b.Delete(key); err != nil {
			return err
		}
	}
	if p, old := readPos(b, k, roomID); old {
		return b.Put(keyReadPos, k.seal(orderKey(p.Clock, p.Author, p.Seq), receiptsAD(roomID, keyReadPos)))
	}
	return nil
}

// RoomMembers returns what is remembered of room's members, by key.
func (db *DB) RoomMembers(room string) (map[[AuthorKeySize]byte]MemberState, error) {
	out := map[[AuthorKeySize]byte]MemberState{}
	k, err := db.ring()
	if err != nil {
		return nil, err
	}
	err = db.view(func(tx *bolt.Tx) error {
		b, id, err := receiptsRoomID(tx, k, room, false)
		if err != nil || b == nil {
			return err
		}
		out, _, err = readMembers(b, k, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the members of room %q: %w", room, err)
	}
	return out, nil
}

// PutRoomMembers stores the given members' states of room (the others stay
// as they are), in one transaction.
func (db *DB) PutRoomMembers(room string, members map[[AuthorKeySize]byte]MemberState) error {
	return db.PutMembersOfRooms(map[string]map[[AuthorKeySize]byte]MemberState{room: members})
}

// PutMembersOfRooms is PutRoomMembers for many rooms in one write
// transaction (one commit and fsync, however many rooms: a node in 1,000
// rooms stores its peers' states in all of them at once).
func (db *DB) PutMembersOfRooms(rooms map[string]map[[AuthorKeySize]byte]MemberState) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	var room string
	err = db.update(func(tx *bolt.Tx) error {
		for room = range rooms {
			b, id, err := receiptsRoomID(tx, k, room, true)
			if err != nil {
				return err
			}
			if err := sealLegacyReceipts(b, k, id); err != nil {
				return err
			}
			for member, m := range rooms[room] {
				if err := putMember(b, k, id, member, m); err != nil {
					return err
				}
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
		b, id, err := receiptsRoomID(tx, k, room, false)
		if err != nil || b == nil {
			return err
		}
		p, _ = readPos(b, k, id)
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
		b, id, err := receiptsRoomID(tx, k, room, true)
		if err != nil {
			return err
		}
		if err := sealLegacyReceipts(b, k, id); err != nil {
			return err
		}
		if cur, _ := readPos(b, k, id); cur.Compare(p) >= 0 {
			return nil
		}
		moved = true
		return b.Put(keyReadPos, k.seal(orderKey(p.Clock, p.Author, p.Seq), receiptsAD(id, keyReadPos)))
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
