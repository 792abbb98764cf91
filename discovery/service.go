package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery/mdns"
)

// Service sends this node's beacons and keeps the table of the peers it
// hears. Create it with New and start it with Run.
type Service struct {
	cfg      Config
	key      crypto.IdentityKey
	instance [InstanceSize]byte
	pinAddr  netip.Addr // valid if Config.Addr is set

	table    *table
	limiter  *sourceLimiter
	nets     *netsCache
	events   *eventQueue
	announce chan struct{} // early-announce requests, capacity 1
	st       counters
	started  atomic.Bool
	now      func() time.Time

	mdnsTab     *mdnsTable
	mdnsLimiter *sourceLimiter
	mdns        atomic.Pointer[mdns.Node] // while mDNS runs

	conflictMu   sync.Mutex
	lastConflict [InstanceSize]byte // last instance logged as a conflict
}

// New checks cfg and returns a Service. cfg is copied, never modified.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.checked()
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:         cfg,
		key:         cfg.Identity.Public(),
		table:       newTable(cfg.MaxPeers),
		limiter:     newSourceLimiter(),
		mdnsTab:     newMDNSTable(cfg.MaxPeers),
		mdnsLimiter: newSourceLimiter(),
		announce:    make(chan struct{}, 1),
		now:         time.Now,
	}
	if cfg.Addr != "" {
		s.pinAddr = netip.MustParseAddr(cfg.Addr) // validated by checked
	}
	if err := s.newInstance(cfg.Rand); err != nil {
		return nil, err
	}
	s.events = newEventQueue(cfg.EventBuffer, func() { s.st.eventsDropped.Add(1) })
	s.nets = newNetsCache(systemInterfaces, cfg.Iface, s.pinAddr)
	return s, nil
}

// newInstance draws the random, non-zero instance id of this run.
func (s *Service) newInstance(rand io.Reader) error {
	for range 4 { // all zero: 2⁻⁶⁴ for a real source, a broken one otherwise
		if _, err := io.ReadFull(rand, s.instance[:]); err != nil {
			return fmt.Errorf("discovery: instance id: %w", err)
		}
		if s.instance != ([InstanceSize]byte{}) {
			return nil
		}
	}
	return errors.New("discovery: instance id: the random source gives only zeros")
}

// Events returns the table's changes. The channel is bounded: when the
// consumer falls behind, events are dropped (Stats.EventsDropped), never
// waited for. It is closed when Run returns.
func (s *Service) Events() <-chan Event { return s.events.ch }

// Peers returns a copy of the peer table sorted by key, after removing the
// peers that expired (each one also an Expired event): the peers heard by
// beacon, then those heard by mDNS only (Peer.MDNS).
func (s *Service) Peers() []Peer {
	s.sweep(s.now())
	out := s.table.list()
	heard := make(map[crypto.IdentityKey]bool, len(out))
	for _, p := range out {
		heard[p.Key] = true
	}
	for _, p := range s.mdnsTab.list() {
		if !heard[p.Key] {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Peer) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out
}

// Announce asks for an early beacon. Early beacons are rate-limited (at
// most one per 500 ms, or per half interval if that is shorter); extra
// requests are merged. The beacon is broadcast like every other.
func (s *Service) Announce() {
	select {
	case s.announce <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats { return s.st.snapshot() }

// Instance returns this run's random instance id.
func (s *Service) Instance() [InstanceSize]byte { return s.instance }

// Run sends beacons and listens until ctx is done, then sends bye a few
// times, closes its sockets, waits for its goroutines and closes Events.
// It returns nil after a clean stop, or the error that kept it from
// starting. It may be called once.
func (s *Service) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("discovery: Run called twice")
	}
	defer s.events.close()
	conns, err := s.open(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, c := range conns.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.readLoop(c)
		}()
	}
	mctx, stopMDNS := context.WithCancel(context.Background())
	defer stopMDNS()
	if md := s.openMDNS(ctx); md != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			md.Run(mctx) // sends its goodbyes when stopped
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchNetwork(ctx)
	}()
	snd := s.sendLoop(ctx, conns)
	stopMDNS() // goodbyes by mDNS go out while the byes do
	s.sendByes(snd)
	conns.close() // unblocks the readers
	wg.Wait()
	return nil
}

func (s *Service) sweep(now time.Time) {
	for _, ev := range s.table.sweep(now) {
		s.events.emit(ev)
	}
	for _, ev := range s.mdnsTab.sweep(now) {
		s.events.emit(ev)
	}
}

func (s *Service) logConflict(b Beacon, src netip.Addr) {
	s.st.conflicts.Add(1)
	s.conflictMu.Lock()
	defer s.conflictMu.Unlock()
	if s.lastConflict == b.Instance {
		return
	}
	s.lastConflict = b.Instance
	s.cfg.Logf("discovery: another node at %v uses this identity (%v): run each identity once", src, s.key)
}

// conns are the beacon sockets of one run.
type conns struct {
	v4, v6 *net.UDPConn
}

func (c conns) all() []*net.UDPConn {
	var out []*net.UDPConn
	for _, u := range []*net.UDPConn{c.v4, c.v6} {
		if u != nil {
			out = append(out, u)
		}
	}
	return out
}

func (c conns) close() {
	for _, u := range c.all() {
		_ = u.Close() // closing a UDP socket cannot lose data
	}
}

// open opens the IPv4 socket unless pinned to an IPv6 address, and the
// IPv6 socket if any target is IPv6, joining the group where needed.
func (s *Service) open(ctx context.Context) (conns, error) {
	var c conns
	port := fmt.Sprint(s.cfg.Port)
	need4, groups := s.plan()
	if need4 {
		u, err := listenUDP(ctx, "udp4", net.JoinHostPort("0.0.0.0", port))
		if err != nil {
			return c, err
		}
		c.v4 = u
	}
	if len(groups) > 0 || s.pinAddr.Is6() {
		u, err := listenUDP(ctx, "udp6", net.JoinHostPort("::", port))
		if err != nil {
			c.close()
			return conns{}, err
		}
		c.v6 = u
		for _, g := range groups {
			if err := joinGroup(u, g.group, g.index); err != nil {
				s.cfg.Logf("discovery: %v", err)
			}
		}
	}
	return c, nil
}

type groupJoin struct {
	group netip.Addr
	index int
}

// plan says whether an IPv4 socket is needed and which IPv6 groups to join.
func (s *Service) plan() (need4 bool, groups []groupJoin) {
	if s.pinAddr.IsValid() {
		if s.pinAddr.Is6() && s.pinAddr.IsMulticast() {
			if ifi, err := net.InterfaceByName(s.pinAddr.Zone()); err == nil {
				groups = append(groups, groupJoin{s.pinAddr.WithZone(""), ifi.Index})
			}
		}
		return s.pinAddr.Is4(), groups
	}
	ifs, err := systemInterfaces()
	if err != nil {
		s.cfg.Logf("discovery: %v", err)
		return true, nil
	}
	index := make(map[string]int, len(ifs))
	for _, ifi := range ifs {
		index[ifi.Name] = ifi.Index
	}
	for _, t := range targets(ifs, s.cfg.Iface, netip.Addr{}, uint16(s.cfg.Port)) {
		if t.Addr().Is6() {
			groups = append(groups, groupJoin{t.Addr().WithZone(""), index[t.Addr().Zone()]})
		}
	}
	return true, groups
}
