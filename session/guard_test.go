package session

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestGuard(cfg GuardConfig) (*Guard, *fakeClock) {
	g := NewGuard(cfg)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	g.now = clock.Now
	return g, clock
}

func tcpAddr(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000} }

func TestGuardRatePerIP(t *testing.T) {
	g, clock := newTestGuard(GuardConfig{MaxHandshakes: 100, HandshakeRate: 20, HandshakeBurst: 5})
	admit := func(ip string) error {
		release, err := g.Admit(tcpAddr(ip))
		if err == nil {
			release()
		}
		return err
	}
	for i := range 5 {
		if err := admit("10.0.0.1"); err != nil {
			t.Fatalf("handshake %d of the burst: %v", i, err)
		}
	}
	if err := admit("10.0.0.1"); !errors.Is(err, ErrGuardRate) {
		t.Fatalf("handshake 6: %v, want ErrGuardRate", err)
	}
	if err := admit("10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if err := admit("::ffff:10.0.0.1"); !errors.Is(err, ErrGuardRate) {
		t.Fatalf("the same address, IPv4-mapped: %v, want ErrGuardRate", err)
	}
	clock.Advance(50 * time.Millisecond) // one token at 20/s
	if err := admit("10.0.0.1"); err != nil {
		t.Fatalf("after 50 ms: %v", err)
	}
	if err := admit("10.0.0.1"); !errors.Is(err, ErrGuardRate) {
		t.Fatalf("second after 50 ms: %v, want ErrGuardRate", err)
	}
	clock.Advance(time.Hour) // refills to the burst, not beyond
	for i := range 5 {
		if err := admit("10.0.0.1"); err != nil {
			t.Fatalf("after an hour, handshake %d: %v", i, err)
		}
	}
	if err := admit("10.0.0.1"); !errors.Is(err, ErrGuardRate) {
		t.Fatalf("after an hour, handshake 6: %v, want ErrGuardRate", err)
	}
	if s := g.Stats(); s.RefusedRate != 4 || s.InFlight != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGuardHandshakesInFlight(t *testing.T) {
	g, _ := newTestGuard(GuardConfig{MaxHandshakes: 2, HandshakeBurst: 100})
	r1, err1 := g.Admit(tcpAddr("10.0.0.1"))
	r2, err2 := g.Admit(tcpAddr("10.0.0.2"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := g.Admit(tcpAddr("10.0.0.3")); !errors.Is(err, ErrGuardBusy) {
		t.Fatalf("third: %v, want ErrGuardBusy", err)
	}
	r1()
	r1() // idempotent
	if s := g.Stats(); s.InFlight != 1 {
		t.Fatalf("in flight %d after one release, want 1", s.InFlight)
	}
	r3, err := g.Admit(tcpAddr("10.0.0.3"))
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	r2()
	r3()
}

func TestGuardRemembersBoundedSources(t *testing.T) {
	g, clock := newTestGuard(GuardConfig{MaxSources: 2, HandshakeBurst: 1, HandshakeRate: 1})
	r1, _ := g.Admit(tcpAddr("10.0.0.1"))
	if _, err := g.Admit(tcpAddr("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	// Full: 10.0.0.1 has a handshake in flight, 10.0.0.2 an empty bucket.
	if _, err := g.Admit(tcpAddr("10.0.0.3")); !errors.Is(err, ErrGuardBusy) {
		t.Fatalf("third source: %v, want ErrGuardBusy", err)
	}
	r1()
	clock.Advance(time.Second) // both buckets full again: forgettable
	if _, err := g.Admit(tcpAddr("10.0.0.3")); err != nil {
		t.Fatalf("third source after the others went idle: %v", err)
	}
	if s := g.Stats(); s.Sources > 2 {
		t.Fatalf("remembers %d sources, bound 2", s.Sources)
	}
}

// acceptLoop serves ln with g until the test ends, sending each result.
func acceptLoop(t *testing.T, ln net.Listener, g *Guard, cfg Config) <-chan linkResult {
	results := make(chan linkResult, 64)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := g.Accept(ctx, conn, cfg)
				if l != nil {
					t.Cleanup(func() { l.Close("test over") })
				}
				results <- linkResult{l, err}
			}()
		}
	}()
	return results
}

func dialVia(t *testing.T, addr string, cfg Config) linkResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	l, err := Dial(ctx, conn, cfg)
	if l != nil {
		t.Cleanup(func() { l.Close("test over") })
	}
	return linkResult{l, err}
}

func TestGuardLinksPerIP(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	g := NewGuard(GuardConfig{MaxLinksPerIP: 2, HandshakeBurst: 100, HandshakeRate: 1000})
	ln := sessiontest.Listen(t)
	results := acceptLoop(t, ln, g, acfg)
	var links []*Link
	for i := range 2 {
		d := dialVia(t, ln.Addr().String(), dcfg)
		a := <-results
		if d.err != nil || a.err != nil {
			t.Fatalf("link %d: dial %v, accept %v", i, d.err, a.err)
		}
		links = append(links, d.link)
	}
	// A third from the same IP is refused before a byte is exchanged.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if a := <-results; !errors.Is(a.err, ErrGuardLinks) {
		t.Fatalf("third link: %v, want ErrGuardLinks", a.err)
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("refused conn read %d bytes, %v; want EOF", n, err)
	}
	// When a link ends its slot is free again.
	links[0].Close("make room")
	sessiontest.Eventually(t, waitLimit, "the guard sees the link end", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.sources[addrIP(ln.Addr())].links == 1
	})
	d := dialVia(t, ln.Addr().String(), dcfg)
	if a := <-results; d.err != nil || a.err != nil {
		t.Fatalf("link after one closed: dial %v, accept %v", d.err, a.err)
	}
}

// TestGuardStalledHandshakes: connections that never speak hold every
// handshake slot; newcomers are refused at once rather than queued, the
// deadline frees the slots, and then a real peer links.
func TestGuardStalledHandshakes(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	acfg.HandshakeTimeout = 200 * time.Millisecond
	g := NewGuard(GuardConfig{MaxHandshakes: 4, HandshakeBurst: 100, HandshakeRate: 1000})
	ln := sessiontest.Listen(t)
	results := acceptLoop(t, ln, g, acfg)
	for range 4 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	sessiontest.Eventually(t, waitLimit, "4 stalled handshakes", func() bool { return g.Stats().InFlight == 4 })
	late := dialVia(t, ln.Addr().String(), dcfg)
	if a := <-results; !errors.Is(a.err, ErrGuardShare) || late.err == nil {
		t.Fatalf("while full: accept %v (want ErrGuardShare: one address holds them all), dial %v", a.err, late.err)
	}
	for range 4 {
		if a := <-results; !errors.Is(a.err, context.DeadlineExceeded) && !isTimeout(a.err) {
			t.Fatalf("stalled handshake: %v, want the deadline", a.err)
		}
	}
	d := dialVia(t, ln.Addr().String(), dcfg)
	if a := <-results; d.err != nil || a.err != nil {
		t.Fatalf("after the stallers: dial %v, accept %v", d.err, a.err)
	}
	if s := g.Stats(); s.RefusedShare != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
