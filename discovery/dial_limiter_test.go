package discovery

import (
	"math/bits"
	"net/netip"
	"testing"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// dialBound is the documented bound: 1 + ⌊log₂(T/base + 1)⌋ dials in T
// (while the backoff is below its maximum, true up to ~8 minutes).
func dialBound(window time.Duration) int {
	return 1 + (bits.Len64(uint64(window/DialBackoffBase)+1) - 1) // ⌊log₂ m⌋ = bit length − 1
}

func TestDialLimiterBound(t *testing.T) {
	victim := netip.MustParseAddrPort("10.1.2.99:8080")
	for _, tc := range []struct {
		window time.Duration
		want   int
	}{{10 * time.Second, 4}, {time.Minute, 6}, {8 * time.Minute, 9}, {10 * time.Minute, 10}} {
		d := NewDialLimiter()
		allowed := 0
		const tries = 10000
		for i := range tries {
			if d.Allow(victim, t0.Add(tc.window*time.Duration(i)/tries)) {
				allowed++
			}
		}
		if allowed != tc.want {
			t.Errorf("%v: %d dials allowed out of %d tries, want %d", tc.window, allowed, tries, tc.want)
		}
		if tc.window <= 8*time.Minute && allowed > dialBound(tc.window) {
			t.Errorf("%v: %d dials, documented bound %d", tc.window, allowed, dialBound(tc.window))
		}
	}
}

func TestDialLimiterSuccessResetsAndAddressesAreIndependent(t *testing.T) {
	d := NewDialLimiter()
	a, b := netip.MustParseAddrPort("10.1.2.3:1"), netip.MustParseAddrPort("10.1.2.4:1")
	if !d.Allow(a, t0) || d.Allow(a, t0) {
		t.Fatal("first dial refused, or a second one at once allowed")
	}
	if !d.Allow(b, t0) {
		t.Fatal("another address was held back")
	}
	d.Success(a)
	if !d.Allow(a, t0) {
		t.Fatal("Success did not reset the backoff")
	}
}

func TestDialLimiterIsBounded(t *testing.T) {
	d := NewDialLimiter()
	for i := range DialLimiterSize + 100 {
		d.Allow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1), t0)
	}
	if n := len(d.targets); n != DialLimiterSize {
		t.Fatalf("tracks %d addresses, want the cap %d", n, DialLimiterSize)
	}
	later := netip.MustParseAddrPort("10.9.9.9:1")
	if d.Allow(later, t0) {
		t.Fatal("a new address was allowed while the limiter was full of fresh ones")
	}
	if !d.Allow(later, t0.Add(DialBackoffMax+DialBackoffBase)) {
		t.Fatal("old entries were not forgotten once quiet")
	}
}

// 10,000 spoofed beacons naming a victim (its IP as source, its port as
// TCP port) through the real receive path, with a node that would dial
// every peer it hears (all keys trusted: the worst case), on every event
// and every redial tick. The dials allowed stay within the bound.
func TestSpoofedBeaconsDialVictimWithinBound(t *testing.T) {
	s := offlineService(t, nil)
	victim := netip.MustParseAddrPort("10.1.2.99:8080")
	limiter := NewDialLimiter()
	const n, keys = 10000, 100
	step := time.Millisecond
	window := n * step
	ids := make([]*crypto.Identity, keys)
	for k := range ids {
		ids[k] = testIdentity(t, byte(k+1))
	}
	dials, events := 0, 0
	nextTick := t0
	for i := range n {
		p := beaconFrom(t, ids[i%keys], Beacon{TCPPort: victim.Port(), Seq: uint64(i/keys + 1)})
		now := t0.Add(time.Duration(i) * step)
		s.handle(p, netip.AddrPortFrom(victim.Addr(), 12345), now)
		for drained := false; !drained; {
			select {
			case ev := <-s.Events():
				events++
				if ev.Kind != Left && ev.Kind != Expired && limiter.Allow(ev.Peer.Addr, now) {
					dials++
				}
			default:
				drained = true
			}
		}
		if !now.Before(nextTick) { // the chat node's redial scan
			for _, p := range s.table.list() {
				if limiter.Allow(p.Addr, now) {
					dials++
				}
			}
			nextTick = now.Add(500 * time.Millisecond)
		}
	}
	if events == 0 || dials == 0 {
		t.Fatalf("no events (%d) or dials (%d): the test exercised nothing", events, dials)
	}
	if bound := dialBound(window); dials > bound {
		t.Fatalf("%d dials to the victim in %v, bound %d", dials, window, bound)
	}
	t.Logf("%d beacons, %d events, %d dials (bound %d), stats %+v", n, events, dials, dialBound(window), s.Stats())
}
