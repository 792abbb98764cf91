package chat

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// idleLinks is a hub node and peers that each trust it, all running with
// discovery off and the default session settings: nothing links until
// linkAll. No node holds a subscription (its queue would count as memory).
type idleLinks struct {
	tb    testing.TB
	hub   *Node
	peers []*Node
}

// newIdleLinks starts a hub and n peers, all in rooms.
func newIdleLinks(tb testing.TB, n int, rooms ...string) *idleLinks {
	tb.Helper()
	peerRooms := make([][]string, n)
	for i := range peerRooms {
		peerRooms[i] = rooms
	}
	return newIdleLinksIn(tb, rooms, peerRooms)
}

// newIdleLinksIn starts a hub in hubRooms and a peer in each of peerRooms.
func newIdleLinksIn(tb testing.TB, hubRooms []string, peerRooms [][]string) *idleLinks {
	tb.Helper()
	n := len(peerRooms)
	// Links of earlier tests may still be ending: count from none.
	tbWaitFor(tb, "the links of earlier tests to end", func() bool {
		for _, stack := range lanchatGoroutines() {
			if strings.Contains(stack, "chat.(*link).") || strings.Contains(stack, "session.(*Link).") {
				return false
			}
		}
		return true
	})
	dir := tb.TempDir()
	il := &idleLinks{tb: tb}
	hubID := newTestIdentity(tb)
	hubStore := openTestStore(tb, filepath.Join(dir, "hub.db"))
	var peerIDs []*lcrypto.Identity
	for i := range n {
		id := newTestIdentity(tb)
		peerIDs = append(peerIDs, id)
		if _, err := hubStore.Trust(id.Fingerprint(), fmt.Sprintf("peer%d", i)); err != nil {
			tb.Fatal(err)
		}
	}
	il.hub = il.start(hubID, hubStore, dir, "hub", hubRooms)
	for i, id := range peerIDs {
		rooms := peerRooms[i]
		store := openTestStore(tb, filepath.Join(dir, fmt.Sprintf("peer%d.db", i)))
		if _, err := store.Trust(hubID.Fingerprint(), "hub"); err != nil {
			tb.Fatal(err)
		}
		il.peers = append(il.peers, il.start(id, store, dir, fmt.Sprintf("peer%d", i), rooms))
	}
	// Run starts its loops after it listens: wait for the last one of
	// every node, so that the count before linking is the nodes' own.
	tbWaitFor(tb, "every node's loops", func() bool {
		loops := 0
		for _, stack := range lanchatGoroutines() {
			if strings.Contains(stack, "chat.(*Node).dialLoop(") {
				loops++
			}
		}
		return loops == n+1
	})
	return il
}

func newTestIdentity(tb testing.TB) *lcrypto.Identity {
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func openTestStore(tb testing.TB, path string) *storage.DB {
	store, err := storage.Open(path, storage.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return store
}

// start runs a node until the end of the test, then stops it cleanly and
// closes its store.
func (il *idleLinks) start(id *lcrypto.Identity, store *storage.DB, dir, name string, rooms []string) *Node {
	tb := il.tb
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Identity, cfg.Store, cfg.Nickname, cfg.Rooms = id, store, name, rooms
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.NoDiscovery = true
	cfg.FilesDir = filepath.Join(dir, name+"-files")
	cfg.Guard.MaxLinksPerIP = max(cfg.Guard.MaxLinksPerIP, 4*len(il.peers)+8)
	n, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%s: Run: %v", name, err)
		}
		if err := store.Check(); err != nil {
			tb.Errorf("%s: store consistency: %v", name, err)
		}
		store.Close()
	})
	if _, err := n.Addr(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return n
}

