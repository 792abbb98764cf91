package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Message layout. Under the top-level messages bucket each room has a bucket
// of its own (named by its room id, see sealed.go) holding four buckets:
//
//	o  order:     clock u64 | author [32] | seq u64  →  sealed encoded message
//	a  by author: author [32] | seq u64              →  clock u64 [| forgottenMark]
//	h  heads:     author [32]                        →  highest contiguous seq u64
//	m  meta:      "clock" → highest clock seen u64; "count" → messages stored u64;
//	              "name" → the sealed room name; "e"… see conflicts.go
//
// The keys and the integers are in the clear (sync needs them without a
// passphrase-free scan): who wrote how many messages when, per room id.
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
	keyRoomName = []byte("name")
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
	// Damaged is set on a message read back whose sealed record does not
	// open (altered or moved on disk): Raw is then the sealed bytes, which
	// decode as no message.
	Damaged bool
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

// roomTx is a room's buckets inside one transaction, with the data key
// that opens its records.
type roomTx struct {
	k          *keyring
	id         []byte // the room id: the room's bucket name
	o, a, h, m *bolt.Bucket
}

// roomBuckets returns the room's buckets, creating them when create is set.
// It returns nil (and no error) for a missing room when !create.
func roomBuckets(tx *bolt.Tx, k *keyring, room string, create bool) (*roomTx, error) {
	top := tx.Bucket(bucketMessages)
	if top == nil {
		return nil, fmt.Errorf("%w: messages bucket missing", ErrCorrupt)
	}
	id := k.roomID(room)
	r := top.Bucket(id)
	if r == nil {
		if !create {
			return nil, nil
		}
		var err error
		if r, err = top.CreateBucket(id); err != nil {
			return nil, fmt.Errorf("creating room %q: %w", room, err)
		}
		for _, name := range [][]byte{bktOrder, bktByAuthor, bktHeads, bktRoomMeta} {
			if _, err := r.CreateBucket(name); err != nil {
				return nil, fmt.Errorf("creating room %q: %w", room, err)
			}
		}
		name := k.seal([]byte(room), recordAD(keyRoomName, bucketMessages, id, bktRoomMeta))
		if err := r.Bucket(bktRoomMeta).Put(keyRoomName, name); err != nil {
			return nil, fmt.Errorf("creating room %q: %w", room, err)
		}
	}
	rt := &roomTx{k: k, id: id, o: r.Bucket(bktOrder), a: r.Bucket(bktByAuthor), h: r.Bucket(bktHeads), m: r.Bucket(bktRoomMeta)}
	if rt.o == nil || rt.a == nil || rt.h == nil || rt.m == nil {
		return nil, fmt.Errorf("%w: room %q is missing a bucket", ErrCorrupt, room)
	}
	// Keys mostly arrive in order (clocks grow; each author's sequence
	// grows), so fuller pages roughly halve the file (bbolt's default: 50%).
	rt.o.FillPercent, rt.a.FillPercent = 0.9, 0.9
	return rt, nil
}

// sealMsg seals a message record for its order key.
func (r *roomTx) sealMsg(okey, raw []byte) []byte {
	return r.k.seal(raw, recordAD(okey, bucketMessages, r.id, bktOrder))
}

// openMsg opens the message record stored under okey (ErrDamaged).
func (r *roomTx) openMsg(okey, sealed []byte) ([]byte, error) {
	return r.k.open(sealed, recordAD(okey, bucketMessages, r.id, bktOrder))
}

// A by-author index value is the message's clock (8 bytes), followed by
// forgottenMark and the SHA-256 of the message's encoding when the message
// was forgotten locally (Forget): its record is gone, but the author's
// sequence number stays taken, so the message is never stored again and
// this node never reuses its own numbers, and the sync check's chain
// (MessageSums) stays what the other members compute.
const forgottenMark = 1

