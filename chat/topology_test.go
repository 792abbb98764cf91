package chat

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/fuzzseed"
)

func randomKeys(t *testing.T, n int) []lcrypto.IdentityKey {
	t.Helper()
	keys := make([]lcrypto.IdentityKey, n)
	for i := range keys {
		if _, err := rand.Read(keys[i][:]); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestRelayTreeCoversEveryMemberOnce: on a full mesh whose members agree on
// the membership, the tree of every message reaches each member but the
// author exactly once, and no member sends more than k copies.
func TestRelayTreeCoversEveryMemberOnce(t *testing.T) {
	for _, tc := range []struct{ members, k int }{{2, 4}, {5, 4}, {17, 4}, {64, 4}, {128, 4}, {33, 2}, {10, 1}} {
		t.Run(fmt.Sprintf("%d members, k=%d", tc.members, tc.k), func(t *testing.T) {
			keys := randomKeys(t, tc.members)
			for msg := 0; msg < 5; msg++ {
				id := sha256.Sum256([]byte(fmt.Sprint("message ", msg)))
				author := keys[msg%len(keys)]
				got := map[lcrypto.IdentityKey]int{}
				for _, self := range keys {
					// every member computes the order itself, from its own copy of the view
					view := slices.Clone(keys)
					slices.Reverse(view)
					order := relayOrder(id, author, view)
					if order[0] != author || len(order) != tc.members {
						t.Fatalf("order starts with %x, has %d members; want the author first, %d", order[0][:4], len(order), tc.members)
					}
					targets := treeTargets(order, self, tc.k, func(lcrypto.IdentityKey) bool { return true })
					if len(targets) > tc.k {
						t.Fatalf("a member sends %d copies, k is %d", len(targets), tc.k)
					}
					for _, x := range targets {
						got[x]++
					}
				}
				for _, k := range keys {
					want := 1
					if k == author {
						want = 0
					}
					if got[k] != want {
						t.Fatalf("message %d: member %x gets %d copies, want %d", msg, k[:4], got[k], want)
					}
				}
			}
		})
	}
}

// TestRelayTreeSkipsUnlinkedChildren: a child without a link is replaced by
// its own children, so only the unlinked member misses the tree's copy.
func TestRelayTreeSkipsUnlinkedChildren(t *testing.T) {
	keys := randomKeys(t, 40)
	id := sha256.Sum256([]byte("m"))
	order := relayOrder(id, keys[0], keys)
	const k = 3
	down := order[1] // the author's first child
	reached := map[lcrypto.IdentityKey]bool{}
	for _, self := range order {
		linked := func(x lcrypto.IdentityKey) bool { return self != order[0] || x != down }
		if self == down {
			continue // it has no copy to forward
		}
		for _, x := range treeTargets(order, self, k, linked) {
			reached[x] = true
		}
	}
	for _, x := range order[1:] {
		if reached[x] != (x != down) {
			t.Fatalf("member at %d reached = %v", slices.Index(order, x), reached[x])
		}
	}
	if got := treeTargets(order, keys[0], k, func(lcrypto.IdentityKey) bool { return false }); len(got) != 0 {
		t.Fatalf("nothing linked: targets %d", len(got))
	}
}

func TestRelayOrderIsDeterministic(t *testing.T) {
	keys := randomKeys(t, 20)
	id := sha256.Sum256([]byte("x"))
	a := relayOrder(id, keys[3], keys)
	b := relayOrder(id, keys[3], append([]lcrypto.IdentityKey{keys[3]}, keys...)) // duplicates of the author are dropped
	if !slices.Equal(a, b) {
		t.Fatal("the order depends on the view's order or duplicates of the author")
	}
	other := relayOrder(sha256.Sum256([]byte("y")), keys[3], keys)
	if slices.Equal(a, other) {
		t.Fatal("two messages got the same order: the relayers would be the same for every message")
	}
}

func TestDecodeRelayCaps(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		ok   bool
	}{
		{nil, false}, {[]byte{0}, false}, {[]byte{1}, true}, {[]byte{2, 9, 9}, true},
	} {
		_, err := decodeRelayCaps(tc.body)
		if (err == nil) != tc.ok {
			t.Errorf("decodeRelayCaps(%x) = %v, want ok %v", tc.body, err, tc.ok)
		}
	}
	if !bytes.Equal(encodeRelayCaps(), []byte{1}) {
		t.Fatalf("relay-caps body %x, want 01 (PROTOCOL.md 5.14)", encodeRelayCaps())
	}
}

// FuzzRelayCaps: any relay-caps body decodes to its first byte's version
// (≥ 1) or is refused with ErrFrame, never a panic.
func FuzzRelayCaps(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "FuzzRelayCaps") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeRelayCaps(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("refused with %v, not ErrFrame", err)
			}
			return
		}
		if v < 1 || v != int(b[0]) {
			t.Fatalf("decoded version %d from %x", v, b)
		}
	})
}

