package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/discovery/discoverytest"
)

const seeWithin = 5 * time.Second // deadline for polls, never an assertion on speed

func TestNodesOnOneHostSeeEachOther(t *testing.T) {
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			checkGoroutines(t)
			port := discoverytest.FreePort(t)
			nodes := make([]*node, n)
			for i := range nodes {
				nodes[i] = loopbackNode(t, byte(i+1), port)
			}
			for _, a := range nodes {
				waitFor(t, seeWithin, fmt.Sprintf("%v to see all %d others", a.id.Public(), n-1), func() bool {
					return len(a.Peers()) == n-1
				})
			}
			for _, a := range nodes {
				for _, b := range nodes {
					if a == b {
						if hasPeer(a.Service, a.id.Public()) {
							t.Errorf("%v lists itself", a.id.Public())
						}
						continue
					}
					p, ok := findPeer(a.Service, b.id.Public())
					if !ok {
						t.Fatalf("%v does not list %v", a.id.Public(), b.id.Public())
					}
					if p.Instance != b.Instance() || !p.Addr.Addr().IsLoopback() {
						t.Errorf("%v sees %v as %+v, want instance %x on loopback", a.id.Public(), b.id.Public(), p, b.Instance())
					}
				}
			}
		})
	}
}

func TestByeRemovesPeerAtOnce(t *testing.T) {
	checkGoroutines(t)
	port := discoverytest.FreePort(t)
	a := loopbackNode(t, 1, port)
	cfg := loopbackConfig(testIdentity(t, 2), port)
	cfg.Interval = 10 * time.Second // expiry (30 s) cannot be what removes it
	b := startNode(t, cfg)
	nextEvent(t, a.Service, Appeared, b.id.Public(), seeWithin)
	b.stop()
	ev := nextEvent(t, a.Service, Left, b.id.Public(), seeWithin)
	if ev.Peer.Instance != b.Instance() {
		t.Errorf("Left for instance %x, want %x", ev.Peer.Instance, b.Instance())
	}
	if hasPeer(a.Service, b.id.Public()) {
		t.Error("peer still listed after its bye")
	}
}

// sendRaw sends datagrams from a socket bound to from (a loopback address)
// to the loopback broadcast address on port.
func sendRaw(t *testing.T, from string, port int, datagrams ...[]byte) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatalf("raw socket: %v", err)
	}
	defer c.Close()
	if err := setBroadcast(c); err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(netip.MustParseAddr(discoverytest.LoopbackBroadcast), uint16(port))
	for _, d := range datagrams {
		if _, err := c.WriteToUDPAddrPort(d, dst); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

func setBroadcast(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return shareSocket("udp4", "", rc)
}

func TestSilentNodeExpires(t *testing.T) {
	checkGoroutines(t)
	port := discoverytest.FreePort(t)
	a := loopbackNode(t, 1, port)
	ghost := testIdentity(t, 9)
	sendRaw(t, "127.0.0.1", port, beaconFrom(t, ghost, Beacon{TCPPort: 7000, Interval: 100 * time.Millisecond}))
	nextEvent(t, a.Service, Appeared, ghost.Public(), seeWithin)
	ev := nextEvent(t, a.Service, Expired, ghost.Public(), seeWithin)
	if ev.Peer.Addr.Port() != 7000 {
		t.Errorf("expired peer %+v", ev.Peer)
	}
	if hasPeer(a.Service, ghost.Public()) {
		t.Error("expired peer still listed")
	}
}

// The peer's address is the datagram's source IP, whatever the payload
// says: here a nickname that looks like an address.
func TestPeerAddressIsDatagramSource(t *testing.T) {
	checkGoroutines(t)
	port := discoverytest.FreePort(t)
	a := loopbackNode(t, 1, port)
	other := testIdentity(t, 7)
	p := beaconFrom(t, other, Beacon{TCPPort: 4242, Nickname: "10.9.8.7:4000"})
	sendRaw(t, "127.0.0.2", port, p)
	ev := nextEvent(t, a.Service, Appeared, other.Public(), seeWithin)
	want := netip.MustParseAddrPort("127.0.0.2:4242")
	if ev.Peer.Addr != want {
		t.Errorf("peer address %v, want the datagram source with the beacon port %v", ev.Peer.Addr, want)
	}
	if got, _ := findPeer(a.Service, other.Public()); got.Addr != want {
		t.Errorf("table holds %v, want %v", got.Addr, want)
	}
}

// A flood of junk leaves the table and memory bounded, and a real peer
// still appears afterwards.
func TestJunkFloodIsBounded(t *testing.T) {
	checkGoroutines(t)
	port := discoverytest.FreePort(t)
	a := loopbackNode(t, 1, port)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	flood := junkDatagrams(t, 10000)
	sendRaw(t, "127.0.0.3", port, flood...)
	waitFor(t, seeWithin, "the flood to be read", func() bool {
		st := a.Stats()
		return st.Junk+st.BadSignature+st.RateLimited+st.OffLink > 100
	})
	b := loopbackNode(t, 2, port)
	waitFor(t, seeWithin, "a real peer to appear after the flood", func() bool { return hasPeer(a.Service, b.id.Public()) })

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes during the flood", grew)
	}
	if n, gone := a.table.sizes(); n > 1 || gone > 0 {
		t.Errorf("table holds %d peers and %d tombstones after the flood, want only the real peer", n, gone)
	}
	if n := a.limiter.size(); n > 3 {
		t.Errorf("rate limiter tracks %d sources", n)
	}
	st := a.Stats()
	if st.Accepted == 0 || st.BadSignature+st.RateLimited == 0 || st.Junk == 0 {
		t.Errorf("stats %+v: want junk, rejected signatures and accepted beacons", st)
	}
}

