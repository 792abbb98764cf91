package chat

import (
	"fmt"
	"testing"
	"time"
)

// TestBoundedRelaySilentMemberIsRepaired: a hostile member of a bounded
// room that stays linked, takes every message, relays none and answers no
// sync request. With k = 1 the tree is a chain, so every message whose
// chain passes the silent member misses everyone after it; the repair
// loop's sync requests (round robin over each node's links, the silent one
// among them) bring every honest node every message, and the honest
// histories converge.
func TestBoundedRelaySilentMemberIsRepaired(t *testing.T) {
	c := newCluster(t)
	var nodes []*testNode
	for i := 0; i < 6; i++ {
		nodes = append(nodes, c.add(fmt.Sprintf("n%d", i)))
	}
	c.trustAll(nodes...)
	silent := nodes[5]
	for _, tn := range nodes {
		cfg := c.relayConfig(tn, 1, 100*time.Millisecond)
		cfg.silentRelayer = tn == silent
		c.startWith(tn, cfg)
	}
	c.waitLinked(nodes...)
	waitFor(t, "relay-caps on every link", func() bool { return allCapable(nodes...) })
	honest := nodes[:5]
	var bodies []string
	for i := 0; i < 30; i++ {
		b := fmt.Sprintf("chain %d", i)
		bodies = append(bodies, b)
		honest[i%len(honest)].send(t, "lobby", b)
	}
	for _, tn := range honest {
		waitFor(t, tn.name+" has every message", func() bool { return hasBodies(tn.history(t, "lobby"), bodies...) })
	}
	c.waitConverged("lobby", honest...)
	var repairs uint64
	for _, tn := range honest {
		repairs += tn.node.Stats().RepairSyncs
	}
	if repairs == 0 {
		t.Fatal("every message arrived without a repair sync: the silent member was never on a message's path")
	}
}
