package session

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// holdSlots is an attacker on srcIP that opens connections to addr, sends
// a well-formed Noise message 1 on each and then nothing, and opens a new
// one whenever one is cut, until the test ends. It returns how many
// connections it has opened so far.
func holdSlots(t *testing.T, srcIP, addr string, conns int) func() int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var opened atomic.Int64
	t.Cleanup(func() { cancel(); wg.Wait() })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(srcIP)}}
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// The attacker paces itself a little, so the test does not
				// spend the machine on refused connections.
				select {
				case <-time.After(2 * time.Millisecond):
				case <-ctx.Done():
					return
				}
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					continue
				}
				opened.Add(1)
				msg1 := make([]byte, 2+32)
				msg1[1] = 32
				_, _ = rand.Read(msg1[2:])
				if _, err := c.Write(msg1); err == nil {
					stop := context.AfterFunc(ctx, func() { c.Close() })
					// Never answer; wait until the responder cuts us.
					_, _ = c.Read(make([]byte, 1<<16))
					for err == nil {
						_, err = c.Read(make([]byte, 1<<16))
					}
					stop()
				}
				c.Close()
			}
		}()
	}
	return opened.Load
}

// TestGuardOneAddressCannotHoldEverySlot: an attacker on 127.0.0.2 holds
// handshakes open (message 1, then silence) on 16 connections and
// reconnects whenever one is cut; with the default guard a real peer on
// 127.0.0.1 still links, again and again.
func TestGuardOneAddressCannotHoldEverySlot(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	acfg.HandshakeTimeout = time.Second // attackers are cut, and come back
	g := NewGuard(DefaultGuardConfig())
	ln := sessiontest.Listen(t)
	// Only links reach results; refusals and cut attackers are counted.
	results := make(chan linkResult, 16)
	var timedOut atomic.Int64
	all := acceptLoop(t, ln, g, acfg)
	go func() {
		for r := range all {
			switch {
			case r.link != nil:
				results <- r
			case isTimeout(r.err) || errors.Is(r.err, context.DeadlineExceeded):
				timedOut.Add(1)
			}
		}
	}()
	opened := holdSlots(t, "127.0.0.2", ln.Addr().String(), 16)
	sessiontest.Eventually(t, waitLimit, "the attacker to hold all it can", func() bool {
		s := g.Stats()
		return s.RefusedShare+s.RefusedBusy > 0
	})
	for i := range 3 {
		d := dialVia(t, ln.Addr().String(), dcfg)
		if d.err != nil {
			t.Fatalf("real peer, try %d: %v (stats %+v)", i, d.err, g.Stats())
		}
		<-results
		d.link.Close("next")
		// Let the deadline cut the attacker's handshakes, and the attacker
		// take the slots again, before the next try.
		cut := timedOut.Load()
		sessiontest.Eventually(t, waitLimit, "the attacker cut and back", func() bool {
			return timedOut.Load() >= cut+4 && g.Stats().InFlight >= 4
		})
	}
	s := g.Stats()
	if s.InFlight > DefaultGuardConfig().MaxHandshakesPerIP+1 {
		t.Fatalf("%d handshakes in flight, most of them the attacker's", s.InFlight)
	}
	t.Logf("attacker opened %d connections, %d cut by the deadline; stats %+v", opened(), timedOut.Load(), s)
}

// TestGuardPreemptsTheBusiestAddress: when every slot is taken, a newcomer
// from an address with fewer handshakes cuts the oldest handshake of the
// address with the most, never one of an address with as few as its own.
func TestGuardPreemptsTheBusiestAddress(t *testing.T) {
	g, _ := newTestGuard(GuardConfig{MaxHandshakes: 4, MaxHandshakesPerIP: 3, HandshakeBurst: 100})
	var cuts []string
	admit := func(ip, name string) (func(), error) {
		return g.admit(addrIP(tcpAddr(ip)), func() { cuts = append(cuts, name) })
	}
	var releases []func()
	for i, ip := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"} {
		r, err := admit(ip, ip+"#"+string(rune('a'+i)))
		if err != nil {
			t.Fatalf("handshake %d from %s: %v", i, ip, err)
		}
		releases = append(releases, r)
	}
	if _, err := admit("10.0.0.1", "fourth"); !errors.Is(err, ErrGuardShare) {
		t.Fatalf("a fourth from 10.0.0.1: %v, want ErrGuardShare", err)
	}
	r3, err := admit("10.0.0.3", "newcomer")
	if err != nil {
		t.Fatalf("newcomer while full: %v", err)
	}
	if len(cuts) != 1 || cuts[0] != "10.0.0.1#a" {
		t.Fatalf("cut %v, want the oldest of 10.0.0.1", cuts)
	}
	// 10.0.0.1 now has 2, the others one each: a newcomer still cuts one
	// of 10.0.0.1's (2 ≥ 0+2); then every address has one and the next
	// newcomer is refused.
	r4, err := admit("10.0.0.4", "second newcomer")
	if err != nil || len(cuts) != 2 || cuts[1] != "10.0.0.1#b" {
		t.Fatalf("second newcomer: %v, cut %v", err, cuts)
	}
	if _, err := admit("10.0.0.5", "late"); !errors.Is(err, ErrGuardBusy) {
		t.Fatalf("a newcomer when every address has one: %v, want ErrGuardBusy", err)
	}
	releases[0]() // the preempted one: its slot is already gone
	releases[1]()
	if s := g.Stats(); s.InFlight != 4 || s.Preempted != 2 {
		t.Fatalf("stats %+v, want 4 in flight, 2 preempted", s)
	}
	for _, r := range append(releases[2:], r3, r4) {
		r()
	}
	if s := g.Stats(); s.InFlight != 0 {
		t.Fatalf("in flight %d after every release", s.InFlight)
	}
}

// TestGuardManyAddressesCannotHoldEverySlot: four attacker addresses take
// their share each (4 × 4 = every slot); a real peer from a fifth address
// cuts one of their handshakes and links.
func TestGuardManyAddressesCannotHoldEverySlot(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	g := NewGuard(DefaultGuardConfig())
	ln := sessiontest.Listen(t)
	results := acceptLoop(t, ln, g, acfg)
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		holdSlots(t, ip, ln.Addr().String(), 6)
	}
	sessiontest.Eventually(t, waitLimit, "the attackers to hold every slot", func() bool {
		return g.Stats().InFlight == DefaultGuardConfig().MaxHandshakes
	})
	d := dialVia(t, ln.Addr().String(), dcfg)
	if d.err != nil {
		t.Fatalf("real peer: %v (stats %+v)", d.err, g.Stats())
	}
	for a := range results { // attackers' refusals and cuts come first
		if a.link != nil {
			break
		}
	}
	if s := g.Stats(); s.Preempted < 1 {
		t.Fatalf("stats %+v, want a preempted handshake", s)
	}
}