// relayConfig makes every room of more than one other member bounded.
func (c *cluster) relayConfig(tn *testNode, k int, repair time.Duration) Config {
	cfg := c.config(tn)
	cfg.Relay = RelayConfig{FloodUpTo: 1, Fanout: k, RepairInterval: repair}
	return cfg
}

// allCapable reports whether every link of the nodes got the peer's
// relay-caps frame.
func allCapable(nodes ...*testNode) bool {
	for _, tn := range nodes {
		for _, l := range tn.node.allLinks() {
			if !l.repairs.Load() {
				return false
			}
		}
	}
	return true
}

// TestBoundedRelayFullMesh: on a full mesh the tree carries each message
// over exactly n−1 links (flooding: about (n−1)²), and every node ends with
// the same history.
func TestBoundedRelayFullMesh(t *testing.T) {
	c := newCluster(t)
	var nodes []*testNode
	for i := 0; i < 6; i++ {
		nodes = append(nodes, c.add(fmt.Sprintf("n%d", i)))
	}
	c.trustAll(nodes...)
	for _, tn := range nodes {
		c.startWith(tn, c.relayConfig(tn, 2, time.Hour)) // no repair: the tree alone
	}
	c.waitLinked(nodes...)
	waitFor(t, "relay-caps on every link", func() bool { return allCapable(nodes...) })
	const msgs = 20
	var bodies []string
	for i := 0; i < msgs; i++ {
		b := fmt.Sprintf("tree %d", i)
		bodies = append(bodies, b)
		nodes[i%3].send(t, "lobby", b)
	}
	for _, tn := range nodes {
		waitFor(t, tn.name+" has every message", func() bool { return hasBodies(tn.history(t, "lobby"), bodies...) })
	}
	c.waitConverged("lobby", nodes...)
	var frames uint64
	for _, tn := range nodes {
		frames += tn.node.Stats().ChatFramesSent
	}
	if want := uint64(msgs * (len(nodes) - 1)); frames != want {
		t.Fatalf("%d chat frames for %d messages on %d nodes, want %d (n−1 each)", frames, msgs, len(nodes), want)
	}
}

// TestBoundedRelayPartialMeshRelayerKilled: on a partial mesh (each node
// linked to the 4 nearest of 8 on a ring) with the bounded relay, one
// relaying node is stopped mid-way; every message sent reaches every
// remaining node (by the tree or by repair syncs), in one order.
func TestBoundedRelayPartialMeshRelayerKilled(t *testing.T) {
	c := newCluster(t)
	const size = 8
	var nodes []*testNode
	for i := 0; i < size; i++ {
		nodes = append(nodes, c.add(fmt.Sprintf("n%d", i)))
	}
	ring(t, c, nodes)
	for _, tn := range nodes {
		c.startWith(tn, c.relayConfig(tn, 2, 200*time.Millisecond))
	}
	waitRing(t, nodes)
	senders := []*testNode{nodes[0], nodes[3], nodes[5]}
	victim := nodes[1] // a neighbour of n0 and n3: it relays both
	var bodies []string
	send := func(round int) {
		for _, s := range senders {
			b := fmt.Sprintf("%s round %d", s.name, round)
			bodies = append(bodies, b)
			s.send(t, "lobby", b)
		}
	}
	for round := 0; round < 10; round++ {
		send(round)
	}
	c.stop(victim)
	for round := 10; round < 20; round++ {
		send(round)
	}
	var alive []*testNode
	for _, tn := range nodes {
		if tn != victim {
			alive = append(alive, tn)
		}
	}
	for _, tn := range alive {
		waitFor(t, tn.name+" has every message", func() bool { return hasBodies(tn.history(t, "lobby"), bodies...) })
	}
	c.waitConverged("lobby", alive...)
	if got := len(alive[0].history(t, "lobby")); got != len(bodies) {
		t.Fatalf("%d messages in the history, %d sent", got, len(bodies))
	}
}

// relayVectorFile holds PROTOCOL.md 5.14's vector: the order and each
// member's targets for one message.
const relayVectorFile = "../testdata/chat/relay-vectors.json"

