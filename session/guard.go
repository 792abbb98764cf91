package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// GuardConfig bounds what the accepting side spends on connections before
// it knows who is calling. A zero or negative field means the default.
type GuardConfig struct {
	// MaxHandshakes bounds handshakes in flight at once, from everyone.
	MaxHandshakes int
	// MaxHandshakesPerIP bounds handshakes in flight from one IP: its fair
	// share of MaxHandshakes. When every slot is taken, a newcomer from an
	// IP with fewer in flight cuts the oldest handshake of the IP with the
	// most (if that one has at least two more), so one address never keeps
	// the others out.
	MaxHandshakesPerIP int
	// HandshakeRate and HandshakeBurst are a token bucket per source IP:
	// handshakes started per second, and how many may start back to back.
	HandshakeRate  float64
	HandshakeBurst int
	// MaxLinksPerIP bounds links plus handshakes in flight from one IP.
	MaxLinksPerIP int
	// MaxSources bounds how many source IPs the guard remembers; when it is
	// full and none can be forgotten, new sources are refused.
	MaxSources int
}

// DefaultGuardConfig returns a fresh GuardConfig with every default set.
func DefaultGuardConfig() GuardConfig {
	return GuardConfig{
		// go-libp2p's default: enough for a LAN full of peers coming back
		// at once, few enough that stalled handshakes cost little.
		MaxHandshakes: 16,
		// A quarter of the slots: a host dialling us back with several
		// nodes at once fits, one address alone never holds them all.
		MaxHandshakesPerIP: 4,
		// WireGuard's handshake rate limit: 20 per second, burst 5. Each
		// handshake costs the responder up to four X25519 and one Ed25519
		// verification, about 0.15 ms of CPU.
		HandshakeRate:  20,
		HandshakeBurst: 5,
		// A host can run several nodes (tests run many on 127.0.0.1); a
		// buggy peer reconnecting in a loop still cannot hold more.
		MaxLinksPerIP: 16,
		// A few hundred KiB at most, far more hosts than a LAN has.
		MaxSources: 4096,
	}
}

func (c GuardConfig) normalized() GuardConfig {
	d := DefaultGuardConfig()
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = d.MaxHandshakes
	}
	if c.MaxHandshakesPerIP <= 0 {
		c.MaxHandshakesPerIP = min(d.MaxHandshakesPerIP, c.MaxHandshakes)
	}
	if c.HandshakeRate <= 0 {
		c.HandshakeRate = d.HandshakeRate
	}
	if c.HandshakeBurst <= 0 {
		c.HandshakeBurst = d.HandshakeBurst
	}
	if c.MaxLinksPerIP <= 0 {
		c.MaxLinksPerIP = d.MaxLinksPerIP
	}
	if c.MaxSources <= 0 {
		c.MaxSources = d.MaxSources
	}
	return c
}

// Errors from Guard, for errors.Is.
var (
	ErrGuardBusy  = errors.New("session: too many handshakes in flight")
	ErrGuardRate  = errors.New("session: too many handshakes from this address")
	ErrGuardLinks = errors.New("session: too many links from this address")
	// ErrGuardShare: this address already has its share of the handshakes
	// in flight (MaxHandshakesPerIP).
	ErrGuardShare = errors.New("session: too many handshakes in flight from this address")
	// ErrGuardPreempted: the handshake was cut to make room for one from an
	// address with fewer in flight.
	ErrGuardPreempted = errors.New("session: handshake cut to make room for another address")
)

// Guard protects the accepting side. Its methods are safe for concurrent use.
type Guard struct {
	cfg GuardConfig
	now func() time.Time // time.Now; tests move time by hand

	mu       sync.Mutex
	inFlight int
	sources  map[netip.Addr]*source
	refused  [4]uint64 // by ErrGuardBusy, ErrGuardRate, ErrGuardLinks, ErrGuardShare
	cut      uint64    // handshakes preempted
}

// source is what the guard knows about one remote IP.
type source struct {
	tokens     float64
	refilled   time.Time
	handshakes int
	links      int
	// pending are the handshakes in flight that can be cut, oldest first.
	pending []*pendingHandshake
}

// pendingHandshake is one admitted handshake that may be preempted.
type pendingHandshake struct {
	cut func() // closes its connection; nil: cannot be cut
}

// GuardStats are the guard's counters.
type GuardStats struct {
	InFlight                               int // handshakes admitted and not yet released
	Sources                                int // source IPs remembered
	RefusedBusy, RefusedRate, RefusedLinks uint64
	RefusedShare                           uint64 // over MaxHandshakesPerIP
	Preempted                              uint64 // cut to make room for another address
}

// NewGuard returns a guard with cfg's limits.
func NewGuard(cfg GuardConfig) *Guard {
	return &Guard{cfg: cfg.normalized(), now: time.Now, sources: make(map[netip.Addr]*source)}
}

// Accept admits conn (see Admit), runs session.Accept on it and counts the
// link against its IP until the link is done. A refused conn is closed at
// once, before any byte is read or written.
func (g *Guard) Accept(ctx context.Context, conn net.Conn, cfg Config) (*Link, error) {
	var cut atomic.Bool
	release, err := g.admit(addrIP(conn.RemoteAddr()), func() { cut.Store(true); conn.Close() })
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer release()
	l, err := Accept(ctx, conn, cfg)
	if err != nil {
		if cut.Load() {
			return nil, fmt.Errorf("%w: %w", ErrGuardPreempted, err)
		}
		return nil, err
	}
	g.track(addrIP(conn.RemoteAddr()), l)
	return l, nil
}

