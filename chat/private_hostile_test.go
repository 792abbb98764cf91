package chat

import (
	"context"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// recvUntil reads frames from link until one satisfies stop, returning
// every frame read; it fails the test after waitTimeout.
func recvUntil(t *testing.T, link *session.Link, stop func(session.Frame) bool) []session.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var got []session.Frame
	for {
		f, err := link.Recv(ctx)
		if err != nil {
			t.Fatalf("reading frames: %v (after %d)", err, len(got))
		}
		got = append(got, f)
		if stop(f) {
			return got
		}
	}
}

// A hostile member (no admin) sends membership operations by hand: forged
// ones, ones the rules refuse, and another pair's direct message. Only what
// the rules allow is taken; and a trusted non-member that asks for the
// room gets nothing.
func TestPrivateRoomHostileOperations(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory, eve := newID(t), newID(t)
	c.trustAll(alice, bob)
	if _, err := c.openStore(alice).Trust(eve.Fingerprint(), "eve"); err != nil {
		t.Fatal(err)
	}
	link := c.hostileMember(alice, mallory)
	ctx := context.Background()
	room, err := alice.node.CreateRoom(ctx, "design")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []lcrypto.IdentityKey{bob.id.Public(), mallory.Public()} {
		v, err := alice.node.Invite(ctx, room, k)
		mustOp(t, "invite", v, err)
	}
	// Mallory is told: a welcome with the operations.
	frames := recvUntil(t, link, func(f session.Frame) bool { return f.Type == frameConvoWelcome })
	w, err := decodeWelcome(frames[len(frames)-1].Body)
	if err != nil || w.Room != room || len(w.Ops) < 2 {
		t.Fatalf("welcome: %+v, %v", w, err)
	}

	at := func(id *lcrypto.Identity, seq, clock uint64, body string) Message {
		m := Message{Room: room, Seq: seq, Clock: clock, Time: time.Now(), Body: body}
		m.Sign(id)
		return m
	}
	removeBob := at(mallory, 1, 100, Op{Kind: OpRemove, Subject: bob.id.Public()}.Encode()) // not an admin
	promoteSelf := at(mallory, 2, 101, Op{Kind: OpPromote, Subject: mallory.Public()}.Encode())
	forged := at(mallory, 3, 102, Op{Kind: OpRemove, Subject: bob.id.Public()}.Encode())
	forged.Author = alice.id.Public() // "by alice": the signature is mallory's
	byOutsider := at(eve, 1, 103, Op{Kind: OpInvite, Subject: eve.Public()}.Encode())
	othersDM := Message{Room: DirectID(alice.id.Fingerprint(), bob.id.Fingerprint()), Seq: 1, Clock: 1, Time: time.Now(), Body: "bob to alice, via mallory"}
	othersDM.Sign(bob.id)
	valid := at(mallory, 3, 104, "mallory's real message")
	for _, m := range []Message{removeBob, promoteSelf, forged, byOutsider, othersDM, valid} {
		if err := link.Send(frameConvoMessage, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "alice to take mallory's real message", func() bool { return hasBodies(alice.history(t, room), "mallory's real message") })
	if got, want := alice.members(t, room), roleList(alice, "admin", bob, "member"); !slices.Equal(got[:2], want) || len(got) != 3 {
		t.Fatalf("alice's members: %v", got)
	}
	ms, err := alice.node.RoomMembers(room)
	if err != nil || ms.IsAdmin(mallory.Public()) || !ms.IsMember(bob.id.Public()) || ms.IsMember(eve.Public()) {
		t.Fatalf("mallory's operations changed the membership: %v", err)
	}
	if got := alice.convoBodies(t, othersDM.Room); len(got) != 0 {
		t.Fatalf("alice took a direct message of hers with bob from mallory: %q", got)
	}
	if stored, _ := alice.store.MessagesAfter(room, eve.Public(), 0, 10); len(stored) != 0 {
		t.Fatal("alice stored an outsider's operation")
	}

	// Eve, trusted by alice but no member, asks for the room and for
	// alice's and bob's conversation: empty answers, no welcome.
	eveLink := rawMember(t, alice, eve)
	for _, r := range []string{room, othersDM.Room} {
		req := syncRequest{Room: r, Heads: map[lcrypto.IdentityKey]uint64{}}
		if err := eveLink.Send(frameConvoSyncRequest, req.encode()); err != nil {
			t.Fatal(err)
		}
	}
	answered := map[string]bool{}
	got := recvUntil(t, eveLink, func(f session.Frame) bool {
		if f.Type == frameConvoSyncResponse {
			if resp, err := decodeSyncResponse(f.Body); err == nil && resp.Done {
				answered[resp.Room] = true
			}
		}
		return answered[room] && answered[othersDM.Room]
	})
	for _, f := range got {
		switch f.Type {
		case frameConvoWelcome, frameConvoMessage:
			t.Fatalf("eve was sent a %s frame", frameName(f.Type))
		case frameConvoSyncResponse:
			if resp, _ := decodeSyncResponse(f.Body); len(resp.Msgs) != 0 {
				t.Fatalf("eve was sent %d messages of %s", len(resp.Msgs), resp.Room)
			}
		}
	}
}

// A version-1 peer (it speaks only the open-room frames and skips the
// others, PROTOCOL.md 4.2): a direct message and an invite to it cost
// nothing but frames it skips; the link stays and open rooms work both
// ways.
func TestVersion1PeerKeepsOpenRooms(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	old := newID(t)
	link := c.hostileMember(alice, old)
	ctx := context.Background()
	if _, _, err := alice.node.SendDirect(ctx, old.Fingerprint(), "to an old node"); err != nil {
		t.Fatal(err)
	}
	room, err := alice.node.CreateRoom(ctx, "design")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Invite(ctx, room, old.Public()); err != nil {
		t.Fatal(err)
	}
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "old node says hi"}
	m.Sign(old)
	if err := link.Send(frameChat, m.Encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice to take the old node's room message", func() bool { return hasBodies(alice.history(t, "lobby"), "old node says hi") })
	alice.send(t, "lobby", "alice to everyone")
	newTypes := 0
	recvUntil(t, link, func(f session.Frame) bool {
		if f.Type > frameNick {
			newTypes++ // what a version-1 node skips
		}
		if f.Type != frameChat {
			return false
		}
		got, err := DecodeMessage(f.Body)
		return err == nil && got.Body == "alice to everyone"
	})
	if newTypes == 0 {
		t.Error("the old node was sent no conversation frame: the test shows nothing")
	}
	select {
	case <-link.Done():
		t.Fatalf("the link ended: %v", link.Err())
	default:
	}
}

// A trusted peer that creates rooms without end and invites this node to
// each: it holds at most MaxPrivateRooms, and the link stays.
func TestPrivateRoomsAreBounded(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for i := 0; i < MaxPrivateRooms+8; i++ {
		var nonce [NonceSize]byte
		nonce[0], nonce[1] = byte(i), byte(i>>8)
		room := PrivateID(mallory.Public(), nonce)
		create := Message{Room: room, Seq: 1, Clock: 1, Time: time.Now(), Body: Op{Kind: OpCreate, Nonce: nonce, Name: "spam"}.Encode()}
		create.Sign(mallory)
		invite := Message{Room: room, Seq: 2, Clock: 2, Time: time.Now(), Body: Op{Kind: OpInvite, Subject: alice.id.Public()}.Encode()}
		invite.Sign(mallory)
		if err := link.Send(frameConvoWelcome, welcome{Room: room, Ops: [][]byte{create.Encode(), invite.Encode()}}.encode()); err != nil {
			t.Fatal(err)
		}
	}
	marker := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "after the welcomes"}
	marker.Sign(mallory)
	if err := link.Send(frameChat, marker.Encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice to take the marker", func() bool { return hasBodies(alice.history(t, "lobby"), "after the welcomes") })
	if got := len(alice.node.PrivateRooms()); got != MaxPrivateRooms {
		t.Fatalf("alice holds %d private rooms, want the bound %d", got, MaxPrivateRooms)
	}
	if _, err := alice.node.CreateRoom(context.Background(), "mine"); err == nil {
		t.Error("alice created a room beyond the bound")
	}
}

// A member invited while its first message overtook the invitation: the
// message is dropped where the invitation is not held yet, and fetched
// from the invitee as soon as the invitation arrives (not at the next
// link).
func TestInviteeIsAskedWhenItsInvitationArrives(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	carol := newID(t)
	c.trustAll(alice, bob)
	for _, tn := range []*testNode{alice, bob} {
		if _, err := c.openStore(tn).Trust(carol.Fingerprint(), "carol"); err != nil {
			t.Fatal(err)
		}
		c.start(tn)
	}
	c.waitLinked(alice, bob)
	link := rawMember(t, bob, carol) // carol: linked to bob only, by hand
	ctx := context.Background()
	room, err := alice.node.CreateRoom(ctx, "design")
	if err != nil {
		t.Fatal(err)
	}
	v, err := alice.node.Invite(ctx, room, bob.id.Public())
	mustOp(t, "invite bob", v, err)
	waitFor(t, "bob to be a member", func() bool { return bob.node.convo(room) != nil })
	early := Message{Room: room, Seq: 1, Clock: 50, Time: time.Now(), Body: "carol, early"}
	early.Sign(carol)
	if err := link.Send(frameConvoMessage, early.Encode()); err != nil {
		t.Fatal(err)
	}
	v, err = alice.node.Invite(ctx, room, carol.Public())
	mustOp(t, "invite carol", v, err)
	recvUntil(t, link, func(f session.Frame) bool {
		if f.Type != frameConvoSyncRequest {
			return false
		}
		req, err := decodeSyncRequest(f.Body)
		return err == nil && req.Room == room
	})
	if got := alice.convoBodies(t, room); slices.Contains(got, "carol, early") {
		t.Fatal("alice holds carol's message: it did not go through bob")
	}
}
