package chat

import (
	"slices"
	"strings"
	"testing"
)

// A reply written after its author stored the message it answers sorts
// after it on every node, also when the two authors are linked only
// through a third (alice trusts bob and carol; they trust only alice).
func TestReplySortsAfterWhatItAnswers(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob)
	c.trustAll(alice, carol)
	for _, n := range []*testNode{alice, bob, carol} {
		c.start(n)
	}
	c.waitLinked(alice, bob)
	c.waitLinked(alice, carol)
	bob.send(t, "lobby", "b1 question")
	waitFor(t, "carol to hold b1", func() bool { return hasBodies(carol.history(t, "lobby"), "b1 question") })
	carol.send(t, "lobby", "c1 answer")
	waitFor(t, "everyone to hold c1", func() bool {
		return hasBodies(alice.history(t, "lobby"), "c1 answer") && hasBodies(bob.history(t, "lobby"), "c1 answer")
	})
	alice.send(t, "lobby", "a1")
	waitFor(t, "carol to hold a1", func() bool { return hasBodies(carol.history(t, "lobby"), "a1") })
	carol.send(t, "lobby", "c2 after a1")
	for _, n := range []*testNode{alice, bob, carol} {
		waitFor(t, n.name+" to hold c2", func() bool { return hasBodies(n.history(t, "lobby"), "c2 after a1") })
		h := n.history(t, "lobby")
		at := func(b string) int {
			return slices.IndexFunc(h, func(l string) bool { return strings.HasSuffix(l, " "+b) })
		}
		if at("b1 question") > at("c1 answer") || at("a1") > at("c2 after a1") {
			t.Errorf("%s's order: %q", n.name, h)
		}
	}
}