type relayVector struct {
	Comment string              `json:"comment"`
	ID      string              `json:"message_id"` // hex SHA-256 of the encoding
	Author  string              `json:"author"`
	Members []string            `json:"members"` // the view, in any order
	K       int                 `json:"k"`
	Order   []string            `json:"order"`
	Targets map[string][]string `json:"targets"` // member → what it forwards to, all linked
}

// vectorKey is member i's stand-in key: SHA-256("relay vector key " ‖ i).
func vectorKey(i int) lcrypto.IdentityKey {
	return lcrypto.IdentityKey(sha256.Sum256([]byte(fmt.Sprint("relay vector key ", i))))
}

func computeRelayVector() relayVector {
	id := sha256.Sum256([]byte("relay vector message"))
	var view []lcrypto.IdentityKey
	for i := range 7 {
		view = append(view, vectorKey(i))
	}
	v := relayVector{Comment: "PROTOCOL.md 5.14: keys are SHA-256(\"relay vector key \" || i), i = 0..6; the author is key 0",
		ID: hex.EncodeToString(id[:]), Author: hex.EncodeToString(view[0][:]), K: 2, Targets: map[string][]string{}}
	for _, k := range view {
		v.Members = append(v.Members, hex.EncodeToString(k[:]))
	}
	order := relayOrder(id, view[0], view)
	for _, k := range order {
		v.Order = append(v.Order, hex.EncodeToString(k[:]))
		var ts []string
		for _, x := range treeTargets(order, k, v.K, func(lcrypto.IdentityKey) bool { return true }) {
			ts = append(ts, hex.EncodeToString(x[:]))
		}
		v.Targets[hex.EncodeToString(k[:])] = ts
	}
	return v
}

func TestRelayVector(t *testing.T) {
	got := computeRelayVector()
	if *updateVectors {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(relayVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(relayVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var want relayVector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Order) != 7 || !reflect.DeepEqual(got, want) {
		t.Fatalf("relay order or targets differ from %s:\ngot  %+v\nwant %+v", relayVectorFile, got, want)
	}
}

// TestBoundedRelayKeepsOlderNodesWhole: a node before 5.14 (no relay-caps,
// floods, never repairs) on a partial mesh of tree relayers still gets
// every message, because they send it every message they store.
func TestBoundedRelayKeepsOlderNodesWhole(t *testing.T) {
	c := newCluster(t)
	const size = 8
	var nodes []*testNode
	for i := 0; i < size; i++ {
		nodes = append(nodes, c.add(fmt.Sprintf("n%d", i)))
	}
	ring(t, c, nodes)
	old := nodes[4]
	for _, tn := range nodes {
		cfg := c.relayConfig(tn, 2, 200*time.Millisecond)
		if tn == old {
			cfg.Relay = RelayConfig{FloodUpTo: -1}
			cfg.noRelayCaps = true
		}
		c.startWith(tn, cfg)
	}
	waitRing(t, nodes)
	var bodies []string
	for round := 0; round < 10; round++ {
		for _, s := range []*testNode{nodes[0], nodes[1], nodes[2], nodes[7]} {
			b := fmt.Sprintf("%s round %d", s.name, round)
			bodies = append(bodies, b)
			s.send(t, "lobby", b)
		}
	}
	waitFor(t, "the older node has every message", func() bool { return hasBodies(old.history(t, "lobby"), bodies...) })
	c.waitConverged("lobby", nodes...)
	if got := old.node.Stats().RepairSyncs; got != 0 {
		t.Fatalf("the older node sent %d repair syncs", got)
	}
}

// ring makes each node trust the 4 nearest on a ring (two each way).
func ring(t *testing.T, c *cluster, nodes []*testNode) {
	t.Helper()
	for i, a := range nodes {
		store := c.openStore(a)
		for j, b := range nodes {
			if near(len(nodes), i, j) {
				if _, err := store.Trust(b.id.Fingerprint(), b.name); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func near(size, i, j int) bool {
	d := (i - j + size) % size
	return d == 1 || d == 2 || d == size-1 || d == size-2
}

// waitRing waits until each node is linked to its 4 neighbours.
func waitRing(t *testing.T, nodes []*testNode) {
	t.Helper()
	for i, a := range nodes {
		var want []*testNode
		for j, b := range nodes {
			if near(len(nodes), i, j) {
				want = append(want, b)
			}
		}
		waitFor(t, a.name+" linked to its 4 neighbours", func() bool { return a.linkedTo(want...) })
	}
}
