package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
)

// Tuning constants (not part of the protocol).
const (
	// announceCount unsolicited responses go out announceSpacing apart when
	// the node starts or an interface appears (RFC 6762 8.3: at least two,
	// one second apart).
	announceCount   = 2
	announceSpacing = time.Second
	// Queries for the type go out at start, then with doubling gaps up to
	// maxQueryGap (RFC 6762 5.2), below 80% of TTL so answers keep fresh.
	firstQueryGap = time.Second
	maxQueryGap   = 60 * time.Second
	// answerGap is the least time between two multicast answers on one
	// interface (RFC 6762 6: a record at most once per second per link).
	answerGap = time.Second
	// resolveGap bounds the SRV/TXT questions sent for one instance heard
	// by PTR alone; maxResolving bounds the instances remembered for it.
	resolveGap   = time.Second
	maxResolving = 256
	// readErrorPause keeps a persistent read error from spinning a core.
	readErrorPause = 100 * time.Millisecond
)

// Iface is one interface to work on and its IPv4 addresses (the A records
// answered there).
type Iface struct {
	Index int
	Name  string
	Addrs []netip.Addr
}

// Config configures a Node.
type Config struct {
	// Service is what the node advertises and the type it browses.
	Service Service
	// BrowseOnly: advertise nothing (no announcements, answers or
	// goodbyes), only ask and listen.
	BrowseOnly bool
	// Ifaces lists the interfaces to join the group on; it is read at start
	// and on every Refresh.
	Ifaces func() ([]Iface, error)
	// Allow, if set, is asked first for every datagram's source: false
	// drops it unread (on-link and rate checks).
	Allow func(src netip.Addr) bool
	// Found receives every instance of the type a response tells about,
	// complete (SRV and TXT) or a goodbye (TTL 0), with the datagram's
	// source. It runs on the read goroutine and must not block.
	Found func(src netip.AddrPort, in Instance)
	// Logf receives diagnostics.
	Logf func(format string, args ...any)
}

// Node advertises and browses one service on multicast DNS.
type Node struct {
	cfg     Config
	refresh chan struct{} // capacity 1
	early   chan struct{} // early-announcement requests, capacity 1

	wmu  sync.Mutex // one write at a time: it sets the interface first
	conn *ipv4.PacketConn
	raw  net.PacketConn

	mu        sync.Mutex
	joined    map[int]Iface     // by index
	lastAns   map[int]time.Time // last multicast answer per interface
	resolving map[string]time.Time
}

// New returns a node; nothing is sent until Run.
func New(cfg Config) *Node {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Node{cfg: cfg, refresh: make(chan struct{}, 1), early: make(chan struct{}, 1), joined: map[int]Iface{},
		lastAns: map[int]time.Time{}, resolving: map[string]time.Time{}}
}

// Refresh asks the node to read the interfaces again: join the group on
// new ones and announce there. Requests are merged; it never blocks.
func (n *Node) Refresh() {
	select {
	case n.refresh <- struct{}{}:
	default:
	}
}

// Announce asks for an early announcement on every interface (a new peer
// appeared: let it hear us now), at most one per answerGap per interface.
// Requests are merged; it never blocks.
func (n *Node) Announce() {
	select {
	case n.early <- struct{}{}:
	default:
	}
}

// Open binds port 5353 (shared). Run needs it; it is separate so that the
// caller can go on without mDNS when the port cannot be had.
func (n *Node) Open(ctx context.Context) error {
	lc := net.ListenConfig{Control: shareSocket}
	pc, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(Port)))
	if err != nil {
		return fmt.Errorf("mdns: socket on port %d: %w", Port, err)
	}
	p := ipv4.NewPacketConn(pc)
	if err := p.SetMulticastTTL(255); err != nil { // RFC 6762 11
		pc.Close()
		return fmt.Errorf("mdns: multicast TTL: %w", err)
	}
	_ = p.SetMulticastLoopback(true)                  // a responder on this host (Avahi) hears us
	_ = p.SetControlMessage(ipv4.FlagInterface, true) // not on every platform: then answers go everywhere
	n.conn, n.raw = p, pc
	return nil
}

