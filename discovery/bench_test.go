package discovery

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lanchat/lanchat/discovery/discoverytest"
)

func BenchmarkBeaconEncode(b *testing.B) {
	id := testIdentity(b, 1)
	bc := Beacon{TCPPort: 47101, Interval: time.Second, Instance: [InstanceSize]byte{1}, Seq: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bc.Encode(id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBeaconDecodeVerify(b *testing.B) {
	p := beaconFrom(b, testIdentity(b, 1), Beacon{TCPPort: 47101})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleJunk is the cost of refusing a datagram at the cheap
// checks, what a flood of junk costs per datagram.
func BenchmarkHandleJunk(b *testing.B) {
	s := offlineService(b, nil)
	junk := make([]byte, MinBeaconSize)
	from := netip.MustParseAddrPort("10.1.2.10:1")
	b.ReportAllocs()
	for b.Loop() {
		s.handle(junk, from, t0)
	}
}

// BenchmarkHandleRateLimited is the cost of a well-formed beacon from a
// source over its budget: dropped before the signature check.
func BenchmarkHandleRateLimited(b *testing.B) {
	s := offlineService(b, nil)
	p := beaconFrom(b, testIdentity(b, 1), Beacon{TCPPort: 1})
	p[len(p)-1] ^= 1
	from := netip.MustParseAddrPort("10.1.2.10:1")
	for range perSourceBurst {
		s.handle(p, from, t0)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.handle(p, from, t0)
	}
}

// BenchmarkPeerVisible measures start → peer visible on loopback: a node
// runs (on a fresh port, so no rate limit carries over); a second one
// starts; the clock stops when the first lists it.
func BenchmarkPeerVisible(b *testing.B) {
	var stopping sync.WaitGroup // nodes say bye in the background
	defer stopping.Wait()
	for b.Loop() {
		b.StopTimer()
		port := discoverytest.FreePort(b)
		a, stopA := runBenchNode(b, 1, port)
		pollEvery(b, 5*time.Second, 100*time.Microsecond, "the first node to listen", func() bool { return a.Stats().Own > 0 })
		b.StartTimer()
		s, stopS := runBenchNode(b, 2, port)
		for ev := range a.Events() {
			if ev.Kind == Appeared && ev.Peer.Key == s.cfg.Identity.Public() {
				break
			}
		}
		b.StopTimer()
		stopping.Go(stopS)
		stopping.Go(stopA)
		b.StartTimer()
	}
}

// runBenchNode runs a node with the default interval (visibility comes
// from the start burst) and returns a function that stops it.
func runBenchNode(b *testing.B, n byte, port int) (*Service, func()) {
	cfg := loopbackConfig(testIdentity(b, n), port)
	cfg.Interval = DefaultInterval
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return s, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}
