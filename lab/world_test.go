//go:build linux

package lab

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// Scenario settings.
const (
	room     = "lobby"
	beaconIv = "250ms"          // quick discovery; expiry is 3 intervals
	linkWait = 30 * time.Second // for links to form (DialGrace is 2s)
	syncWait = 30 * time.Second // for messages to reach everyone
)

// scenario starts a lanchat scenario: a lab, unless -short.
func scenario(t *testing.T) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("lab: lanchat scenarios take seconds each; skipped with -short")
	}
	return New(t)
}

// chatArgs are the flags every lab node runs with: pinned to the host's
// first interface, so beacons go only to that bridge.
func chatArgs(extra ...string) []string {
	return append([]string{"--room", room, "--beacon-interval", beaconIv, "--discovery-iface", "eth0"}, extra...)
}

// newNodes makes one host per name on bridge br, each with a lanchat node.
func newNodes(t *testing.T, l *Lab, br *Bridge, names ...string) []*Node {
	t.Helper()
	nodes := make([]*Node, len(names))
	for i, name := range names {
		nodes[i] = NewNode(t, l.Host(name, br), name)
	}
	return nodes
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// others returns nodes without n.
func others(n *Node, nodes []*Node) []*Node {
	var out []*Node
	for _, o := range nodes {
		if o != n {
			out = append(out, o)
		}
	}
	return out
}

// waitMesh waits until each node is linked to every other one.
func waitMesh(t *testing.T, nodes ...*Node) {
	t.Helper()
	start := time.Now()
	for _, n := range nodes {
		peers := others(n, nodes)
		if err := n.WaitFor(fmt.Sprintf("links to %d peers", len(peers)), linkWait, func() bool { return n.LinkedTo(peers...) }); err != nil {
			t.Fatalf("%v\n%s", err, linkTable(nodes))
		}
	}
	t.Logf("%d nodes linked pairwise after %v", len(nodes), since(start))
}

// linkTable says who is linked with whom, for a failure message.
func linkTable(nodes []*Node) string {
	nick := map[string]string{}
	for _, n := range nodes {
		nick[n.Fingerprint()] = n.Nick
	}
	var b strings.Builder
	for _, n := range nodes {
		var with []string
		for fp := range n.Linked() {
			with = append(with, cmp.Or(nick[fp], fp))
		}
		slices.Sort(with)
		fmt.Fprintf(&b, "  %s (%s) is linked with %v\n", n.Nick, n.Fingerprint()[:7], with)
	}
	return b.String()
}

func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }

// say sends each body from n and waits until n shows it as its own (stored).
func say(t *testing.T, n *Node, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		must(t, n.Send(b))
	}
	for _, b := range bodies {
		must(t, n.WaitFor("its own message "+b, syncWait, func() bool { return n.Acked(b) }))
	}
}

// waitBodies waits until every node has shown every body.
func waitBodies(t *testing.T, nodes []*Node, bodies []string) {
	t.Helper()
	start := time.Now()
	for _, n := range nodes {
		must(t, n.WaitFor(fmt.Sprintf("%d messages", len(bodies)), syncWait, func() bool { return n.HasBodies(bodies...) }))
	}
	t.Logf("%d nodes had all %d messages after %v", len(nodes), len(bodies), since(start))
}

// waitStored waits until the node's stored history of the room holds every
// one of bodies, read through "lanchat history" (every ~250 ms: each read is
// a process).
func waitStored(t *testing.T, n *Node, bodies []string) {
	t.Helper()
	start, last := time.Now(), time.Time{}
	var missing []string
	err := n.WaitFor(fmt.Sprintf("%d messages in its store", len(bodies)), syncWait, func() bool {
		if time.Since(last) < 250*time.Millisecond {
			return false
		}
		last = time.Now()
		h, err := n.History(room)
		if err != nil {
			return false
		}
		have := map[string]bool{}
		for _, m := range h {
			have[m.Body] = true
		}
		missing = missing[:0]
		for _, b := range bodies {
			if !have[b] {
				missing = append(missing, b)
			}
		}
		return len(missing) == 0
	})
	if err != nil {
		t.Fatalf("%v; missing %d: %.300q", err, len(missing), missing)
	}
	t.Logf("%s had all %d messages stored after %v", n.Nick, len(bodies), since(start))
}

func stopAll(t *testing.T, nodes ...*Node) {
	t.Helper()
	start := time.Now()
	for _, n := range nodes {
		must(t, n.Stop())
	}
	t.Logf("%d nodes stopped cleanly after %v", len(nodes), since(start))
}

// sameHistory reads every node's history of the room and fails unless all
// are identical (same messages, same order) and hold exactly want (in any
// order), each once. It returns the common history.
func sameHistory(t *testing.T, nodes []*Node, want []string) []Message {
	t.Helper()
	var first []Message
	for i, n := range nodes {
		h, err := n.History(room)
		must(t, err)
		if i == 0 {
			first = h
			checkBodies(t, n.Nick, h, want)
			continue
		}
		if !slices.Equal(ids(h), ids(first)) {
			t.Fatalf("history of %s differs from %s's:\n%s\n---\n%s", n.Nick, nodes[0].Nick, render(h), render(first))
		}
	}
	return first
}

// checkBodies fails unless h holds exactly the bodies in want, each once.
func checkBodies(t *testing.T, who string, h []Message, want []string) {
	t.Helper()
	got := make([]string, len(h))
	for i, m := range h {
		got[i] = m.Body
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("%s's history has %d messages, want %d:\n got %q\nwant %q", who, len(got), len(w), got, w)
	}
}

func ids(h []Message) []string {
	out := make([]string, len(h))
	for i, m := range h {
		out[i] = m.ID
	}
	return out
}

func render(h []Message) string {
	var b strings.Builder
	for _, m := range h {
		fmt.Fprintf(&b, "  %d %.7s/%d %s\n", m.Clock, m.Author, m.Seq, m.Body)
	}
	return b.String()
}

// bodies returns "<prefix>-<i>" for i in [0, n).
func bodies(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// trustedMesh makes one host and node per name on br, all trusting each
// other, starts them with chatArgs and waits until all are linked.
func trustedMesh(t *testing.T, l *Lab, br *Bridge, names ...string) []*Node {
	t.Helper()
	start := time.Now()
	nodes := newNodes(t, l, br, names...)
	must(t, TrustEachOther(nodes...))
	t.Logf("%d hosts with identities and trust after %v", len(nodes), since(start))
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitMesh(t, nodes...)
	return nodes
}

// waitUnlinked waits until n has no link to any of the others.
func waitUnlinked(t *testing.T, n *Node, from ...*Node) {
	t.Helper()
	start := time.Now()
	must(t, n.WaitFor("links to go down", linkWait, func() bool {
		linked := n.Linked()
		for _, o := range from {
			if linked[o.Fingerprint()] {
				return false
			}
		}
		return true
	}))
	t.Logf("%s unlinked after %v", n.Nick, since(start))
}

// beaconsFrom counts the captured beacons (UDP to the beacon port) sent by
// addr to the broadcast address of its subnet, entering the switch on port.
func beaconsFrom(c *Capture, port string, src netip.Addr, dst netip.Addr) int {
	return c.Count(func(f Frame) bool {
		p, ok := ParsePacket(f.Data)
		return ok && f.Port == port && p.Proto == protoUDP && p.Src.Addr() == src &&
			p.Dst == netip.AddrPortFrom(dst, beaconPort)
	})
}
