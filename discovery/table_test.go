package discovery

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// step is one datagram fed to an offline service, and what must follow.
type step struct {
	name string
	p    []byte
	from string        // source address
	at   time.Duration // after t0
	want EventKind     // 0: no event
}

func runSteps(t *testing.T, s *Service, steps []step) {
	t.Helper()
	for _, st := range steps {
		s.handle(st.p, netip.MustParseAddrPort(st.from), t0.Add(st.at))
		var got EventKind
		select {
		case ev := <-s.Events():
			got = ev.Kind
		default:
		}
		if got != st.want {
			t.Fatalf("%s: event %v, want %v", st.name, got, st.want)
		}
	}
}

func TestTableLifecycle(t *testing.T) {
	s := offlineService(t, nil)
	id := testIdentity(t, 1)
	i1, i2 := [InstanceSize]byte{1}, [InstanceSize]byte{2}
	b := func(inst [InstanceSize]byte, seq uint64, port uint16, bye bool) []byte {
		return beaconFrom(t, id, Beacon{Instance: inst, Seq: seq, TCPPort: port, Bye: bye})
	}
	runSteps(t, s, []step{
		{"first beacon", b(i1, 1, 7000, false), "10.1.2.10:1", 0, Appeared},
		{"same beacon again", b(i1, 1, 7000, false), "10.1.2.10:1", 1, 0},
		{"next beacon", b(i1, 2, 7000, false), "10.1.2.10:1", 2, 0},
		{"new source IP", b(i1, 3, 7000, false), "10.1.2.11:1", 3, AddressChanged},
		{"new TCP port", b(i1, 4, 7001, false), "10.1.2.11:1", 4, AddressChanged},
		{"new source port only", b(i1, 5, 7001, false), "10.1.2.11:9", 5, 0},
		{"restart", b(i2, 1, 7001, false), "10.1.2.11:1", 6, Restarted},
		{"old run replayed", b(i1, 5, 7001, false), "10.1.2.11:1", 7, 0},
		{"bye of the old run", b(i1, 6, 7001, true), "10.1.2.11:1", 8, 0},
		{"old run after its bye", b(i1, 7, 7001, false), "10.1.2.11:1", 9, 0},
		{"bye", b(i2, 2, 7001, true), "10.1.2.11:1", 10, Left},
		{"bye replayed", b(i2, 2, 7001, true), "10.1.2.11:1", 11, 0},
		{"announce replayed after bye", b(i2, 1, 7001, false), "10.1.2.11:1", 12, 0},
		{"announce after bye, newer sequence", b(i2, 3, 7001, false), "10.1.2.11:1", 13, 0},
		{"next run", b([InstanceSize]byte{3}, 1, 7001, false), "10.1.2.12:1", 14, Appeared},
	})
	p, ok := findPeer(s, id.Public())
	if !ok || p.Addr != netip.MustParseAddrPort("10.1.2.12:7001") || p.Instance != ([InstanceSize]byte{3}) {
		t.Fatalf("peer %+v, %v", p, ok)
	}
	if p.FirstSeen != t0.Add(14) || p.LastSeen != t0.Add(14) {
		t.Errorf("first/last seen %v/%v", p.FirstSeen, p.LastSeen)
	}
}

func TestPeerExpiresAfterThreeIntervals(t *testing.T) {
	s := offlineService(t, nil)
	id := testIdentity(t, 1)
	s.handle(beaconFrom(t, id, Beacon{Interval: 200 * time.Millisecond}), netip.MustParseAddrPort("10.1.2.10:1"), t0)
	<-s.Events()
	s.sweep(t0.Add(ExpiryIntervals * 200 * time.Millisecond))
	if _, ok := findPeerNoSweep(s, id.Public()); !ok {
		t.Fatal("expired at exactly three intervals")
	}
	s.sweep(t0.Add(ExpiryIntervals*200*time.Millisecond + 1))
	select {
	case ev := <-s.Events():
		if ev.Kind != Expired || ev.Peer.Key != id.Public() {
			t.Fatalf("event %+v, want Expired", ev)
		}
	default:
		t.Fatal("no Expired event")
	}
	if _, ok := findPeerNoSweep(s, id.Public()); ok {
		t.Fatal("expired peer still listed")
	}
	// Its old beacons stay refused: the history outlives the entry.
	s.handle(beaconFrom(t, id, Beacon{Interval: 200 * time.Millisecond}), netip.MustParseAddrPort("10.1.2.10:1"), t0.Add(time.Second))
	if _, ok := findPeerNoSweep(s, id.Public()); ok {
		t.Fatal("a replayed beacon brought an expired peer back")
	}
}

func findPeerNoSweep(s *Service, key crypto.IdentityKey) (Peer, bool) {
	for _, p := range s.table.list() {
		if p.Key == key {
			return p, true
		}
	}
	return Peer{}, false
}