// junkDatagrams returns n datagrams that must all be refused: random bytes,
// truncated beacons, and well-formed beacons with broken signatures.
func junkDatagrams(t *testing.T, n int) [][]byte {
	good := beaconFrom(t, testIdentity(t, 8), Beacon{TCPPort: 1})
	out := make([][]byte, 0, n)
	for i := range n {
		switch i % 3 {
		case 0:
			out = append(out, []byte(fmt.Sprintf("junk %d", i)))
		case 1:
			out = append(out, good[:len(good)-1-i%50])
		default:
			bad := append([]byte(nil), good...)
			bad[len(bad)-1-i%64] ^= byte(1 + i%255)
			copyUint64(bad[offSeq:], uint64(i+2))
			out = append(out, bad)
		}
	}
	return out
}

func copyUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// Two nodes with one identity (a copied data dir): neither lists itself,
// and each reports the conflict.
func TestSameIdentityTwiceIsAConflict(t *testing.T) {
	checkGoroutines(t)
	port := discoverytest.FreePort(t)
	id := testIdentity(t, 1)
	var mu sync.Mutex
	var logs []string
	cfg := loopbackConfig(id, port)
	cfg.Logf = func(f string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(f, args...))
	}
	a := startNode(t, cfg)
	b := startNode(t, loopbackConfig(id, port))
	waitFor(t, seeWithin, "the conflict to be noticed", func() bool { return a.Stats().Conflicts > 0 && b.Stats().Conflicts > 0 })
	if len(a.Peers()) != 0 || len(b.Peers()) != 0 {
		t.Errorf("a node with our own identity entered the table: %v %v", a.Peers(), b.Peers())
	}
	if a.Stats().Own == 0 {
		t.Error("own beacons were not recognised")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) == 0 {
		t.Error("conflict not logged")
	}
}

func TestRunTwiceFails(t *testing.T) {
	checkGoroutines(t)
	a := loopbackNode(t, 1, discoverytest.FreePort(t))
	waitFor(t, seeWithin, "the first Run to start", a.started.Load)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // should it run after all, it stops at once
	if err := a.Run(ctx); err == nil {
		t.Fatal("second Run succeeded")
	}
}

// A port held by a socket that does not share it makes Run fail with an
// error naming the socket, and Events is closed.
func TestRunReportsSocketError(t *testing.T) {
	checkGoroutines(t)
	hog, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	s, err := New(loopbackConfig(testIdentity(t, 1), hog.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "beacon socket") {
		t.Fatalf("Run = %v, want a beacon socket error", err)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("Events not closed after Run returned")
	}
}

func TestRunStopsWithCancelledContext(t *testing.T) {
	checkGoroutines(t)
	s, err := New(loopbackConfig(testIdentity(t, 1), discoverytest.FreePort(t)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil after a clean stop", err)
	}
	if st := s.Stats(); st.Sent != 1+byeCount {
		t.Errorf("sent %d beacons, want the first one and %d byes", st.Sent, byeCount)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("Events not closed after Run returned")
	}
}

func TestEventsDropWhenConsumerIsSlow(t *testing.T) {
	s := offlineService(t, func(c *Config) { c.EventBuffer = 2 })
	now := time.Now()
	for i := range 5 {
		id := testIdentity(t, byte(10+i))
		s.handle(beaconFrom(t, id, Beacon{TCPPort: 1}), netip.MustParseAddrPort("10.1.2.10:44721"), now)
	}
	if len(s.Peers()) != 5 {
		t.Fatalf("%d peers, want 5", len(s.Peers()))
	}
	if got := s.Stats().EventsDropped; got != 3 {
		t.Errorf("EventsDropped = %d, want 3", got)
	}
}