// linkAll makes the hub dial every peer and waits until every link is up
// at both ends.
func (il *idleLinks) linkAll() {
	il.tb.Helper()
	hub := il.hub
	hub.dials.Lock()
	for _, p := range il.peers {
		hub.startDialLocked(hub.runCtx, p.addr.String(), "")
	}
	hub.dials.Unlock()
	tbWaitFor(il.tb, "every peer linked to the hub", func() bool {
		if len(hub.LinkedPeers()) != len(il.peers) {
			return false
		}
		for _, p := range il.peers {
			if len(p.LinkedPeers()) != 1 {
				return false
			}
		}
		return true
	})
}

// idle waits until the link-up work (syncs, read marks, presence) is over
// at every node: exactly the goroutines idle links keep run (before, and
// idleGoroutinesPerEnd per link end), and no link holds a large buffer.
func (il *idleLinks) idle(before int) {
	il.tb.Helper()
	want := before + idleGoroutinesPerEnd*2*len(il.peers)
	if !poll(func() bool { return runtime.NumGoroutine() == want && il.pooledBuffers() == 0 }) {
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		il.tb.Fatalf("%d idle links: %d goroutines more than without them, want %d per end (%d); %d large buffers held, want 0\n%s",
			len(il.peers), runtime.NumGoroutine()-before, idleGoroutinesPerEnd, want-before, il.pooledBuffers(), stacks.String())
	}
}

// pooledBuffers is the large session buffers every link end holds.
func (il *idleLinks) pooledBuffers() int {
	held := 0
	for _, n := range append([]*Node{il.hub}, il.peers...) {
		for _, l := range n.allLinks() {
			held += l.sess.Stats().PooledBuffers
		}
	}
	return held
}

// idleGoroutinesPerEnd is what one end of an idle link runs: the
// session's reader and writer and the chat link's serve loop (its
// delivery line runs a goroutine only while deliveries wait).
const idleGoroutinesPerEnd = 3

// tbWaitFor is waitFor for tests and benchmarks.
func tbWaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !poll(cond) {
		tb.Fatalf("timed out waiting for %s", what)
	}
}

// heapAndStacks is the memory in use: heap spans in use plus goroutine
// stacks, after full collections; and the bytes allocated so far.
func heapAndStacks() (heap, stacks, allocated uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse, ms.TotalAlloc
}

// linkEndCost is what linking changed, per link end (both ends of every
// link run in this process, and an idle link costs each end alike).
type linkEndCost struct {
	heap, stacks, goroutines float64
	// allocated is the bytes allocated while the link came up: garbage
	// that a process holds as RSS until its next collection.
	allocated float64
}

// idleLinkCost opens n idle links between in-process nodes in one room
// and returns what one link end costs.
func idleLinkCost(tb testing.TB, n int) linkEndCost {
	tb.Helper()
	return linkCost(tb, newIdleLinks(tb, n, "lobby"), func() {})
}

