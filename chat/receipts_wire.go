package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The receipts and presence frames (PROTOCOL.md 5.11).

// stored is the body of a stored frame: what the sender holds durably of
// each listed author in a room, without gaps (the entries of a sync
// request, 5.5, with the same layout and rules).
//
//	room length u8 | room | count u16 (1..4096) | (author [32] | head u64)*
type stored = syncRequest

func decodeStoredFrame(b []byte) (stored, error) {
	s, err := decodeSyncRequest(b)
	if err == nil && len(s.Heads) == 0 {
		return s, fmt.Errorf("%w: a stored frame with no authors", ErrFrame)
	}
	return s, err
}

// readMark is the body of a read frame: the position in the room's total
// order (5.3) of the last message the sender read there.
//
//	room length u8 | room | clock u64 (≥ 1) | author [32] | seq u64 (≥ 1)
type readMark struct {
	Room string
	Pos  storage.Position
}

func (r readMark) encode() []byte {
	b := appendRoom(nil, r.Room)
	b = binary.BigEndian.AppendUint64(b, r.Pos.Clock)
	b = append(b, r.Pos.Author[:]...)
	return binary.BigEndian.AppendUint64(b, r.Pos.Seq)
}

func decodeReadMark(b []byte) (readMark, error) {
	rd := reader{b: b}
	r := readMark{Room: rd.room()}
	r.Pos.Clock = rd.u64()
	copy(r.Pos.Author[:], rd.bytes(lcrypto.KeySize))
	r.Pos.Seq = rd.u64()
	if err := rd.done(); err != nil {
		return r, err
	}
	if r.Pos.Clock == 0 || r.Pos.Seq == 0 {
		return r, fmt.Errorf("%w: a read position with clock or seq 0", ErrFrame)
	}
	return r, nil
}

// Presence is what a node says of its user: online, away or busy.
type Presence uint8

// The presence states, as on the wire.
const (
	Online Presence = 0
	Away   Presence = 1
	Busy   Presence = 2
)

// MaxStatusBytes bounds a presence's status line.
const MaxStatusBytes = 128

var presenceNames = []string{"online", "away", "busy"}

func (p Presence) String() string {
	if int(p) < len(presenceNames) {
		return presenceNames[p]
	}
	return fmt.Sprintf("presence-%d", uint8(p))
}

// ParsePresence reads "online", "away" or "busy".
func ParsePresence(s string) (Presence, error) {
	for i, n := range presenceNames {
		if s == n {
			return Presence(i), nil
		}
	}
	return 0, fmt.Errorf("presence %q: use online, away or busy", s)
}

// CheckStatus validates a status line: at most MaxStatusBytes of UTF-8
// without control or format characters; empty means none.
func CheckStatus(s string) error {
	if len(s) > MaxStatusBytes {
		return fmt.Errorf("status: %d bytes, at most %d", len(s), MaxStatusBytes)
	}
	if !utf8.ValidString(s) {
		return errors.New("status: not valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("status: a control character (%U) at byte %d", r, i)
		}
	}
	return nil
}

// presence is the body of a presence frame.
//
//	state u8 (0 online, 1 away, 2 busy) | status length u8 (≤ 128) | status
type presence struct {
	State  Presence
	Status string
}

func (p presence) encode() []byte {
	return append([]byte{byte(p.State), byte(len(p.Status))}, p.Status...)
}

func decodePresence(b []byte) (presence, error) {
	r := reader{b: b}
	p := presence{State: Presence(r.u8())}
	n := int(r.u8())
	p.Status = string(r.bytes(n))
	if err := r.done(); err != nil {
		return p, err
	}
	if p.State > Busy {
		return p, fmt.Errorf("%w: presence state %d", ErrFrame, p.State)
	}
	if err := CheckStatus(p.Status); err != nil {
		return p, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return p, nil
}

// The typing frame's body is one room (length u8 | room), like room-join.

// ErrPresence is returned for a presence state that is not online, away
// or busy.
var ErrPresence = errors.New("presence: use online, away or busy")