// Run announces, browses and answers until ctx is done, then sends goodbye
// records on every interface and closes the socket. Open must have
// succeeded. It returns when its reader has stopped.
func (n *Node) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.readLoop()
	}()
	n.loop(ctx)
	n.goodbye()
	n.raw.Close() // unblocks the reader
	wg.Wait()
}

// loop runs the announcement and query schedule.
func (n *Node) loop(ctx context.Context) {
	announce := n.join()
	queryGap := firstQueryGap
	nextQuery := time.Now()
	var nextAnnounce time.Time
	left := 0
	if len(announce) > 0 {
		left, nextAnnounce = announceCount, time.Now()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.early:
			if !n.cfg.BrowseOnly {
				for _, ifi := range n.ifaces() {
					if n.mayMulticast(ifi.Index, time.Now()) {
						n.respond(ifi, RecAll, 0, TTL)
					}
				}
			}
		case <-n.refresh:
			if fresh := n.join(); len(fresh) > 0 {
				announce, left, nextAnnounce = fresh, announceCount, time.Now()
				queryGap, nextQuery = firstQueryGap, time.Now()
			}
		case <-timer.C:
		}
		now := time.Now()
		if left > 0 && !now.Before(nextAnnounce) {
			n.announce(announce)
			left--
			nextAnnounce = now.Add(announceSpacing)
		}
		if !now.Before(nextQuery) {
			n.query()
			nextQuery = now.Add(queryGap)
			queryGap = min(2*queryGap, maxQueryGap)
		}
		next := nextQuery
		if left > 0 && nextAnnounce.Before(next) {
			next = nextAnnounce
		}
		timer.Reset(time.Until(next))
	}
}

// join joins the group on the interfaces that are new (or have new
// addresses) and returns them; interfaces that went away are forgotten.
func (n *Node) join() []Iface {
	ifs, err := n.cfg.Ifaces()
	if err != nil {
		n.cfg.Logf("mdns: %v", err)
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var fresh []Iface
	seen := map[int]bool{}
	for _, ifi := range ifs {
		seen[ifi.Index] = true
		old, had := n.joined[ifi.Index]
		if had && sameAddrs(old.Addrs, ifi.Addrs) {
			continue
		}
		if !had {
			if err := n.conn.JoinGroup(&net.Interface{Index: ifi.Index, Name: ifi.Name}, &net.UDPAddr{IP: Group.AsSlice()}); err != nil {
				n.cfg.Logf("mdns: joining %v on %s: %v", Group, ifi.Name, err)
				continue
			}
		}
		n.joined[ifi.Index] = ifi
		fresh = append(fresh, ifi)
	}
	for idx := range n.joined {
		if !seen[idx] { // gone: the kernel dropped the membership with it
			delete(n.joined, idx)
			delete(n.lastAns, idx)
		}
	}
	return fresh
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Joined returns the interfaces the group is joined on, for diagnostics.
func (n *Node) Joined() []Iface {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Iface, 0, len(n.joined))
	for _, ifi := range n.joined {
		out = append(out, ifi)
	}
	return out
}

func (n *Node) ifaces() []Iface { return n.Joined() }

// announce sends every record, unsolicited, on each interface.
func (n *Node) announce(ifs []Iface) {
	if n.cfg.BrowseOnly {
		return
	}
	for _, ifi := range ifs {
		n.respond(ifi, RecAll, 0, TTL)
	}
}

// goodbye sends every record with TTL 0 on every joined interface.
func (n *Node) goodbye() {
	if n.cfg.BrowseOnly {
		return
	}
	for _, ifi := range n.ifaces() {
		n.respond(ifi, RecAll, 0, 0)
	}
}

// query asks for the type on every interface.
func (n *Node) query() {
	q, err := Query(dnsmessage.TypePTR, n.cfg.Service.TypeName())
	if err != nil {
		n.cfg.Logf("%v", err)
		return
	}
	for _, ifi := range n.ifaces() {
		n.send(ifi, q)
	}
}

// respond sends answer (and extra) records on ifi.
func (n *Node) respond(ifi Iface, answer, extra Records, ttl uint32) {
	p, err := n.cfg.Service.Response(answer, extra, ifi.Addrs, ttl)
	if err != nil {
		n.cfg.Logf("%v", err)
		return
	}
	n.send(ifi, p)
}

func (n *Node) send(ifi Iface, p []byte) {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	if err := n.conn.SetMulticastInterface(&net.Interface{Index: ifi.Index, Name: ifi.Name}); err != nil {
		n.cfg.Logf("mdns: choosing %s: %v", ifi.Name, err)
		return
	}
	dst := &net.UDPAddr{IP: Group.AsSlice(), Port: Port}
	if _, err := n.conn.WriteTo(p, nil, dst); err != nil && !errors.Is(err, net.ErrClosed) {
		n.cfg.Logf("mdns: sending on %s: %v", ifi.Name, err)
	}
}

// readLoop reads datagrams until the socket is closed.
func (n *Node) readLoop() {
	buf := make([]byte, MaxMessage)
	for {
		nb, cm, from, err := n.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n.cfg.Logf("mdns: reading: %v", err)
			time.Sleep(readErrorPause)
			continue
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		src := ua.AddrPort()
		idx := 0
		if cm != nil {
			idx = cm.IfIndex
		}
		n.handle(buf[:nb], netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), idx)
	}
}