// Forged, corrupted and replayed beacons change nothing and emit nothing.
func TestForgedAndReplayedBeaconsChangeNothing(t *testing.T) {
	s := offlineService(t, nil)
	victim := testIdentity(t, 1)
	attacker := testIdentity(t, 2)
	from := netip.MustParseAddrPort("10.1.2.10:1")
	hello := beaconFrom(t, victim, Beacon{TCPPort: 7000, Seq: 5})
	s.handle(hello, from, t0)
	<-s.Events()
	before := s.Peers()

	forgedBye := beaconFrom(t, attacker, Beacon{Bye: true, TCPPort: 7000, Seq: 6})
	copy(forgedBye[offKey:], victim.Public().Bytes()) // claims the victim's key
	moved := beaconFrom(t, attacker, Beacon{TCPPort: 9999, Seq: 7})
	copy(moved[offKey:], victim.Public().Bytes())
	flipped := beaconFrom(t, victim, Beacon{TCPPort: 7000, Seq: 8})
	flipped[len(flipped)-5] ^= 0x10
	oldBye := beaconFrom(t, victim, Beacon{Bye: true, TCPPort: 7000, Seq: 4}) // recorded before the hello
	attackerFrom := netip.MustParseAddrPort("10.1.2.66:1")
	for name, p := range map[string][]byte{
		"forged bye": forgedBye, "forged move": moved, "bad signature": flipped,
		"replayed hello": hello, "replayed older bye": oldBye,
	} {
		s.handle(p, attackerFrom, t0.Add(time.Millisecond))
		select {
		case ev := <-s.Events():
			t.Errorf("%s: event %+v", name, ev)
		default:
		}
	}
	after := s.Peers()
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("table changed:\nbefore %+v\nafter  %+v", before, after)
	}
	st := s.Stats()
	if st.BadSignature != 3 || st.Replayed != 2 {
		t.Errorf("stats %+v: want 3 bad signatures, 2 replays", st)
	}
}

func TestOffLinkSourcesAreRefused(t *testing.T) {
	s := offlineService(t, nil)
	id := testIdentity(t, 1)
	for _, from := range []string{"203.0.113.9:1", "10.1.3.1:1", "[2001:db8::1]:1", "[fe80::2%other]:1"} {
		s.handle(beaconFrom(t, id, Beacon{TCPPort: 1}), netip.MustParseAddrPort(from), t0)
	}
	if n := len(s.Peers()); n != 0 || s.Stats().OffLink != 4 {
		t.Fatalf("%d peers, stats %+v: off-link sources must be refused", n, s.Stats())
	}
	s.handle(beaconFrom(t, id, Beacon{TCPPort: 1}), netip.MustParseAddrPort("[fe80::2%eth0]:1"), t0)
	if p, ok := findPeer(s, id.Public()); !ok || p.Addr.String() != "[fe80::2%eth0]:1" {
		t.Fatalf("link-local source with our zone: %+v %v", p, ok)
	}
}

func TestTableIsBounded(t *testing.T) {
	s := offlineService(t, func(c *Config) { c.MaxPeers = 8 })
	for i := range 20 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 2, byte(10 + i)}), 1)
		s.handle(beaconFrom(t, testIdentity(t, byte(i+1)), Beacon{TCPPort: 1}), from, t0)
	}
	if n := len(s.Peers()); n != 8 || s.Stats().TableFull != 12 {
		t.Fatalf("%d peers, stats %+v; want 8 peers and 12 refused", n, s.Stats())
	}

	s = offlineService(t, nil)
	for i := range maxPeersPerSource + 5 {
		s.handle(beaconFrom(t, testIdentity(t, byte(i+1)), Beacon{TCPPort: 1}), netip.MustParseAddrPort("10.1.2.10:1"), t0)
	}
	if n := len(s.Peers()); n != maxPeersPerSource {
		t.Fatalf("one source holds %d peers, want at most %d", n, maxPeersPerSource)
	}
	s.handle(beaconFrom(t, testIdentity(t, 200), Beacon{TCPPort: 1}), netip.MustParseAddrPort("10.1.2.11:1"), t0)
	if !hasPeer(s, testIdentity(t, 200).Public()) {
		t.Fatal("a full source kept another source's peer out")
	}
}

// One source cannot make us check more than the per-source budget of
// signatures; its beacons over budget are counted and dropped unverified.
func TestPerSourceRateLimitBeforeVerify(t *testing.T) {
	s := offlineService(t, nil)
	id := testIdentity(t, 1)
	from := netip.MustParseAddrPort("10.1.2.10:1")
	bad := beaconFrom(t, id, Beacon{TCPPort: 1})
	bad[len(bad)-1] ^= 1
	const n = 1000
	for range n {
		s.handle(bad, from, t0) // one instant: no refill
	}
	st := s.Stats()
	if st.BadSignature != perSourceBurst || st.RateLimited != n-perSourceBurst {
		t.Fatalf("stats %+v: want %d verified, %d rate-limited", st, perSourceBurst, n-perSourceBurst)
	}
	// Another source is not starved by the first.
	s.handle(beaconFrom(t, testIdentity(t, 2), Beacon{TCPPort: 1}), netip.MustParseAddrPort("10.1.2.11:1"), t0)
	if !hasPeer(s, testIdentity(t, 2).Public()) {
		t.Fatal("a flooding source starved another one")
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{Appeared: "appeared", AddressChanged: "address-changed",
		Restarted: "restarted", Left: "left", Expired: "expired", 99: "EventKind(99)"} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", k, k.String(), want)
		}
	}
}
