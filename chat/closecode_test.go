package chat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session"
)

// waitClosedBy waits for link to end and returns the close frame the node
// sent (PROTOCOL.md 4.3: a chat-layer protocol error closes with code 2,
// the code of link-level protocol errors).
func waitClosedBy(t *testing.T, link *session.Link) *session.CloseError {
	t.Helper()
	waitClosed(t, "the node to close the link", link.Done())
	var ce *session.CloseError
	if err := link.Err(); !errors.As(err, &ce) || !ce.Remote {
		t.Fatalf("link ended with %v, want a close frame from the node", err)
	}
	return ce
}

// A member that breaks the chat protocol gets a close frame with code 2
// (protocol error) and a reason naming what was wrong, like a link-level
// protocol error; a member that only sends a bad signature keeps its link.
func TestChatProtocolErrorsCloseWithCode2(t *testing.T) {
	tooManyRooms := func(link *session.Link) error {
		for i := 0; i <= MaxRooms; i++ {
			if err := link.Send(frameRoomJoin, encodeRoomFrame(fmt.Sprintf("room%d", i))); err != nil {
				return err
			}
		}
		return nil
	}
	unsorted := syncRequest{Room: "lobby"}.encode()
	unsorted = append(unsorted[:len(unsorted)-2], 0, 2)
	unsorted = append(unsorted, make([]byte, 40)...)
	unsorted = append(unsorted, make([]byte, 40)...) // two equal authors: not ascending
	for _, tc := range []struct {
		name   string
		send   func(*session.Link) error
		reason string
	}{
		{"malformed chat frame", func(l *session.Link) error { return l.Send(frameChat, []byte{1, 2, 3}) }, "malformed message"},
		{"malformed sync request", func(l *session.Link) error { return l.Send(frameSyncRequest, unsorted) }, "malformed frame"},
		{"malformed sync response", func(l *session.Link) error {
			return l.Send(frameSyncResponse, []byte{5, 'l', 'o', 'b', 'b', 'y', 2})
		}, "malformed frame"},
		{"bad room in a join", func(l *session.Link) error { return l.Send(frameRoomJoin, []byte{5, 'L', 'O', 'B', 'B', 'Y'}) }, "malformed frame"},
		{"too many rooms", tooManyRooms, fmt.Sprintf("more than %d rooms", MaxRooms)},
		{"too many rooms in rooms-more frames", func(l *session.Link) error {
			rooms := make([]string, MaxRooms)
			for i := range rooms {
				rooms[i] = fmt.Sprintf("room%d", i)
			}
			if err := l.Send(frameRoomsMore, encodeRoomsMore(rooms)); err != nil {
				return err
			}
			return l.Send(frameRoomsMore, encodeRoomsMore([]string{"one-more"}))
		}, fmt.Sprintf("more than %d rooms", MaxRooms)},
		{"malformed rooms-more", func(l *session.Link) error {
			return l.Send(frameRoomsMore, []byte{1, 0, 1, 5, 'L', 'O', 'B', 'B', 'Y'})
		}, "malformed frame"},
		{"rooms-more version 0", func(l *session.Link) error { return l.Send(frameRoomsMore, []byte{0, 0, 0}) }, "malformed frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			alice := c.add("alice")
			link := c.hostileMember(alice, newID(t))
			if err := tc.send(link); err != nil {
				t.Fatal(err)
			}
			ce := waitClosedBy(t, link)
			if ce.Code != session.CloseProtocolError || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("closed with code %d (%s), reason %q; want code %d, a reason with %q",
					ce.Code, ce.Code, ce.Reason, session.CloseProtocolError, tc.reason)
			}
		})
	}
}

// A malformed hello is a protocol error too: code 2, reason "malformed hello".
func TestMalformedHelloClosesWithCode2(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	if _, err := c.openStore(alice).Trust(mallory.Fingerprint(), "mallory"); err != nil {
		t.Fatal(err)
	}
	cfg := c.config(alice)
	cfg.NoDiscovery = true
	c.startWith(alice, cfg)
	for _, body := range [][]byte{
		{2, 0, 0},         // unknown version
		{1, 0, 1, 5, 'L'}, // truncated room
		{1, 0, 0, 0xff},   // trailing byte
		{1, 1, '\n', 0},   // control character in the nickname
	} {
		link := rawMemberHello(t, alice, mallory, body)
		ce := waitClosedBy(t, link)
		if ce.Code != session.CloseProtocolError || !strings.HasPrefix(ce.Reason, "malformed hello") {
			t.Fatalf("hello %x: closed with code %d, reason %q; want code 2, \"malformed hello…\"", body, ce.Code, ce.Reason)
		}
	}
}

// Two links of one pair dialled by the same side at about the same time:
// the node keeps the one with the smaller channel binding (the handshake
// hash both sides hold) and closes the other with code 0, "duplicate link"
// (PROTOCOL.md 5.7).
func TestDuplicateLinkKeepsSmallerChannelBinding(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	first := c.hostileMember(alice, mallory)
	second := rawMember(t, alice, mallory)
	keep, lose := first, second
	if bytes.Compare(second.ChannelBinding(), first.ChannelBinding()) < 0 {
		keep, lose = second, first
	}
	ce := waitClosedBy(t, lose)
	if ce.Code != session.CloseNormal || ce.Reason != "duplicate link" {
		t.Fatalf("the link with the larger binding closed with code %d, reason %q; want 0, \"duplicate link\"", ce.Code, ce.Reason)
	}
	waitFor(t, "alice to hold one link", func() bool { return len(alice.node.LinkedPeers()) == 1 })
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "over the kept link"}
	m.Sign(mallory)
	if err := keep.Send(frameChat, m.Encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message over the kept link", func() bool { return hasBodies(alice.history(t, "lobby"), "over the kept link") })
	select {
	case <-keep.Done():
		t.Fatalf("the link with the smaller binding ended too: %v", keep.Err())
	default:
	}
}