// handle processes one datagram from src that arrived on interface idx
// (0: unknown on this platform).
func (n *Node) handle(p []byte, src netip.AddrPort, idx int) {
	// RFC 6762 6 and 11: only port 5353 is a multicast DNS peer; legacy
	// unicast questions would need a unicast answer, which lanchat never
	// sends.
	if src.Port() != Port {
		return
	}
	ifi, ok := n.arrivedOn(idx)
	if !ok || (n.cfg.Allow != nil && !n.cfg.Allow(src.Addr())) {
		return
	}
	m, err := Parse(p, n.cfg.Service.TypeName())
	if err != nil {
		return
	}
	if !m.Response {
		n.answer(ifi, idx, m.Questions)
		return
	}
	for _, in := range m.Instances {
		if in.Complete() {
			if n.cfg.Found != nil {
				n.cfg.Found(src, in)
			}
		} else {
			n.resolve(ifi, idx, in.Name)
		}
	}
}

// arrivedOn returns the joined interface with index idx; for idx 0
// (unknown), any: the answer then goes out on every interface.
func (n *Node) arrivedOn(idx int) (Iface, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if idx == 0 {
		return Iface{}, len(n.joined) > 0
	}
	ifi, ok := n.joined[idx]
	return ifi, ok
}

// answer multicasts the records the questions ask for, at most once per
// answerGap per interface.
func (n *Node) answer(ifi Iface, idx int, qs []Question) {
	asked := n.cfg.Service.Asks(qs)
	if asked == 0 || n.cfg.BrowseOnly {
		return
	}
	targets := []Iface{ifi}
	if idx == 0 {
		targets = n.ifaces()
	}
	now := time.Now()
	for _, t := range targets {
		if n.mayMulticast(t.Index, now) {
			n.respond(t, asked, RecAll&^asked, TTL)
		}
	}
}

// mayMulticast reports whether an answer may go out on interface idx at
// now (none in the last answerGap), and if so notes it.
func (n *Node) mayMulticast(idx int, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	last := n.lastAns[idx]
	if !last.IsZero() && now.Sub(last) < answerGap {
		return false
	}
	n.lastAns[idx] = now
	return true
}

// resolve asks for the SRV and TXT records of an instance heard by PTR
// alone, at most once per resolveGap.
func (n *Node) resolve(ifi Iface, idx int, name string) {
	now := time.Now()
	n.mu.Lock()
	if now.Sub(n.resolving[name]) < resolveGap {
		n.mu.Unlock()
		return
	}
	if len(n.resolving) >= maxResolving {
		clear(n.resolving)
	}
	n.resolving[name] = now
	n.mu.Unlock()
	q, err := Query(dnsmessage.TypeALL, name)
	if err != nil {
		return
	}
	targets := []Iface{ifi}
	if idx == 0 {
		targets = n.ifaces()
	}
	for _, t := range targets {
		n.send(t, q)
	}
}
