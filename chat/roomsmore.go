package chat

import (
	"encoding/binary"
	"fmt"
)

// Rooms beyond the hello's (PROTOCOL.md 5.15). A hello names at most
// helloRooms rooms, and a node before rooms-more closes the link of a peer
// that joins more. So a node tells a peer about its further rooms only
// once that peer has sent a rooms-more frame itself: until then it treats
// the peer as an older node, keeps the set of rooms that peer knows of
// (link.told) and never lets it grow past helloRooms.

// roomsMoreVersion is the version byte of the rooms-more frame.
const roomsMoreVersion = 1

// encodeRoomsMore is a rooms-more frame body:
//
//	version u8 (1) | count u16 (≤ MaxRooms) | count × room (length u8 | name)
func encodeRoomsMore(rooms []string) []byte {
	b := []byte{roomsMoreVersion}
	b = binary.BigEndian.AppendUint16(b, uint16(len(rooms)))
	for _, r := range rooms {
		b = appendRoom(b, r)
	}
	return b
}

// decodeRoomsMore decodes a rooms-more body. ok is false for a later
// version, which the receiver skips whole; version 0, a count above
// MaxRooms, a bad room name or trailing bytes are malformed.
func decodeRoomsMore(b []byte) (rooms []string, ok bool, err error) {
	r := reader{b: b}
	switch v := r.u8(); {
	case r.err != nil || v == 0:
		return nil, false, fmt.Errorf("%w: rooms-more version %d", ErrFrame, v)
	case v > roomsMoreVersion:
		return nil, false, nil
	}
	n := int(r.u16())
	if n > MaxRooms {
		return nil, false, fmt.Errorf("%w: %d rooms in a rooms-more frame", ErrFrame, n)
	}
	rooms = make([]string, 0, min(n, len(r.b)/2))
	for i := 0; i < n && r.err == nil; i++ {
		rooms = append(rooms, r.room())
	}
	if err := r.done(); err != nil {
		return nil, false, err
	}
	return rooms, true, nil
}

// sendRoomsMore starts a new link with an empty rooms-more frame: it
// tells the peer that this node takes more than helloRooms rooms from it.
// The further rooms follow once the peer says the same (widen).
func (n *Node) sendRoomsMore(l *link) {
	if n.cfg.legacyRooms {
		return
	}
	if err := l.sess.Send(frameRoomsMore, encodeRoomsMore(nil)); err != nil {
		n.logf("rooms-more to %s: %v", l.key, err)
	}
}

// peerRoomLimit is how many rooms a peer may be in, as far as this node
// takes it.
func (n *Node) peerRoomLimit() int {
	if n.cfg.legacyRooms {
		return helloRooms
	}
	return MaxRooms
}

// announceRoom tells the peer that this node joined (or left) room r, if
// the peer may hear it: a peer that has sent no rooms-more frame hears of
// at most helloRooms rooms; a join beyond them waits for widen.
func (l *link) announceRoom(r string, join bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.told != nil {
		if join == l.told[r] || join && len(l.told) >= helloRooms {
			return // known already, never known, or withheld for now
		}
		if join {
			l.told[r] = true
		} else {
			delete(l.told, r)
		}
	}
	t := frameRoomJoin
	if !join {
		t = frameRoomLeave
	}
	if err := l.sess.Send(t, encodeRoomFrame(r)); err != nil {
		l.node.logf("telling %s about room %s: %v", l.key, r, err)
	}
}

// widen: the peer sent a rooms-more frame, so it takes all our rooms. The
// first time, the rooms it has not heard of go to it in rooms-more frames.
// Under l.mu, so a join or leave racing with it is sent after them.
func (l *link) widen() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.told == nil {
		return
	}
	var rest []string
	for _, r := range l.node.Rooms() {
		if !l.told[r] {
			rest = append(rest, r)
		}
	}
	l.told = nil
	for len(rest) > 0 {
		k := min(len(rest), MaxRooms)
		if err := l.sess.Send(frameRoomsMore, encodeRoomsMore(rest[:k])); err != nil {
			l.node.logf("rooms-more to %s: %v", l.key, err)
			return
		}
		rest = rest[k:]
	}
}

// handleRoomsMore takes a peer's further rooms, as if its hello had named
// them: each shared one is synced.
func (l *link) handleRoomsMore(body []byte) error {
	n := l.node
	if n.cfg.legacyRooms {
		n.stats.skipped.Add(1)
		return nil
	}
	rooms, ok, err := decodeRoomsMore(body)
	if err != nil {
		return err
	}
	if !ok {
		n.stats.skipped.Add(1) // a later version: skipped, as an unknown frame
		return nil
	}
	l.widen()
	for _, r := range rooms {
		changed, err := l.setRoom(r, true)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		n.memberSeen(r, l.key, true)
		if n.room(r) != nil {
			l.requestSync(r)
			n.sendReadMark(r, l, nil)
		}
	}
	return nil
}
