package discovery

import "sync/atomic"

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
}

type counters struct {
	sent, sendErrors, received, junk, own, offLink, replayed, rateLimited,
	badSignature, conflicts, tableFull, accepted, eventsDropped atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Sent: c.sent.Load(), SendErrors: c.sendErrors.Load(), Received: c.received.Load(),
		Junk: c.junk.Load(), Own: c.own.Load(), OffLink: c.offLink.Load(),
		Replayed: c.replayed.Load(), RateLimited: c.rateLimited.Load(),
		BadSignature: c.badSignature.Load(), Conflicts: c.conflicts.Load(),
		TableFull: c.tableFull.Load(), Accepted: c.accepted.Load(),
		EventsDropped: c.eventsDropped.Load(),
	}
}
