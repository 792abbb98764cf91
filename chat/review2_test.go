package chat

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
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

// TestRelayTreeDepartedMembersStarveNoOne: members a node once linked with
// stay in its relay view until they leave; one that went away without
// leaving (a crashed laptop, or a hostile host that linked with many
// throwaway identities and vanished) is a child no one is linked to. The
// tree skips an unlinked child by sending to its children instead, but
// only up to maxRelayTargets: with many departed members, most real
// members have only departed ones above them, and every real member
// beyond the author's first maxRelayTargets finds is left to the repair
// sync for every message. Here 48 real members (a full mesh) and 400
// departed ones, k = 4: every real member must get each message from the
// tree, as the members' doc says of a down link ("costs only the unlinked
// node its copy").
func TestRelayTreeDepartedMembersStarveNoOne(t *testing.T) {
	t.Skip("known (review2, open): with more than maxRelayTargets real members below departed ones, the tree misses some real members on every message; repair sync delivers them (RepairInterval later)")
	const realN, departedN, k = 48, 400, 4
	keys := randomKeys(t, realN+departedN)
	real := map[lcrypto.IdentityKey]bool{}
	for _, x := range keys[:realN] {
		real[x] = true
	}
	missed := 0
	for msg := 0; msg < 10; msg++ {
		id := sha256.Sum256([]byte(fmt.Sprint("message ", msg)))
		author := keys[msg%realN]
		order := relayOrder(id, author, keys)
		got := map[lcrypto.IdentityKey]bool{author: true}
		queue := []lcrypto.IdentityKey{author}
		for len(queue) > 0 {
			self := queue[0]
			queue = queue[1:]
			for _, x := range treeTargets(order, self, k, func(x lcrypto.IdentityKey) bool { return real[x] }) {
				if !got[x] {
					got[x] = true
					queue = append(queue, x)
				}
			}
		}
		for _, x := range keys[:realN] {
			if !got[x] {
				missed++
			}
		}
	}
	if missed > 0 {
		t.Fatalf("%d of %d deliveries to real members missed by the tree (left to repair)", missed, 10*realN)
	}
}

// TestSyncRunMixingRooms: a hostile member sends, back to back (one run),
// sync responses for a joined room, for a room this node is not in, and
// the joined room's last one. Only the joined room's messages are stored
// (the run is screened as one, but each message keeps its own room's
// rules), nothing is stored for the other room, and the link stays up.
func TestSyncRunMixingRooms(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	lobby := malloryBatch(t, mallory, 150)
	var secret [][]byte
	for i := range 60 {
		m := Message{Room: "secret", Seq: uint64(i + 1), Clock: uint64(i + 1), Time: time.Now(), Body: fmt.Sprintf("secret %d", i+1)}
		m.Sign(mallory)
		secret = append(secret, m.Encode())
	}
	for _, resp := range []syncResponse{
		{Room: "lobby", Msgs: lobby[:100]},
		{Room: "secret", Msgs: secret},
		{Room: "lobby", Done: true, Msgs: lobby[100:]},
	} {
		if err := link.Send(frameSyncResponse, resp.encode()); err != nil {
			t.Fatal(err)
		}
	}
	checkBatchedOutcome(t, alice, 150)
	st, err := alice.node.store.RoomState("secret")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Heads) != 0 {
		t.Fatalf("messages of a room alice is not in were stored: heads %v", st.Heads)
	}
	select {
	case <-link.Done():
		t.Fatal("the link closed")
	default:
	}
}
