package chat

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// convoBodies returns the bodies of tn's history of a conversation (or
// room), read from its store, in order.
func (tn *testNode) convoBodies(t *testing.T, room string) []string {
	t.Helper()
	views, err := ReadHistory(tn.store, tn.id.Public(), tn.name, HistoryQuery{Rooms: []string{room}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = v.Body
	}
	return out
}

func (tn *testNode) sendDirect(t *testing.T, to *testNode, body string) *MessageView {
	t.Helper()
	v, _, err := tn.node.SendDirect(context.Background(), to.id.Fingerprint(), body)
	if err != nil {
		t.Fatalf("%s: send to %s: %v", tn.name, to.name, err)
	}
	return v
}

// fileContains reports whether the database file at path holds b anywhere
// (bbolt keeps keys and values as they are, so a stored body or room id
// would be there in the clear).
func fileContains(t *testing.T, path string, b []byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, b)
}

// A third node linked to both people of a direct conversation, in a room
// with them (so it relays their room messages), holds nothing of the
// conversation: neither its messages nor its identifier.
func TestDirectMessagesNeverReachAThirdNode(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob, carol)
	for _, tn := range []*testNode{alice, bob, carol} {
		c.start(tn)
	}
	c.waitLinked(alice, bob, carol)

	v := alice.sendDirect(t, bob, "secret-for-bob-only")
	if v.Conversation != KindDirect || v.With != bob.id.Fingerprint().String() {
		t.Fatalf("the sent view is %q with %q, want a direct conversation with bob", v.Conversation, v.With)
	}
	dm := DirectID(alice.id.Fingerprint(), bob.id.Fingerprint())
	waitFor(t, "bob to get the message", func() bool { return len(bob.convoBodies(t, dm)) == 1 })
	bob.sendDirect(t, alice, "secret-reply-for-alice")
	want := []string{"secret-for-bob-only", "secret-reply-for-alice"}
	if !poll(func() bool {
		return slices.Equal(alice.convoBodies(t, dm), want) && slices.Equal(bob.convoBodies(t, dm), want)
	}) {
		t.Fatalf("the two sides hold %q and %q, want %q", alice.convoBodies(t, dm), bob.convoBodies(t, dm), want)
	}
	// Carol does get room messages from both, so she is linked and relaying.
	alice.send(t, "lobby", "room-message-for-all")
	waitFor(t, "carol to get the room message", func() bool { return hasBodies(carol.history(t, "lobby"), "room-message-for-all") })

	views, err := bob.node.History(HistoryQuery{Rooms: []string{dm}})
	if err != nil || len(views) != 2 || views[0].With != alice.id.Fingerprint().String() || views[0].WithNick != "alice" {
		t.Fatalf("bob's history of the conversation: %+v, %v", views, err)
	}
	c.stop(carol)
	// Her store, opened with her keys (the file is sealed, PROTOCOL.md 8):
	// no conversation room, and no message of hers, in any room, holds a
	// secret; the room message is there, so the check sees stored bodies.
	rooms, bodies := func() ([]string, []string) {
		s := c.openStore(carol)
		defer func() { s.Close(); carol.store = nil }()
		r, err := s.MessageRooms()
		if err != nil {
			t.Fatal(err)
		}
		views, err := ReadHistory(s, carol.id.Public(), "carol", HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var b []string
		for _, v := range views {
			b = append(b, v.Body)
		}
		return r, b
	}()
	if slices.ContainsFunc(rooms, isConvo) {
		t.Errorf("carol's store has conversation rooms %v", rooms)
	}
	if !slices.Contains(bodies, "room-message-for-all") {
		t.Errorf("carol's store lacks the room message (has %q): the check cannot see a stored body", bodies)
	}
	for _, secret := range []string{"secret-for-bob-only", "secret-reply-for-alice", dm} {
		if slices.ContainsFunc(bodies, func(b string) bool { return strings.Contains(b, secret) }) {
			t.Errorf("carol's store holds %q", secret)
		}
		if fileContains(t, carol.dbPath, []byte(secret)) {
			t.Errorf("carol's database file holds %q", secret)
		}
	}
}

// Written while the other is away, a direct message is delivered when the
// two link again, from either side's store.
func TestDirectMessagesOfflineDelivery(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	c.stop(bob)
	alice.sendDirect(t, bob, "written-while-bob-was-away")
	c.stop(alice)
	c.start(bob)
	if _, _, err := bob.node.SendDirect(context.Background(), alice.id.Fingerprint(), "written-while-alice-was-away"); err != nil {
		t.Fatal(err)
	}
	dm := DirectID(alice.id.Fingerprint(), bob.id.Fingerprint())
	if got := bob.convoBodies(t, dm); !slices.Equal(got, []string{"written-while-alice-was-away"}) {
		t.Fatalf("bob holds %q before the two link again", got)
	}
	c.start(alice)
	c.waitLinked(alice, bob)
	waitFor(t, "both to hold both messages", func() bool {
		a, b := alice.convoBodies(t, dm), bob.convoBodies(t, dm)
		return len(a) == 2 && slices.Equal(a, b)
	})
}
