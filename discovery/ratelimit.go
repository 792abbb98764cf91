package discovery

import (
	"net/netip"
	"sync"
	"time"
)

// Limits applied before a signature is checked (Ed25519 verify costs about
// 50 µs, so these bound the CPU a flood can burn).
const (
	// perSourceRate beacons per second per source IP, with perSourceBurst
	// in reserve: room for many nodes behind one address (one host).
	perSourceRate  = 20
	perSourceBurst = 60
	// verifyRate signature checks per second in total, verifyBurst in
	// reserve: at most ~5% of one core.
	verifyRate  = 1000
	verifyBurst = 1000
	// maxSources bounds the per-source state; past it, new sources share
	// one bucket.
	maxSources = 1024
)

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// full reports whether the bucket would be back to its burst by now, so
// forgetting it changes nothing.
func (b *bucket) full(now time.Time, rate, burst float64) bool {
	return b.tokens+now.Sub(b.last).Seconds()*rate >= burst
}

// sourceLimiter rate-limits datagrams per source IP and in total.
type sourceLimiter struct {
	mu       sync.Mutex
	sources  map[netip.Addr]*bucket
	overflow bucket // shared by new sources while the map is full
	total    bucket
}

func newSourceLimiter() *sourceLimiter {
	return &sourceLimiter{sources: make(map[netip.Addr]*bucket)}
}

// allow reports whether one more signature check for src fits the limits.
func (l *sourceLimiter) allow(src netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.sourceLocked(src, now)
	if !b.take(now, perSourceRate, perSourceBurst) {
		return false
	}
	return l.total.take(now, verifyRate, verifyBurst)
}

func (l *sourceLimiter) sourceLocked(src netip.Addr, now time.Time) *bucket {
	if b := l.sources[src]; b != nil {
		return b
	}
	if len(l.sources) >= maxSources {
		for k, b := range l.sources {
			if b.full(now, perSourceRate, perSourceBurst) {
				delete(l.sources, k)
			}
		}
	}
	if len(l.sources) >= maxSources {
		return &l.overflow
	}
	b := &bucket{}
	l.sources[src] = b
	return b
}

// size is the number of per-source buckets, for tests.
func (l *sourceLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}
