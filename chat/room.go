package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Room name rules: 1 to MaxRoomLen characters from a–z, 0–9, '-', '_' and
// '.', starting with a letter or digit. Names are case-folded, so "Lobby" and
// "lobby" are one room.
const (
	MaxRoomLen  = 32
	DefaultRoom = "lobby"
	// MaxRooms bounds the rooms one node joins or one peer may announce
	// (PROTOCOL.md 5.1): 1,024 rooms of at most 32 bytes fit one rooms-more
	// frame (about 33 KB), and a peer's room set costs at most about 80 KB.
	MaxRooms = 1024
	// helloRooms bounds the rooms a hello names, and what a node before
	// rooms-more (5.15) accepts from a peer in all: the rest go in
	// rooms-more frames, to peers that sent one.
	helloRooms = 64
)

// ErrRoomName is returned for a room name that breaks the rules.
var ErrRoomName = errors.New("invalid room name")

// NormalizeRoom case-folds and validates a room name typed by a person.
func NormalizeRoom(s string) (string, error) {
	r := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	if err := ValidateRoom(r); err != nil {
		return "", err
	}
	return r, nil
}

// ValidateRoom checks a room name in its normal form.
func ValidateRoom(r string) error {
	if r == "" || len(r) > MaxRoomLen {
		return fmt.Errorf("%w %q: 1 to %d characters", ErrRoomName, r, MaxRoomLen)
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_' || c == '.')
		if !ok {
			return fmt.Errorf("%w %q: use a–z, 0–9, '-', '_' and '.', starting with a letter or digit", ErrRoomName, r)
		}
	}
	return nil
}
