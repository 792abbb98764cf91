package chat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/names"
)

// Limits of the chat frames (PROTOCOL.md, section 5).
const (
	helloVersion = 1
	// MaxSyncAuthors bounds the version vector of one sync request.
	MaxSyncAuthors = 4096
	// syncBatchMessages and syncBatchBytes bound one sync response frame
	// we send: at most 256 messages, and the whole encoded body (header
	// included) at most 262144 bytes. A batch is sent when the next message
	// would break either bound, so it is as full as they allow. Receivers
	// take any batch up to the frame bound (maxFrameSize).
	syncBatchMessages = 256
	syncBatchBytes    = 256 << 10
)

// ErrFrame is returned for a malformed chat frame body.
var ErrFrame = errors.New("malformed frame")

// hello is the first frame after both trust checks: who we are and which rooms
// we are in.
//
//	version u8 (1) | nick length u8 | nick | room count u8 | (length u8 | room)*
type hello struct {
	Nick  string
	Rooms []string
}

func (h hello) encode() []byte {
	b := []byte{helloVersion, byte(len(h.Nick))}
	b = append(b, h.Nick...)
	b = append(b, byte(len(h.Rooms)))
	for _, r := range h.Rooms {
		b = appendRoom(b, r)
	}
	return b
}

func decodeHello(b []byte) (hello, error) {
	var h hello
	r := reader{b: b}
	if v := r.u8(); v != helloVersion {
		return h, fmt.Errorf("%w: hello version %d", ErrFrame, v)
	}
	h.Nick = string(r.bytes(int(r.u8())))
	if err := CheckNick(h.Nick); r.err == nil && err != nil {
		return h, err
	}
	n := int(r.u8())
	if n > helloRooms {
		return h, fmt.Errorf("%w: %d rooms", ErrFrame, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		h.Rooms = append(h.Rooms, r.room())
	}
	return h, r.done()
}

// CheckNick validates a nickname by the rule of every name lanchat shows
// (internal/names: at most 64 bytes of UTF-8, no control or format
// characters, no leading or trailing space).
func CheckNick(s string) error {
	if err := names.Check(s); err != nil {
		return fmt.Errorf("nickname: %w", err)
	}
	return nil
}

// The nick frame's body: nick length u8 | nick (the hello's rules).
func encodeNick(nick string) []byte {
	return append([]byte{byte(len(nick))}, nick...)
}

func decodeNick(b []byte) (string, error) {
	r := reader{b: b}
	nick := string(r.bytes(int(r.u8())))
	if err := r.done(); err != nil {
		return "", err
	}
	if err := CheckNick(nick); err != nil {
		return "", fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return nick, nil
}

// roomFrame is the body of room join and leave frames: length u8 | room.
func encodeRoomFrame(room string) []byte { return appendRoom(nil, room) }

func decodeRoomFrame(b []byte) (string, error) {
	r := reader{b: b}
	room := r.room()
	return room, r.done()
}

// syncRequest asks for what the sender misses in a room: per author, the
// highest sequence number it holds without gaps.
//
//	room length u8 | room | count u16 | (author [32] | head u64)*
type syncRequest struct {
	Room  string
	Heads map[lcrypto.IdentityKey]uint64
	// only, when set, limits the answer to these authors (a sync check
	// found their messages differ); it is never on the wire.
	only map[lcrypto.IdentityKey]bool
}

func (s syncRequest) encode() []byte {
	b := appendRoom(nil, s.Room)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Heads)))
	for _, v := range sortedHeads(s.Heads) {
		b = append(b, v.key[:]...)
		b = binary.BigEndian.AppendUint64(b, v.head)
	}
	return b
}

func decodeSyncRequest(b []byte) (syncRequest, error) {
	r := reader{b: b}
	s := syncRequest{Room: r.room(), Heads: map[lcrypto.IdentityKey]uint64{}}
	n := int(r.u16())
	if n > MaxSyncAuthors {
		return s, fmt.Errorf("%w: %d authors in a sync request", ErrFrame, n)
	}
	var prev []byte
	for i := 0; i < n && r.err == nil; i++ {
		var k lcrypto.IdentityKey
		copy(k[:], r.bytes(lcrypto.KeySize))
		if r.err == nil && prev != nil && bytes.Compare(prev, k[:]) >= 0 {
			return s, fmt.Errorf("%w: sync request authors not in ascending order", ErrFrame)
		}
		prev = k[:]
		s.Heads[k] = r.u64()
	}
	return s, r.done()
}

// syncResponse carries a batch of messages for a room; Done marks the last.
//
//	room length u8 | room | flags u8 (bit 0: done) | count u16 | (length u16 | message)*
type syncResponse struct {
	Room string
	Done bool
	Msgs [][]byte
}

func (s syncResponse) encode() []byte {
	b := appendRoom(nil, s.Room)
	var flags byte
	if s.Done {
		flags = 1
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Msgs)))
	for _, m := range s.Msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// syncResponseHeader is the size of a sync response body without its
// messages: room length u8 | room | flags u8 | count u16.
func syncResponseHeader(room string) int { return 1 + len(room) + 1 + 2 }

func decodeSyncResponse(b []byte) (syncResponse, error) {
	r := reader{b: b}
	s := syncResponse{Room: r.room()}
	flags := r.u8()
	if flags&^1 != 0 {
		return s, fmt.Errorf("%w: unknown sync flags %#x", ErrFrame, flags)
	}
	s.Done = flags&1 != 0
	n := int(r.u16())
	if n > syncBatchMessages {
		return s, fmt.Errorf("%w: %d messages in a sync batch", ErrFrame, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		l := int(r.u16())
		if l > MaxMessageSize {
			return s, fmt.Errorf("%w: %d-byte message", ErrFrame, l)
		}
		s.Msgs = append(s.Msgs, r.bytes(l))
	}
	return s, r.done()
}

type headEntry struct {
	key  lcrypto.IdentityKey
	head uint64
}

// sortedHeads returns the heads in key order, so encodings are deterministic.
func sortedHeads(h map[lcrypto.IdentityKey]uint64) []headEntry {
	out := make([]headEntry, 0, len(h))
	for k, v := range h {
		out = append(out, headEntry{k, v})
	}
	slices.SortFunc(out, func(a, b headEntry) int { return bytes.Compare(a.key[:], b.key[:]) })
	return out
}

func appendRoom(b []byte, room string) []byte {
	b = append(b, byte(len(room)))
	return append(b, room...)
}

// reader decodes big-endian fields, remembering the first error; every length
// is checked against what is left before it is used.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", ErrFrame)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) room() string {
	room := string(r.bytes(int(r.u8())))
	if r.err == nil {
		if err := ValidateRoom(room); err != nil {
			r.err = fmt.Errorf("%w: %w", ErrFrame, err)
		}
	}
	return room
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrFrame, len(r.b))
	}
	return r.err
}
