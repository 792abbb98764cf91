package chat

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/lanchat/lanchat/storage"
)

func (tn *testNode) members(t *testing.T, room string) []string {
	t.Helper()
	ms, err := ReadMembership(tn.store, room)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms.Members() {
		role := "member"
		if m.Admin {
			role = "admin"
		}
		out = append(out, m.Key.Fingerprint().Short()+":"+role)
	}
	return out
}

func roleList(pairs ...any) []string {
	var out []string
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, pairs[i].(*testNode).id.Fingerprint().Short()+":"+pairs[i+1].(string))
	}
	return out
}

func mustOp(t *testing.T, what string, _ *MessageView, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Invite, message, removal, and a linked non-member that gets nothing:
// not the room's name, identifier or messages, and cannot join it.
func TestPrivateRoomInviteMessageRemove(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol, dave := c.add("alice"), c.add("bob"), c.add("carol"), c.add("dave")
	c.trustAll(alice, bob, carol, dave)
	for _, tn := range []*testNode{alice, bob, carol, dave} {
		c.start(tn)
	}
	c.waitLinked(alice, bob, carol, dave)
	ctx := context.Background()
	room, err := alice.node.CreateRoom(ctx, "design")
	if err != nil {
		t.Fatal(err)
	}
	v, err := alice.node.Invite(ctx, room, bob.id.Public())
	mustOp(t, "invite bob", v, err)
	v, err = alice.node.Invite(ctx, room, dave.id.Public())
	mustOp(t, "invite dave", v, err)
	waitFor(t, "bob and dave to be members", func() bool {
		return bob.node.convo(room) != nil && dave.node.convo(room) != nil &&
			slices.Equal(bob.members(t, room), roleList(alice, "admin", bob, "member", dave, "member"))
	})
	alice.send(t, room, "private-hello")
	bob.send(t, room, "private-reply")
	waitFor(t, "every member to hold both messages", func() bool {
		for _, tn := range []*testNode{alice, bob, dave} {
			if !hasBodies(tn.history(t, room), "private-hello", "private-reply") {
				return false
			}
		}
		return true
	})
	if _, err := carol.node.Join(room); err == nil {
		t.Error("carol joined the private room by its id as an open room")
	}
	if _, _, err := carol.node.Send(ctx, room, "let me in"); err == nil {
		t.Error("carol sent to a private room she is not in")
	}

	// bob, a member but no admin, cannot remove anyone.
	if _, err := bob.node.Remove(ctx, room, dave.id.Public()); err == nil {
		t.Error("bob, not an admin, removed dave")
	}
	v, err = alice.node.Remove(ctx, room, bob.id.Public())
	mustOp(t, "remove bob", v, err)
	waitFor(t, "bob to learn he was removed", func() bool {
		ms, err := bob.node.RoomMembers(room)
		return err == nil && !ms.IsMember(bob.id.Public()) && slices.Equal(dave.members(t, room), roleList(alice, "admin", dave, "member"))
	})
	if _, _, err := bob.node.Send(ctx, room, "still here?"); err == nil {
		t.Error("bob sent to the room after his removal")
	}
	alice.send(t, room, "after-bob-left-1")
	dave.send(t, room, "after-bob-left-2")
	waitFor(t, "alice and dave to converge", func() bool {
		a, d := alice.history(t, room), dave.history(t, room)
		return hasBodies(a, "after-bob-left-1", "after-bob-left-2") && slices.Equal(a, d)
	})
	// A marker message through the open room, sent after, that bob does
	// get: what came before it in the private room had every chance.
	alice.send(t, "lobby", "marker-after")
	waitFor(t, "bob to get the marker", func() bool { return hasBodies(bob.history(t, "lobby"), "marker-after") })
	for _, body := range []string{"after-bob-left-1", "after-bob-left-2"} {
		if hasBodies(bob.history(t, room), body) {
			t.Errorf("bob, removed, holds %q", body)
		}
	}
	if !hasBodies(bob.history(t, room), "private-hello", "private-reply") {
		t.Error("bob lost what he was shown before his removal")
	}

	c.stop(carol)
	for _, secret := range []string{room, "design", "private-hello", "private-reply", "after-bob-left-1"} {
		if fileContains(t, carol.dbPath, []byte(secret)) {
			t.Errorf("carol's database file holds %q", secret)
		}
	}
}

// A member removed on one side of a partition keeps talking on the other;
// after the heal every member agrees on the membership and on which of its
// messages belong to the room, and the remaining members' histories are
// identical.
func TestPrivateRoomRemovalAcrossAPartition(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol, mallory := c.add("alice"), c.add("bob"), c.add("carol"), c.add("mallory")
	all := []*testNode{alice, bob, carol, mallory}
	c.trustAll(all...)
	for _, tn := range all {
		c.start(tn)
	}
	c.waitLinked(all...)
	ctx := context.Background()
	room, err := alice.node.CreateRoom(ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*testNode{bob, carol, mallory} {
		v, err := alice.node.Invite(ctx, room, tn.id.Public())
		mustOp(t, "invite "+tn.name, v, err)
	}
	waitFor(t, "everyone to be a member", func() bool {
		for _, tn := range all {
			if ms, err := tn.node.RoomMembers(room); err != nil || len(ms.Members()) != 4 {
				return false
			}
		}
		return true
	})
	mallory.send(t, room, "mallory-before")
	waitFor(t, "everyone to hold mallory's first message", func() bool {
		for _, tn := range all {
			if !hasBodies(tn.history(t, room), "mallory-before") {
				return false
			}
		}
		return true
	})

	// The partition: {alice, bob} | {carol, mallory}, one side at a time.
	c.stop(carol)
	c.stop(mallory)
	v, err := alice.node.Remove(ctx, room, mallory.id.Public())
	mustOp(t, "remove mallory", v, err)
	alice.send(t, room, "alice-after-removal")
	waitFor(t, "bob to see the removal", func() bool {
		return slices.Equal(bob.members(t, room), roleList(alice, "admin", bob, "member", carol, "member"))
	})
	c.stop(alice)
	c.stop(bob)
	c.start(carol)
	c.start(mallory)
	c.waitLinked(carol, mallory)
	mallory.send(t, room, "mallory-during-partition")
	carol.send(t, room, "carol-during-partition")
	waitFor(t, "carol to get mallory's message (she does not know yet)", func() bool {
		stored, err := carol.store.MessagesAfter(room, mallory.id.Public(), 1, 10)
		return err == nil && len(stored) == 1
	})

	// The heal.
	c.start(alice)
	c.start(bob)
	c.waitLinked(all...)
	remaining := []*testNode{alice, bob, carol}
	wantMembers := roleList(alice, "admin", bob, "member", carol, "member")
	waitFor(t, "the remaining members to converge", func() bool {
		first := alice.history(t, room)
		for _, tn := range all {
			if !slices.Equal(tn.members(t, room), wantMembers) {
				return false
			}
		}
		for _, tn := range remaining[1:] {
			if !slices.Equal(first, tn.history(t, room)) {
				return false
			}
		}
		return hasBodies(first, "carol-during-partition", "alice-after-removal")
	})
	for _, tn := range remaining {
		h := tn.history(t, room)
		if hasBodies(h, "mallory-during-partition") {
			t.Errorf("%s's history has mallory's message written after her removal", tn.name)
		}
		if !hasBodies(h, "mallory-before") {
			t.Errorf("%s's history lost mallory's message from before her removal", tn.name)
		}
	}
	// carol, who did not know of the removal, wrote to mallory during the
	// partition: nothing can prevent that. Nothing written by a member
	// who knew of it reaches her.
	alice.send(t, room, "alice-after-heal")
	carol.send(t, room, "carol-after-heal")
	alice.send(t, "lobby", "marker-after-heal")
	waitFor(t, "mallory to get the marker", func() bool { return hasBodies(mallory.history(t, "lobby"), "marker-after-heal") })
	waitFor(t, "bob to get the messages after the heal", func() bool {
		return hasBodies(bob.history(t, room), "alice-after-heal", "carol-after-heal")
	})
	for _, body := range []string{"alice-after-removal", "alice-after-heal", "carol-after-heal"} {
		if stored, _ := mallory.store.MessagesAfter(room, alice.id.Public(), 0, 100); slices.ContainsFunc(stored, func(m storage.StoredMessage) bool {
			return bytes.Contains(m.Raw, []byte(body))
		}) {
			t.Errorf("mallory, removed, holds %q", body)
		}
		if stored, _ := mallory.store.MessagesAfter(room, carol.id.Public(), 0, 100); slices.ContainsFunc(stored, func(m storage.StoredMessage) bool {
			return bytes.Contains(m.Raw, []byte(body))
		}) {
			t.Errorf("mallory, removed, holds %q", body)
		}
	}
}
