package chat

import (
	"bytes"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// convoBodiesIn returns the bodies of the convo-message and lobby chat
// frames among frames.
func convoBodiesIn(frames []session.Frame) []string {
	var out []string
	for _, f := range frames {
		if f.Type != frameConvoMessage && f.Type != frameChat {
			continue
		}
		if m, err := DecodeMessage(f.Body); err == nil {
			out = append(out, m.Body)
		}
	}
	return out
}

// The admin's removal of mallory and its next message reach carol over two
// links, the message first (the removal still on its way: in the network,
// or in carol's other delivery line). Carol must not pass the message on
// to mallory before she has applied every earlier message of its author:
// here, the removal. Once the removal arrives and applies, the message goes
// to the remaining members, still not to mallory.
func TestPrivateRoomRemovalRacesTheNextMessage(t *testing.T) {
	c := newCluster(t)
	carol := c.add("carol")
	alice, bob, dave, mallory := newID(t), newID(t), newID(t), newID(t)
	store := c.openStore(carol)
	for name, id := range map[string]*lcrypto.Identity{"alice": alice, "bob": bob, "dave": dave} {
		if _, err := store.Trust(id.Fingerprint(), name); err != nil {
			t.Fatal(err)
		}
	}
	linkM := c.hostileMember(carol, mallory) // starts carol (no discovery)
	linkX, linkY := rawMember(t, carol, bob), rawMember(t, carol, dave)

	// alice (who never links) creates the room and invites everyone.
	var nonce [NonceSize]byte
	nonce[0] = 7
	room := PrivateID(alice.Public(), nonce)
	at := func(id *lcrypto.Identity, seq, clock uint64, body string) Message {
		m := Message{Room: room, Seq: seq, Clock: clock, Time: time.Now(), Body: body}
		m.Sign(id)
		return m
	}
	ops := [][]byte{at(alice, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "ops"}.Encode()).Encode()}
	for i, k := range []lcrypto.IdentityKey{carol.id.Public(), bob.Public(), dave.Public(), mallory.Public()} {
		ops = append(ops, at(alice, uint64(2+i), uint64(2+i), Op{Kind: OpInvite, Subject: k}.Encode()).Encode())
	}
	if err := linkX.Send(frameConvoWelcome, welcome{Room: room, Ops: ops}.encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "carol to hold the room with five members", func() bool {
		ms, err := carol.node.RoomMembers(room)
		return err == nil && len(ms.Members()) == 5
	})

	remove := at(alice, 6, 10, Op{Kind: OpRemove, Subject: mallory.Public(), Cut: 0}.Encode())
	later := at(alice, 7, 11, "alice-after-removal")
	marker := at(dave, 1, 12, "dave-marker") // dave's: it goes to mallory (no removal here yet)

	// The message first, on dave's link; the removal is still on its way.
	for _, m := range []Message{later, marker} {
		if err := linkY.Send(frameConvoMessage, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	// Carol's line for dave's link handles the two in order: once the
	// marker reaches mallory, the message's turn is over.
	got := recvUntil(t, linkM, func(f session.Frame) bool {
		m, err := DecodeMessage(f.Body)
		return f.Type == frameConvoMessage && err == nil && m.Body == "dave-marker"
	})
	for _, b := range convoBodiesIn(got) {
		if b == "alice-after-removal" {
			t.Fatal("carol passed alice's message to mallory before she held alice's earlier removal of her")
		}
	}

	// The removal arrives on bob's link and applies.
	if err := linkX.Send(frameConvoMessage, remove.Encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "carol to apply mallory's removal", func() bool {
		ms, err := carol.node.RoomMembers(room)
		return err == nil && !ms.IsMember(mallory.Public()) && len(ms.Members()) == 4
	})
	// Now that alice's earlier messages are applied, her message goes to
	// the members carol held it back from (bob), not to mallory.
	recvUntil(t, linkX, func(f session.Frame) bool {
		m, err := DecodeMessage(f.Body)
		return f.Type == frameConvoMessage && err == nil && m.Body == "alice-after-removal"
	})
	carol.send(t, "lobby", "carol-marker")
	got = recvUntil(t, linkM, func(f session.Frame) bool {
		return f.Type == frameChat && bytes.Contains(f.Body, []byte("carol-marker"))
	})
	for _, b := range convoBodiesIn(got) {
		if b == "alice-after-removal" {
			t.Fatal("carol passed alice's message written after the removal to mallory")
		}
	}
}
