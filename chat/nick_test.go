package chat

import (
	"slices"
	"testing"
)

// A new nickname reaches linked peers at once: a nick frame, an event, and
// the peer table.
func TestSetNickReachesLinkedPeers(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	if err := alice.node.SetNick("alice two"); err != nil {
		t.Fatal(err)
	}
	if alice.node.Nickname() != "alice two" {
		t.Fatalf("Nickname = %q", alice.node.Nickname())
	}
	bob.waitEvent(t, EventNick, alice)
	waitFor(t, "bob's table to show the new nickname", func() bool {
		for _, p := range bob.node.PeerEntries() {
			if p.Fingerprint == alice.id.Fingerprint().String() {
				return p.Nick == "alice two"
			}
		}
		return false
	})
	if err := alice.node.SetNick(" bad\x07"); err == nil {
		t.Fatal("a nickname with a control character was taken")
	}
}

// The rooms joined and left are remembered: a node started without rooms
// of its own is in them again.
func TestJoinedRoomsSurviveARestart(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	c.start(alice)
	if _, err := alice.node.Join("dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Join("ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Leave("lobby"); err != nil {
		t.Fatal(err)
	}
	c.stop(alice)
	c.start(alice)
	if got := alice.node.Rooms(); !slices.Equal(got, []string{"dev", "ops"}) {
		t.Fatalf("rooms after a restart = %v, want [dev ops]", got)
	}
}
