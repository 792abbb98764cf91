package discovery

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// readErrorPause is the wait after a read error other than a closed socket,
// so a persistent error cannot spin a core.
const readErrorPause = 100 * time.Millisecond

// readLoop reads datagrams until c is closed.
func (s *Service) readLoop(c *net.UDPConn) {
	buf := make([]byte, MaxBeaconSize+1) // one more: oversize shows as too long
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.cfg.Logf("discovery: reading beacons: %v", err)
			time.Sleep(readErrorPause)
			continue
		}
		s.handle(buf[:n], from, s.now())
	}
}

// handle processes one datagram from from, received at now. The order
// matters: everything cheap (format, own beacon, on-link source, replay,
// rate limits) comes before the signature check.
func (s *Service) handle(p []byte, from netip.AddrPort, now time.Time) {
	s.st.received.Add(1)
	b, signed, sig, err := parse(p)
	if err != nil {
		s.st.junk.Add(1)
		return
	}
	if b.Key == s.key && b.Instance == s.instance {
		s.st.own.Add(1)
		return
	}
	src := from.Addr().Unmap()
	switch {
	case !s.nets.contains(src, now):
		s.st.offLink.Add(1)
	case s.table.stale(b.Key, b.Instance, b.Seq):
		s.st.replayed.Add(1)
	case !s.limiter.allow(src, now):
		s.st.rateLimited.Add(1)
	case !crypto.Verify(b.Key, crypto.DomainBeacon, signed, sig):
		s.st.badSignature.Add(1)
	case b.Key == s.key:
		s.logConflict(b, src)
	default:
		s.enter(b, src, now)
	}
}

// enter puts a verified beacon in the table and reacts to the outcome.
func (s *Service) enter(b Beacon, src netip.Addr, now time.Time) {
	ev, out := s.table.apply(b, src, now)
	switch out {
	case outReplay:
		s.st.replayed.Add(1)
		return
	case outFull:
		s.st.tableFull.Add(1)
		return
	}
	s.st.accepted.Add(1)
	s.st.lastBeacon.Store(now.UnixNano())
	if out != outEvent {
		return
	}
	s.events.emit(ev)
	if ev.Kind == Appeared || ev.Kind == Restarted {
		s.Announce() // let the newcomer see us now, by broadcast
	}
}