// Admit decides whether a handshake from addr may start: addr's IP has
// fewer than MaxHandshakesPerIP handshakes in flight, a token in its
// bucket, and fewer than MaxLinksPerIP links and handshakes; and there is a
// free handshake slot. On success the caller must call release when the
// handshake is over; release is idempotent. Links counted per IP are only
// those made through Guard.Accept, and only handshakes started by
// Guard.Accept can be cut to make room for another address.
func (g *Guard) Admit(addr net.Addr) (release func(), err error) {
	return g.admit(addrIP(addr), nil)
}

// admit is Admit for ip; cut, if not nil, ends the handshake early when a
// newcomer from a less busy address needs its slot.
func (g *Guard) admit(ip netip.Addr, cut func()) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	src := g.sourceLocked(ip)
	if src == nil {
		return nil, g.refuseLocked(0, fmt.Errorf("%w (%d sources remembered)", ErrGuardBusy, len(g.sources)))
	}
	if src.handshakes >= g.cfg.MaxHandshakesPerIP {
		return nil, g.refuseLocked(3, fmt.Errorf("%w %v (%d)", ErrGuardShare, ip, src.handshakes))
	}
	g.refillLocked(src)
	if src.tokens < 1 {
		return nil, g.refuseLocked(1, fmt.Errorf("%w %v", ErrGuardRate, ip))
	}
	if src.handshakes+src.links >= g.cfg.MaxLinksPerIP {
		return nil, g.refuseLocked(2, fmt.Errorf("%w %v (%d)", ErrGuardLinks, ip, src.handshakes+src.links))
	}
	if g.inFlight >= g.cfg.MaxHandshakes && !g.preemptLocked(src) {
		return nil, g.refuseLocked(0, fmt.Errorf("%w (%d)", ErrGuardBusy, g.inFlight))
	}
	src.tokens--
	src.handshakes++
	g.inFlight++
	ph := &pendingHandshake{cut: cut}
	if cut != nil {
		src.pending = append(src.pending, ph)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.releaseLocked(src, ph)
		})
	}, nil
}

// releaseLocked frees ph's slot, unless a preemption already did.
func (g *Guard) releaseLocked(src *source, ph *pendingHandshake) {
	if ph.cut != nil {
		i := slices.Index(src.pending, ph)
		if i < 0 {
			return // preempted: its slot went to the newcomer
		}
		src.pending = slices.Delete(src.pending, i, i+1)
	}
	src.handshakes--
	g.inFlight--
}

// preemptLocked makes room for a handshake from src by cutting the oldest
// cuttable handshake of the address with the most in flight, if that
// address has at least two more than src. It reports whether it did.
func (g *Guard) preemptLocked(src *source) bool {
	var victim *source
	for _, s := range g.sources {
		if len(s.pending) > 0 && (victim == nil || s.handshakes > victim.handshakes) {
			victim = s
		}
	}
	if victim == nil || victim.handshakes < src.handshakes+2 {
		return false
	}
	ph := victim.pending[0]
	victim.pending = victim.pending[1:]
	victim.handshakes--
	g.inFlight--
	g.cut++
	ph.cut()
	return true
}

// Stats returns the guard's counters.
func (g *Guard) Stats() GuardStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GuardStats{InFlight: g.inFlight, Sources: len(g.sources),
		RefusedBusy: g.refused[0], RefusedRate: g.refused[1], RefusedLinks: g.refused[2],
		RefusedShare: g.refused[3], Preempted: g.cut}
}

func (g *Guard) refuseLocked(kind int, err error) error {
	g.refused[kind]++
	return err
}

// track counts l against ip until it is done.
func (g *Guard) track(ip netip.Addr, l *Link) {
	g.mu.Lock()
	src := g.sources[ip] // kept: it has a handshake in flight until release
	src.links++
	g.mu.Unlock()
	l.afterDone(func() {
		g.mu.Lock()
		src.links--
		g.mu.Unlock()
	})
}

// sourceLocked returns ip's entry, making one if there is room; nil if not.
func (g *Guard) sourceLocked(ip netip.Addr) *source {
	if src := g.sources[ip]; src != nil {
		return src
	}
	if len(g.sources) >= g.cfg.MaxSources {
		g.forgetIdleLocked()
		if len(g.sources) >= g.cfg.MaxSources {
			return nil
		}
	}
	src := &source{tokens: float64(g.cfg.HandshakeBurst), refilled: g.now()}
	g.sources[ip] = src
	return src
}

// forgetIdleLocked drops sources with nothing in flight and a full bucket:
// forgetting them changes nothing.
func (g *Guard) forgetIdleLocked() {
	for ip, src := range g.sources {
		g.refillLocked(src)
		if src.handshakes == 0 && src.links == 0 && src.tokens >= float64(g.cfg.HandshakeBurst) {
			delete(g.sources, ip)
		}
	}
}

func (g *Guard) refillLocked(src *source) {
	now := g.now()
	if elapsed := now.Sub(src.refilled); elapsed > 0 {
		src.tokens = min(float64(g.cfg.HandshakeBurst), src.tokens+elapsed.Seconds()*g.cfg.HandshakeRate)
	}
	src.refilled = now
}

// addrIP returns the IP of a TCP or UDP address (IPv4-mapped IPv6 unmapped);
// other addresses share the zero netip.Addr.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
