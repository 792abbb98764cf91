package chat

import (
	"slices"
	"strings"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
)

// PeerEntry is one peer as the control socket's peers method gives it and
// lanchat peers --json prints it (PROTOCOL.md section 6). lanchat peers
// without a running node prints the same fields, from the beacons it heard
// itself.
type PeerEntry struct {
	Fingerprint string `json:"fingerprint"`
	Short       string `json:"short"`
	// Addr is the source IP of its latest beacon with the beacon's link port
	// (port 0: it takes no links); for a peer linked but not heard by
	// beacon, the link's remote address.
	Addr string `json:"addr"`
	// Trusted: on the trust list.
	Trusted bool `json:"trusted"`
	// Name is the name in the trust list, if any.
	Name string `json:"name,omitempty"`
	// Nick is the nickname the peer announced (its hello, else its beacon):
	// a claim, not verified.
	Nick string `json:"nick,omitempty"`
	// Linked: the node has a live link with it.
	Linked bool `json:"linked"`
	// LastSeen is when its latest beacon was heard; nil if none was.
	LastSeen *time.Time `json:"last_seen"`
	// Presence is what a linked peer said of itself ("online", "away",
	// "busy"; left out if it said nothing), Status its status line. Both
	// end with the link.
	Presence string `json:"presence,omitempty"`
	Status   string `json:"status,omitempty"`
	// Via says how it was heard: "beacon", or "mdns" (DNS-SD records only,
	// no beacon); absent for a peer linked but not heard.
	Via string `json:"via,omitempty"`
}

// NewPeerEntry describes a peer heard by beacon (heard non-nil) or linked
// with the given address and hello nickname (linkAddr non-empty), or both;
// trusted and name come from the trust list.
func NewPeerEntry(key lcrypto.IdentityKey, heard *discovery.Peer, linkAddr, helloNick string, trusted bool, name string) PeerEntry {
	fp := key.Fingerprint()
	e := PeerEntry{Fingerprint: fp.String(), Short: fp.Short(), Addr: linkAddr, Trusted: trusted,
		Name: name, Nick: helloNick, Linked: linkAddr != ""}
	if heard != nil {
		e.Addr = heard.Addr.String()
		if e.Nick == "" {
			e.Nick = heard.Nickname
		}
		seen := heard.LastSeen
		e.LastSeen = &seen
		e.Via = "beacon"
		if heard.MDNS {
			e.Via = "mdns"
		}
	}
	return e
}

// PeerEntries returns every peer the node knows of, heard by beacon or
// linked, sorted by fingerprint: the result of the peers method.
func (n *Node) PeerEntries() []PeerEntry {
	heard := map[lcrypto.IdentityKey]*discovery.Peer{}
	if disc := n.disc.Load(); disc != nil {
		for _, p := range disc.Peers() {
			if p.Key != n.id.Public() {
				heard[p.Key] = &p
			}
		}
	}
	linked := map[lcrypto.IdentityKey]*link{}
	for _, l := range n.allLinks() {
		linked[l.key] = l
	}
	out := make([]PeerEntry, 0, len(heard)+len(linked))
	add := func(key lcrypto.IdentityKey) {
		var addr, nick string
		if l := linked[key]; l != nil {
			addr, nick = l.sess.RemoteAddr().String(), l.nickname()
		}
		tp, trusted, err := n.store.IsTrusted(key.Fingerprint())
		if err != nil {
			n.logf("peers: %v", err)
		}
		e := NewPeerEntry(key, heard[key], addr, nick, trusted, tp.Name)
		if l := linked[key]; l != nil {
			if p := l.peerPresence(); p != nil {
				e.Presence, e.Status = p.State.String(), p.Status
			}
		}
		out = append(out, e)
	}
	for key := range heard {
		add(key)
	}
	for key := range linked {
		if heard[key] == nil {
			add(key)
		}
	}
	slices.SortFunc(out, func(a, b PeerEntry) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}
