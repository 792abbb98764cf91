package chat

import (
	"os"
	"runtime/pprof"
	"context"
	"runtime"
	"testing"
	"time"
)

// idleLinks is a hub node and peers that each trust it, all running, with
// discovery off: nothing links until linkAll.
type idleLinks struct {
	c     *cluster
	hub   *testNode
	peers []*testNode
}

// newIdleLinks starts a hub and n peers sharing the hub's rooms. No node
// holds a subscription (its queue would count as the node's memory).
func newIdleLinks(t *testing.T, n int, rooms ...string) *idleLinks {
	t.Helper()
	c := newCluster(t)
	il := &idleLinks{c: c, hub: c.add("hub", rooms...)}
	hubStore := c.openStore(il.hub)
	for i := range n {
		p := c.add("peer"+string(rune('a'+i%26))+string(rune('a'+i/26)), rooms...)
		if _, err := hubStore.Trust(p.id.Fingerprint(), p.name); err != nil {
			t.Fatal(err)
		}
		if _, err := c.openStore(p).Trust(il.hub.id.Fingerprint(), "hub"); err != nil {
			t.Fatal(err)
		}
		il.peers = append(il.peers, p)
	}
	for _, tn := range append([]*testNode{il.hub}, il.peers...) {
		cfg := c.config(tn)
		cfg.NoDiscovery = true
		cfg.Session = defaultSessionConfig() // the real keepalive and dead timeout
		cfg.Logf = nil                       // a log line per link would count as link memory
		il.start(t, tn, cfg)
		if _, err := tn.node.Addr(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return il
}

// start is cluster.startWith without the subscription.
func (il *idleLinks) start(t *testing.T, tn *testNode, cfg Config) {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn.node = n
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel = cancel
	tn.done = make(chan error, 1)
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(func() { il.c.stop(tn) })
}

// linkAll makes the hub dial every peer and waits until every link is up
// on both ends and the link-up syncs are over.
func (il *idleLinks) linkAll(t *testing.T) {
	t.Helper()
	hub := il.hub.node
	hub.dials.Lock()
	for _, p := range il.peers {
		hub.startDialLocked(hub.runCtx, p.node.addr.String(), "")
	}
	hub.dials.Unlock()
	waitFor(t, "every peer linked to the hub", func() bool {
		if len(hub.LinkedPeers()) != len(il.peers) {
			return false
		}
		for _, p := range il.peers {
			if !p.linkedTo(il.hub) {
				return false
			}
		}
		return true
	})
}

// heapAndStacks is the memory a link costs while it lives: heap in use
// plus goroutine stacks, after a full collection.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// idleLinkCost opens n idle links between in-process nodes and returns
// the memory (heap in use + stacks) and the goroutines one link end costs:
// the difference made by linking, over 2n (both ends of every link run in
// this process, and an idle link costs each end alike).
func idleLinkCost(t *testing.T, n int) (bytesPerEnd float64, goroutinesPerEnd float64) {
	t.Helper()
	il := newIdleLinks(t, n, "lobby")
	settle()
	g0, m0 := runtime.NumGoroutine(), heapAndStacks()
	s0 := stackInuse()
	writeHeap(t, "/tmp/mem19-before.pprof")
	il.linkAll(t)
	settle()
	g1, m1 := runtime.NumGoroutine(), heapAndStacks()
	t.Logf("stacks per end: %.0f", float64(stackInuse()-s0)/float64(2*n))
	writeHeap(t, "/tmp/mem19-after.pprof")
	return (float64(m1) - float64(m0)) / float64(2*n), float64(g1-g0) / float64(2*n)
}

// settle lets the link-up work (syncs, read marks, presence) end. It is
// not a wait for a condition: the measurement is of whatever is left.
func settle() { time.Sleep(300 * time.Millisecond) }

func TestIdleLinkCostProbe(t *testing.T) {
	runtime.MemProfileRate = 1
	b, g := idleLinkCost(t, 32)
	t.Logf("per link end: %.0f bytes, %.2f goroutines", b, g)
}

func stackInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

func writeHeap(t *testing.T, path string) {
	f, _ := os.Create(path)
	runtime.GC()
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
}