func clockOf(v []byte) uint64 {
	if len(v) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v[:8])
}

func isForgotten(v []byte) bool { return len(v) > 8 && v[8] == forgottenMark }

// SeqSum is a message's sequence number and the SHA-256 of its encoding.
type SeqSum struct {
	Seq uint64
	Sum [sha256.Size]byte
}

// MessageSums returns, for up to limit messages of author in room with
// sequence numbers above after, in order, the SHA-256 of each message's
// encoding: of the stored message (of its sealed bytes if it is damaged),
// or the one kept when it was forgotten. Gaps are skipped.
func (db *DB) MessageSums(room string, author [AuthorKeySize]byte, after uint64, limit int) ([]SeqSum, error) {
	var out []SeqSum
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.a.Cursor()
		for k, v := c.Seek(authorKey(author, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
			if !bytes.HasPrefix(k, author[:]) {
				break
			}
			seq := u64(k[AuthorKeySize:])
			if isForgotten(v) {
				if len(v) != 9+sha256.Size {
					return fmt.Errorf("%w: room %q: a forgotten message without its hash", ErrCorrupt, room)
				}
				out = append(out, SeqSum{Seq: seq, Sum: [sha256.Size]byte(v[9:])})
				continue
			}
			m, err := r.stored(room, clockOf(v), author, seq)
			if err != nil {
				return err
			}
			out = append(out, SeqSum{Seq: seq, Sum: sha256.Sum256(m.Raw)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}

// roomBatch is one room's part of an AddMessages transaction: its
// buckets, looked up once, and what the batch changed, written once at the
// end (heads, highest clock, count) rather than once per message.
type roomBatch struct {
	r        *roomTx
	added    uint64
	maxClock uint64
	authors  map[[AuthorKeySize]byte]struct{}
}

// addMessageTx stores one message unless (room, author, seq) is already
// stored (also earlier in this batch), and notes it in b; finish writes
// what b gathered.
func (b *roomBatch) add(msg *StoredMessage) (bool, error) {
	r := b.r
	var akBuf [AuthorKeySize + 8]byte
	ak := append(append(akBuf[:0], msg.Author[:]...), binary.BigEndian.AppendUint64(nil, msg.Seq)...)
	if r.a.Get(ak) != nil {
		return false, nil
	}
	okey := orderKey(msg.Clock, msg.Author, msg.Seq)
	if err := r.o.Put(okey, r.sealMsg(okey, msg.Raw)); err != nil {
		return false, fmt.Errorf("storing message: %w", err)
	}
	if err := putU64(r.a, ak, msg.Clock); err != nil {
		return false, fmt.Errorf("indexing message: %w", err)
	}
	if b.authors == nil {
		b.authors = map[[AuthorKeySize]byte]struct{}{}
	}
	b.authors[msg.Author] = struct{}{}
	b.added++
	b.maxClock = max(b.maxClock, msg.Clock)
	return true, nil
}

// finish advances the heads of the authors the batch added to, and the
// room's highest clock and count.
func (b *roomBatch) finish() error {
	if b.added == 0 {
		return nil
	}
	r := b.r
	for a := range b.authors {
		if err := advanceHead(r.a, r.h, a); err != nil {
			return err
		}
	}
	if b.maxClock > u64(r.m.Get(keyClock)) {
		if err := putU64(r.m, keyClock, b.maxClock); err != nil {
			return err
		}
	}
	return putU64(r.m, keyCount, u64(r.m.Get(keyCount))+b.added)
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
	k, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("storing %d messages: %w", len(msgs), err)
	}
	added := make([]bool, len(msgs))
	err = db.update(func(tx *bolt.Tx) error {
		anyNew := false
		rooms := map[string]*roomBatch{}
		var order []*roomBatch
		for i := range msgs {
			b := rooms[msgs[i].Room]
			if b == nil {
				r, err := roomBuckets(tx, k, msgs[i].Room, true)
				if err != nil {
					return err
				}
				b = &roomBatch{r: r}
				rooms[msgs[i].Room] = b
				order = append(order, b)
			}
			ok, err := b.add(&msgs[i])
			if err != nil {
				return err
			}
			added[i], anyNew = ok, anyNew || ok
		}
		for _, b := range order {
			if err := b.finish(); err != nil {
				return err
			}
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
	err := db.viewRoom(room, func(r *roomTx) error {
		st.MaxClock, st.Count = u64(r.m.Get(keyClock)), u64(r.m.Get(keyCount))
		return r.h.ForEach(func(k, v []byte) error {
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

// viewRoom runs fn on room's buckets in a read transaction; a room with no
// messages does not call fn.
func (db *DB) viewRoom(room string, fn func(r *roomTx) error) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	return db.view(func(tx *bolt.Tx) error {
		r, err := roomBuckets(tx, k, room, false)
		if err != nil || r == nil {
			return err
		}
		return fn(r)
	})
}

// MessagesAfter returns up to limit messages of author in room with sequence
// numbers above after, in sequence order (what a peer missed). Forgotten
// messages are skipped; a record that does not open is returned Damaged.
func (db *DB) MessagesAfter(room string, author [AuthorKeySize]byte, after uint64, limit int) ([]StoredMessage, error) {
	var out []StoredMessage
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.a.Cursor()
		for k, v := c.Seek(authorKey(author, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
			if !bytes.HasPrefix(k, author[:]) {
				break
			}
			if isForgotten(v) {
				continue
			}
			seq := u64(k[AuthorKeySize:])
			m, err := r.stored(room, clockOf(v), author, seq)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading room %q: %w", room, err)
	}
	return out, nil
}

// stored reads and opens the message (clock, author, seq), which the index
// names: a missing record is ErrCorrupt, one that does not open is
// returned with Damaged set and its sealed bytes as Raw.
func (r *roomTx) stored(room string, clock uint64, author [AuthorKeySize]byte, seq uint64) (StoredMessage, error) {
	okey := orderKey(clock, author, seq)
	sealed := r.o.Get(okey)
	if sealed == nil {
		return StoredMessage{}, fmt.Errorf("%w: room %q: index names a missing message", ErrCorrupt, room)
	}
	m := StoredMessage{Room: room, Author: author, Seq: seq, Clock: clock}
	raw, err := r.openMsg(okey, sealed)
	if err != nil {
		m.Raw, m.Damaged = bytes.Clone(sealed), true
		return m, nil
	}
	m.Raw = raw
	return m, nil
}

// LastSeq returns the highest sequence number of author stored in room (0
// if none), gaps or not, forgotten or not.
func (db *DB) LastSeq(room string, author [AuthorKeySize]byte) (uint64, error) {
	var last uint64
	err := db.viewRoom(room, func(r *roomTx) error {
		c := r.a.Cursor()
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

// MessageRooms lists the rooms that hold messages, sorted. A room whose
// sealed name does not open is ErrDamaged.
func (db *DB) MessageRooms() ([]string, error) {
	k, err := db.ring()
	if err != nil {
		return nil, err
	}
	var rooms []string
	err = db.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketMessages)
		if top == nil {
			return fmt.Errorf("%w: messages bucket missing", ErrCorrupt)
		}
		return top.ForEachBucket(func(id []byte) error {
			m := top.Bucket(id).Bucket(bktRoomMeta)
			if m == nil {
				return fmt.Errorf("%w: a room is missing a bucket", ErrCorrupt)
			}
			name, err := k.open(m.Get(keyRoomName), recordAD(keyRoomName, bucketMessages, id, bktRoomMeta))
			if err != nil {
				return fmt.Errorf("a room's name: %w", err)
			}
			rooms = append(rooms, string(name))
			return nil
		})
	})
	slices.Sort(rooms)
	return rooms, err
}
