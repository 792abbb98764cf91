package discovery

import (
	"net/netip"
	"sync"
	"time"
)

// Dial limiter defaults. With them, one target address is dialled at most
// 1 + ⌊log₂(T/DialBackoffBase + 1)⌋ times in any T up to the point where the
// backoff reaches DialBackoffMax, then once per DialBackoffMax: 4 dials in
// the first 10 s, 6 in the first minute, 10 in the first 10 minutes, however
// many beacons name it. Success resets the address.
const (
	DialBackoffBase = time.Second
	DialBackoffMax  = 5 * time.Minute
	// DialLimiterSize bounds the addresses tracked. When it is full, an
	// address that has been free to dial for DialBackoffMax is forgotten;
	// if there is none, Allow refuses new addresses.
	DialLimiterSize = 4096
)

// DialLimiter rate-limits dials per target address with exponential backoff,
// so spoofed or replayed beacons cannot turn nodes into a dialling cannon
// aimed at one victim. It is safe for concurrent use.
type DialLimiter struct {
	mu      sync.Mutex
	base    time.Duration
	max     time.Duration
	size    int
	targets map[netip.AddrPort]*dialState
}

type dialState struct {
	next    time.Time     // no dial before this
	backoff time.Duration // wait after the next allowed dial
}

// NewDialLimiter returns a limiter with the documented defaults.
func NewDialLimiter() *DialLimiter {
	return &DialLimiter{base: DialBackoffBase, max: DialBackoffMax, size: DialLimiterSize,
		targets: make(map[netip.AddrPort]*dialState)}
}

// Allow reports whether addr may be dialled at now, and if so counts the
// dial: the next one to addr waits twice as long as the last (up to the max).
func (d *DialLimiter) Allow(addr netip.AddrPort, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.targets[addr]
	if st == nil {
		if !d.roomLocked(now) {
			return false
		}
		st = &dialState{backoff: d.base}
		d.targets[addr] = st
	}
	if now.Before(st.next) {
		return false
	}
	st.next = now.Add(st.backoff)
	st.backoff = min(2*st.backoff, d.max)
	return true
}

// Success forgets addr's backoff after a link to it succeeded.
func (d *DialLimiter) Success(addr netip.AddrPort) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.targets, addr)
}

func (d *DialLimiter) roomLocked(now time.Time) bool {
	if len(d.targets) < d.size {
		return true
	}
	for a, st := range d.targets {
		if !now.Before(st.next.Add(d.max)) {
			delete(d.targets, a)
		}
	}
	return len(d.targets) < d.size
}