// catchUpLinkCost is idleLinkCost for links that first carried a
// catch-up: each peer is alone in a room of its own with msgs messages
// the hub lacks (so nothing is relayed between peers), and the hub is in
// all of them. Sync batches are large frames: what a link keeps after
// one is what this measures.
func catchUpLinkCost(tb testing.TB, n, msgs int) linkEndCost {
	tb.Helper()
	var hubRooms []string
	peerRooms := make([][]string, n)
	for i := range peerRooms {
		r := fmt.Sprintf("room-%d", i)
		hubRooms = append(hubRooms, r)
		peerRooms[i] = []string{r}
	}
	il := newIdleLinksIn(tb, hubRooms, peerRooms)
	ctx := context.Background()
	body := strings.Repeat("a catch-up message of some length ", 6)
	errs := make(chan error, n)
	for i, p := range il.peers {
		go func() {
			for range msgs {
				if _, _, err := p.Send(ctx, peerRooms[i][0], body); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			tb.Fatal(err)
		}
	}
	return linkCost(tb, il, func() {
		tbWaitFor(tb, "the hub to hold every peer's messages", func() bool {
			for _, r := range hubRooms {
				st, err := il.hub.store.RoomState(r)
				if err != nil || st.Count < uint64(msgs) {
					return false
				}
			}
			return true
		})
	})
}

// linkCost links il's nodes, waits for linked (what the links must have
// done first) and for them to be idle, and returns what linking cost per
// link end.
func linkCost(tb testing.TB, il *idleLinks, linked func()) linkEndCost {
	tb.Helper()
	n := len(il.peers)
	g0 := runtime.NumGoroutine() // the nodes' own, with no link
	h0, s0, a0 := heapAndStacks()
	il.linkAll()
	linked()
	il.idle(g0)
	g1 := runtime.NumGoroutine()
	h1, s1, a1 := heapAndStacks()
	ends := float64(2 * n)
	return linkEndCost{
		heap:       (float64(h1) - float64(h0)) / ends,
		stacks:     (float64(s1) - float64(s0)) / ends,
		goroutines: float64(g1-g0) / ends,
		allocated:  float64(a1-a0) / ends,
	}
}

// TestGoroutinesPerIdleLink pins what an idle link costs in goroutines:
// once the link-up syncs are over, each end runs exactly
// idleGoroutinesPerEnd, and no link holds a large buffer.
func TestGoroutinesPerIdleLink(t *testing.T) {
	before := lanchatGoroutines()
	t.Cleanup(func() { checkNoLeaks(t, before) })
	const links = 8
	il := newIdleLinks(t, links, "lobby", "second")
	g0 := runtime.NumGoroutine()
	il.linkAll()
	il.idle(g0)
}

// BenchmarkIdleLinkMemory reports what one end of an idle link costs in
// memory (heap in use + goroutine stacks, from runtime.MemStats) and in
// goroutines: 64 links between in-process nodes, after the link-up work.
// It measures once, whatever b.N (run it with -benchtime 1x).
func BenchmarkIdleLinkMemory(b *testing.B) {
	const links = 64
	c := idleLinkCost(b, links)
	for b.Loop() {
	}
	b.ReportMetric(c.heap+c.stacks, "B/link-end")
	b.ReportMetric(c.heap, "heap-B/link-end")
	b.ReportMetric(c.stacks, "stack-B/link-end")
	b.ReportMetric(c.goroutines, "goroutines/link-end")
	b.ReportMetric(c.allocated, "alloc-B/link-end")
}

// BenchmarkIdleLinkMemoryAfterCatchUp is BenchmarkIdleLinkMemory for 64
// links that each first carried a catch-up of 100 messages (a sync batch:
// a frame of tens of kilobytes), then went idle.
func BenchmarkIdleLinkMemoryAfterCatchUp(b *testing.B) {
	const links, msgs = 64, 100
	c := catchUpLinkCost(b, links, msgs)
	for b.Loop() {
	}
	b.ReportMetric(c.heap+c.stacks, "B/link-end")
	b.ReportMetric(c.heap, "heap-B/link-end")
	b.ReportMetric(c.stacks, "stack-B/link-end")
	b.ReportMetric(c.goroutines, "goroutines/link-end")
}

// BenchmarkManyRoomsLinkMemory is BenchmarkIdleLinkMemory for 8 links
// whose ends share 1,000 rooms (issue 19's node in 1,000 rooms), with the
// cost per link end and per room it shares.
func BenchmarkManyRoomsLinkMemory(b *testing.B) {
	const links, rooms = 8, 1000
	names := make([]string, rooms)
	for i := range names {
		names[i] = fmt.Sprintf("room-%04d", i)
	}
	c := linkCost(b, newIdleLinks(b, links, names...), func() {})
	for b.Loop() {
	}
	b.ReportMetric(c.heap+c.stacks, "B/link-end")
	b.ReportMetric((c.heap+c.stacks)/rooms, "B/link-end-room")
	b.ReportMetric(c.allocated/rooms, "alloc-B/link-end-room")
}
