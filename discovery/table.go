package discovery

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// tombstoneTTL is how long the instance history of a peer that left or
// expired is kept, so replays of its old beacons stay refused.
const tombstoneTTL = 10 * time.Minute

// outcome says what the table did with an accepted beacon.
type outcome uint8

const (
	outEvent     outcome = iota + 1 // the table changed: an event
	outRefreshed                    // known peer, LastSeen moved
	outReplay                       // sequence not newer, or instance said bye
	outFull                         // new identity refused: table or source full
	outIgnored                      // a bye for an instance that is not current
)

type entry struct {
	Peer
	hist history
}

type tombstone struct {
	hist  history
	until time.Time
}

// table is the peer table: bounded, with lazy expiry.
type table struct {
	mu       sync.Mutex
	max      int
	peers    map[crypto.IdentityKey]*entry
	perSrc   map[netip.Addr]int // identities held per source IP
	gone     map[crypto.IdentityKey]*tombstone
	maxGone  int
	perSrcMx int
}

func newTable(maxPeers int) *table {
	return &table{
		max:      maxPeers,
		peers:    make(map[crypto.IdentityKey]*entry),
		perSrc:   make(map[netip.Addr]int),
		gone:     make(map[crypto.IdentityKey]*tombstone),
		maxGone:  maxPeers,
		perSrcMx: maxPeersPerSource,
	}
}

// stale reports whether the beacon is a replay; it is cheap and is asked
// before the signature is checked.
func (t *table) stale(key crypto.IdentityKey, inst [InstanceSize]byte, seq uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.peers[key]; e != nil {
		return e.hist.stale(inst, seq)
	}
	if g := t.gone[key]; g != nil {
		return g.hist.stale(inst, seq)
	}
	return false
}

// apply enters a verified beacon received from src at now.
func (t *table) apply(b Beacon, src netip.Addr, now time.Time) (Event, outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.peers[b.Key]; e != nil {
		if e.hist.stale(b.Instance, b.Seq) {
			return Event{}, outReplay
		}
		if b.Bye {
			return t.byeLocked(e, b, now)
		}
		return t.updateLocked(e, b, src, now)
	}
	g := t.gone[b.Key]
	if g != nil && g.hist.stale(b.Instance, b.Seq) {
		return Event{}, outReplay
	}
	if b.Bye {
		return Event{}, outIgnored
	}
	return t.insertLocked(b, g, src, now)
}

func (t *table) byeLocked(e *entry, b Beacon, now time.Time) (Event, outcome) {
	e.hist.record(b.Instance, b.Seq, true, now)
	if b.Instance != e.Instance {
		return Event{}, outIgnored
	}
	t.removeLocked(e, now)
	return Event{Kind: Left, Peer: e.Peer}, outEvent
}

func (t *table) updateLocked(e *entry, b Beacon, src netip.Addr, now time.Time) (Event, outcome) {
	addr := netip.AddrPortFrom(src, b.TCPPort)
	if addr.Addr() != e.Addr.Addr() && t.perSrc[src] >= t.perSrcMx {
		return Event{}, outFull
	}
	e.hist.record(b.Instance, b.Seq, false, now)
	kind := EventKind(0)
	switch {
	case b.Instance != e.Instance:
		kind = Restarted
	case addr != e.Addr:
		kind = AddressChanged
	}
	t.moveSourceLocked(e.Addr.Addr(), src)
	e.Addr, e.Instance, e.Nickname, e.Interval, e.LastSeen = addr, b.Instance, b.Nickname, b.Interval, now
	if kind == 0 {
		return Event{}, outRefreshed
	}
	return Event{Kind: kind, Peer: e.Peer}, outEvent
}

func (t *table) insertLocked(b Beacon, g *tombstone, src netip.Addr, now time.Time) (Event, outcome) {
	if len(t.peers) >= t.max || t.perSrc[src] >= t.perSrcMx {
		return Event{}, outFull
	}
	e := &entry{Peer: Peer{
		Key: b.Key, Addr: netip.AddrPortFrom(src, b.TCPPort), Instance: b.Instance,
		Nickname: b.Nickname, Interval: b.Interval, FirstSeen: now, LastSeen: now,
	}}
	if g != nil {
		e.hist = g.hist
		delete(t.gone, b.Key)
	}
	e.hist.record(b.Instance, b.Seq, false, now)
	t.peers[b.Key] = e
	t.perSrc[src]++
	return Event{Kind: Appeared, Peer: e.Peer}, outEvent
}

func (t *table) moveSourceLocked(from, to netip.Addr) {
	if from == to {
		return
	}
	t.dropSourceLocked(from)
	t.perSrc[to]++
}

func (t *table) dropSourceLocked(src netip.Addr) {
	if t.perSrc[src] <= 1 {
		delete(t.perSrc, src)
		return
	}
	t.perSrc[src]--
}

// removeLocked moves e from the table to the tombstones.
func (t *table) removeLocked(e *entry, now time.Time) {
	delete(t.peers, e.Key)
	t.dropSourceLocked(e.Addr.Addr())
	for k, g := range t.gone {
		if now.After(g.until) {
			delete(t.gone, k)
		}
	}
	if len(t.gone) >= t.maxGone {
		t.evictOldestTombstoneLocked()
	}
	t.gone[e.Key] = &tombstone{hist: e.hist, until: now.Add(tombstoneTTL)}
}

func (t *table) evictOldestTombstoneLocked() {
	var oldest crypto.IdentityKey
	var when time.Time
	for k, g := range t.gone {
		if when.IsZero() || g.until.Before(when) {
			oldest, when = k, g.until
		}
	}
	delete(t.gone, oldest)
}

// sweep removes the peers that expired by now and returns Expired events.
func (t *table) sweep(now time.Time) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []Event
	for _, e := range t.peers {
		if now.After(e.ExpiresAt()) {
			t.removeLocked(e, now)
			evs = append(evs, Event{Kind: Expired, Peer: e.Peer})
		}
	}
	return evs
}

// list returns a copy of the live peers, sorted by key.
func (t *table) list() []Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Peer, 0, len(t.peers))
	for _, e := range t.peers {
		out = append(out, e.Peer)
	}
	slices.SortFunc(out, func(a, b Peer) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out
}

// sizes reports the number of peers and tombstones, for tests.
func (t *table) sizes() (peers, gone int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.peers), len(t.gone)
}
