package discovery

import (
	"sync/atomic"
	"time"
)

// Stats counts what a Service did with datagrams, for logs and tests.
type Stats struct {
	Sent          uint64 // beacons sent (one per target)
	SendErrors    uint64 // failed sends
	Received      uint64 // datagrams read
	Junk          uint64 // failed the size, magic, version or format checks
	Own           uint64 // this run's own beacons, ignored
	OffLink       uint64 // source not on a local subnet
	Replayed      uint64 // sequence not newer, or instance said bye
	RateLimited   uint64 // over the per-source or total verify budget
	BadSignature  uint64 // signature did not verify
	Conflicts     uint64 // our key, another instance: a second node with our identity
	TableFull     uint64 // new identity refused: table or source full
	Accepted      uint64 // verified beacons entered in the table
	EventsDropped uint64 // events lost to a slow consumer
	MDNSReceived  uint64 // mDNS datagrams read (any service)
	MDNSAccepted  uint64 // lanchat instance records entered (another node's)
	NetChanges    uint64 // interface changes noticed
	// LastBeacon and LastMDNS are when the latest beacon or lanchat mDNS
	// record of another node was accepted (zero: never in this run).
	LastBeacon, LastMDNS time.Time
	// MDNS says whether mDNS runs (false: off, pinned to loopback, or its
	// socket could not be opened).
	MDNS bool
}

type counters struct {
	sent, sendErrors, received, junk, own, offLink, replayed, rateLimited,
	badSignature, conflicts, tableFull, accepted, eventsDropped atomic.Uint64
	mdnsReceived, mdnsAccepted, netChanges atomic.Uint64
	lastBeacon, lastMDNS                   atomic.Int64 // unix nanoseconds
	mdnsOn                                 atomic.Bool
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (c *counters) snapshot() Stats {
	return Stats{
		Sent: c.sent.Load(), SendErrors: c.sendErrors.Load(), Received: c.received.Load(),
		Junk: c.junk.Load(), Own: c.own.Load(), OffLink: c.offLink.Load(),
		Replayed: c.replayed.Load(), RateLimited: c.rateLimited.Load(),
		BadSignature: c.badSignature.Load(), Conflicts: c.conflicts.Load(),
		TableFull: c.tableFull.Load(), Accepted: c.accepted.Load(),
		EventsDropped: c.eventsDropped.Load(),
		MDNSReceived:  c.mdnsReceived.Load(), MDNSAccepted: c.mdnsAccepted.Load(),
		NetChanges: c.netChanges.Load(),
		LastBeacon: unixTime(c.lastBeacon.Load()), LastMDNS: unixTime(c.lastMDNS.Load()),
		MDNS: c.mdnsOn.Load(),
	}
}
