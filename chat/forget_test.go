package chat

import (
	"fmt"
	"testing"
	"time"
)

// A member that forgets a room's history keeps, per message, the hash the
// sync check chains (5.6): its chain of each author equals the members'
// that still hold the messages, so forgetting starts no repair, and nothing
// forgotten is fetched again.
func TestForgetKeepsTheSyncChain(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	for i := 1; i <= 10; i++ {
		alice.send(t, "lobby", fmt.Sprintf("message %d", i))
	}
	waitFor(t, "bob has all 10", func() bool { return len(bob.history(t, "lobby")) == 10 })
	n, err := ForgetHistory(bob.store, "lobby", time.Time{})
	if err != nil || n != 10 {
		t.Fatalf("forget: %d, %v", n, err)
	}
	if h := bob.history(t, "lobby"); len(h) != 0 {
		t.Fatalf("bob's history after forget: %v", h)
	}
	key := alice.id.Public()
	want, err := alice.node.chainAt(alice.node.room("lobby"), "lobby", key, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bob.node.chainAt(bob.node.room("lobby"), "lobby", key, 10)
	if err != nil || got != want {
		t.Fatalf("bob's chain after forget: %x, %v; want alice's %x", got, err, want)
	}
	alice.send(t, "lobby", "after")
	waitFor(t, "bob gets the next message", func() bool { return len(bob.history(t, "lobby")) == 1 })
	if h := bob.history(t, "lobby"); len(h) != 1 {
		t.Fatalf("bob fetched forgotten messages again: %v", h)
	}
}
