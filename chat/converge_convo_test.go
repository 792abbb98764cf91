package chat

import (
	"context"
	"testing"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// A member of a private room that signs two messages under one sequence
// number, one to each of two members while they are apart, is found out
// by the sync check of conversations when they link again: both keep the
// same copy (the one with the smaller id) and mark the author. Catch-up
// alone cannot see it (their heads are the same).
func TestConversationSyncCheckResolvesEquivocation(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory := newID(t)
	c.trustAll(alice, bob)
	for _, tn := range []*testNode{alice, bob} {
		if _, err := c.openStore(tn).Trust(mallory.Fingerprint(), "mallory"); err != nil {
			t.Fatal(err)
		}
		c.start(tn)
	}
	c.waitLinked(alice, bob)
	ctx := context.Background()
	room, err := alice.node.CreateRoom(ctx, "plans")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []crypto.IdentityKey{bob.id.Public(), mallory.Public()} {
		op, err := alice.node.Invite(ctx, room, k)
		mustOp(t, "invite", op, err)
	}
	waitFor(t, "bob to see mallory a member", func() bool {
		ms, err := bob.node.RoomMembers(room)
		return err == nil && ms.IsMember(mallory.Public())
	})
	at := func(body string) Message {
		m := Message{Room: room, Seq: 1, Clock: ClockBound(1), Time: time.Now(), Body: body}
		m.Sign(mallory)
		return m
	}
	forAlice, forBob := at("for alice"), at("for bob")
	send := func(tn *testNode, m Message) {
		if err := rawMember(t, tn, mallory).Send(frameConvoMessage, m.Encode()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tn.name+" to hold "+m.Body, func() bool { return hasBodies(tn.history(t, room), m.Body) })
	}
	c.stop(bob)
	send(alice, forAlice)
	c.stop(alice)
	c.start(bob)
	send(bob, forBob)
	c.start(alice)
	c.waitLinked(alice, bob)

	kept, lost := forAlice, forBob
	if forBob.ID() < forAlice.ID() {
		kept, lost = forBob, forAlice
	}
	for _, tn := range []*testNode{alice, bob} {
		waitFor(t, tn.name+" to keep the smaller copy and mark mallory", func() bool {
			views, err := tn.node.History(HistoryQuery{Rooms: []string{room}})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range views {
				if v.Body == lost.Body {
					return false
				}
				if v.Body == kept.Body {
					found = v.Equivocator
				}
			}
			return found
		})
	}
}
