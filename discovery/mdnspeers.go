package discovery

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery/mdns"
)

// DNS-SD constants of lanchat (PROTOCOL.md section 2.1).
const (
	// MDNSService is the DNS-SD service type lanchat advertises and browses.
	MDNSService = "_lanchat._tcp"
	// mdnsVersion is the TXT "v=" value: the link protocol version.
	mdnsVersion = "1"
)

// mdnsService is what this node advertises: instance named by its short
// fingerprint (with the nickname in front only when it is announced), SRV
// with the link port, TXT v=1, the identity key (as in beacons) and the
// fingerprint (as people read it).
func mdnsService(key crypto.IdentityKey, tcpPort uint16, nick string) mdns.Service {
	short := key.Fingerprint().Short()
	inst := short
	if nick != "" {
		inst = nick + " (" + short + ")"
	}
	return mdns.Service{
		Type: MDNSService, Instance: inst, Host: "lanchat-" + strings.ToLower(short), Port: tcpPort,
		TXT: []string{"v=" + mdnsVersion, "key=" + hex.EncodeToString(key[:]), "fp=" + key.Fingerprint().String()},
	}
}

// parseMDNSTXT reads the identity key out of a lanchat TXT record: v=1,
// key=64 hex digits, and fp=, if present, must be that key's fingerprint.
// Unknown keys are skipped (newer nodes may add some).
func parseMDNSTXT(txt []string) (crypto.IdentityKey, bool) {
	var key crypto.IdentityKey
	var v, k, fp string
	for _, s := range txt {
		name, val, _ := strings.Cut(s, "=")
		switch strings.ToLower(name) { // RFC 6763 6.4: keys are case-insensitive
		case "v":
			v = val
		case "key":
			k = val
		case "fp":
			fp = val
		}
	}
	b, err := hex.DecodeString(k)
	if v != mdnsVersion || err != nil || len(b) != len(key) {
		return key, false
	}
	copy(key[:], b)
	if key.Check() != nil {
		return crypto.IdentityKey{}, false
	}
	if fp != "" {
		if f, err := crypto.ParseFingerprint(fp); err != nil || f != key.Fingerprint() {
			return crypto.IdentityKey{}, false
		}
	}
	return key, true
}

// mdnsTable holds the peers heard by mDNS: keyed by identity, bounded like
// the beacon table, each expiring with its records' TTL. It never touches
// the beacon table: an unsigned record cannot move a peer heard by beacon.
type mdnsTable struct {
	mu     sync.Mutex
	max    int
	peers  map[crypto.IdentityKey]*Peer
	perSrc map[netip.Addr]int
}

func newMDNSTable(maxPeers int) *mdnsTable {
	return &mdnsTable{max: maxPeers, peers: map[crypto.IdentityKey]*Peer{}, perSrc: map[netip.Addr]int{}}
}

// apply enters what one instance record says: a goodbye (ttl 0) removes
// the peer; otherwise it is added or refreshed. It returns the event, if any.
func (t *mdnsTable) apply(key crypto.IdentityKey, addr netip.AddrPort, ttl uint32, now time.Time) (Event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[key]
	if ttl == 0 {
		if p == nil || p.Addr != addr { // a goodbye for another address: not this one's
			return Event{}, false
		}
		t.removeLocked(p)
		return Event{Kind: Left, Peer: *p}, true
	}
	life := time.Duration(ttl) * time.Second / ExpiryIntervals
	if p == nil {
		if len(t.peers) >= t.max || t.perSrc[addr.Addr()] >= maxPeersPerSource {
			return Event{}, false
		}
		p = &Peer{Key: key, Addr: addr, MDNS: true, Interval: life, FirstSeen: now, LastSeen: now}
		t.peers[key] = p
		t.perSrc[addr.Addr()]++
		return Event{Kind: Appeared, Peer: *p}, true
	}
	moved := p.Addr != addr
	if moved {
		if t.perSrc[addr.Addr()] >= maxPeersPerSource {
			return Event{}, false
		}
		t.dropSourceLocked(p.Addr.Addr())
		t.perSrc[addr.Addr()]++
	}
	p.Addr, p.Interval, p.LastSeen = addr, life, now
	if moved {
		return Event{Kind: AddressChanged, Peer: *p}, true
	}
	return Event{}, false
}

func (t *mdnsTable) removeLocked(p *Peer) {
	delete(t.peers, p.Key)
	t.dropSourceLocked(p.Addr.Addr())
}

func (t *mdnsTable) dropSourceLocked(src netip.Addr) {
	if t.perSrc[src] <= 1 {
		delete(t.perSrc, src)
		return
	}
	t.perSrc[src]--
}

// sweep removes the peers whose records expired by now.
func (t *mdnsTable) sweep(now time.Time) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []Event
	for _, p := range t.peers {
		if now.After(p.ExpiresAt()) {
			t.removeLocked(p)
			evs = append(evs, Event{Kind: Expired, Peer: *p})
		}
	}
	return evs
}

// list returns a copy of the peers.
func (t *mdnsTable) list() []Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, *p)
	}
	return out
}
