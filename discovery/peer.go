package discovery

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// Peer is what the table knows about one identity.
type Peer struct {
	Key crypto.IdentityKey
	// Addr is the source IP of the datagram that carried the latest
	// accepted beacon, with the beacon's TCP port (port 0: takes no links).
	// Never an address read from inside a payload.
	Addr netip.AddrPort
	// Instance is the random id of the peer's current run.
	Instance [InstanceSize]byte
	// Nickname is set only if the peer opted in to announce one. Untrusted:
	// anyone can claim any nickname.
	Nickname string
	// Interval is the peer's advertised beacon interval (for a peer heard
	// by mDNS only: a third of its records' TTL, so ExpiresAt is when they
	// expire).
	Interval time.Duration
	// MDNS: heard by mDNS (DNS-SD) only, no beacon. Addr is then the
	// source IP of the response with its SRV port; Instance is zero.
	MDNS      bool
	FirstSeen time.Time
	LastSeen  time.Time
}

// ExpiresAt is when the peer expires unless another beacon arrives.
func (p Peer) ExpiresAt() time.Time { return p.LastSeen.Add(ExpiryIntervals * p.Interval) }

// EventKind says what happened to a peer. Values are append-only.
type EventKind uint8

// Event kinds.
const (
	// Appeared: an identity not in the table sent a beacon.
	Appeared EventKind = iota + 1
	// AddressChanged: same run, new source address or TCP port.
	AddressChanged
	// Restarted: same identity, new instance id (a new run).
	Restarted
	// Left: the current instance said bye. Like every event it is a hint
	// from a public, replayable beacon: it never says a link is over.
	Left
	// Expired: no beacon for ExpiryIntervals of the peer's interval.
	Expired
)

var eventNames = [...]string{Appeared: "appeared", AddressChanged: "address-changed", Restarted: "restarted", Left: "left", Expired: "expired"}

// String returns a lower-case name such as "appeared".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one change to the peer table. Peer is the state after the change
// (for Left and Expired: the last state known).
type Event struct {
	Kind EventKind
	Peer Peer
}
