package discovery

import (
	"bytes"
	"context"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery/discoverytest"
)

// testIdentity returns a deterministic identity: secret bytes all n.
func testIdentity(t testing.TB, n byte) *crypto.Identity {
	t.Helper()
	id, err := crypto.IdentityFromSecret(bytes.Repeat([]byte{n}, crypto.SecretSize))
	if err != nil {
		t.Fatalf("identity: %v", err)
	}
	return id
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	pollEvery(t, within, 10*time.Millisecond, what, cond)
}

// pollEvery is waitFor with a chosen polling period.
func pollEvery(t testing.TB, within, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		<-tick.C
	}
}

// checkGoroutines fails the test if goroutines started during it are still
// running when it ends. Register it first: cleanups run last-in first-out.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			runtime.Gosched()
			time.Sleep(5 * time.Millisecond) // letting exiting goroutines finish, not waiting on the system under test
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

// node is a running Service.
type node struct {
	*Service
	id   *crypto.Identity
	stop func() // cancels Run and waits for it
}

// startNode runs a Service with cfg until the test ends (or stop).
func startNode(t *testing.T, cfg Config) *node {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	waitFor(t, 5*time.Second, "the node to hear its own beacon", func() bool { return s.Stats().Own > 0 })
	return &node{Service: s, id: cfg.Identity, stop: stop}
}

// loopbackNode starts a node for identity n on port, pinned to loopback.
func loopbackNode(t *testing.T, n byte, port int) *node {
	t.Helper()
	return startNode(t, loopbackConfig(testIdentity(t, n), port))
}

// loopbackConfig pins a config for id to loopback broadcast on port, with
// a short interval.
func loopbackConfig(id *crypto.Identity, port int) Config {
	cfg := DefaultConfig()
	cfg.Identity = id
	cfg.Port = port
	cfg.Addr = discoverytest.LoopbackBroadcast
	cfg.Interval = 100 * time.Millisecond
	return cfg
}

// hasPeer reports whether s lists key.
func hasPeer(s *Service, key crypto.IdentityKey) bool {
	_, ok := findPeer(s, key)
	return ok
}

func findPeer(s *Service, key crypto.IdentityKey) (Peer, bool) {
	for _, p := range s.Peers() {
		if p.Key == key {
			return p, true
		}
	}
	return Peer{}, false
}

// nextEvent waits for the next event of kind for key, skipping others.
func nextEvent(t *testing.T, s *Service, kind EventKind, key crypto.IdentityKey, within time.Duration) Event {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v of %v", kind, key)
			}
			if ev.Kind == kind && ev.Peer.Key == key {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %v event for %v within %v", kind, key, within)
		}
	}
}

// fakeIfaces is an interface list for tests that call handle directly.
func fakeIfaces() ([]ifaceInfo, error) {
	return []ifaceInfo{
		{Name: "lo", Index: 1, Up: true, Loopback: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "eth0", Index: 2, Up: true, Bcast: true, Mcast: true, Prefixes: []netip.Prefix{
			netip.MustParsePrefix("10.1.2.3/24"), netip.MustParsePrefix("fe80::1/64")}},
	}, nil
}

// offlineService returns a Service that is never Run: tests feed it
// datagrams through handle with a chosen source and time (t0 onwards).
func offlineService(t testing.TB, mod func(*Config)) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Identity = testIdentity(t, 0xee)
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.nets = newNetsCache(fakeIfaces, "", netip.Addr{})
	s.now = func() time.Time { return t0 } // Peers sweeps at t0: nothing fed after t0 expires
	return s
}

// beaconFrom encodes a beacon for id with defaults for unset fields.
func beaconFrom(t testing.TB, id *crypto.Identity, b Beacon) []byte {
	t.Helper()
	if b.Interval == 0 {
		b.Interval = time.Second
	}
	if b.Instance == ([InstanceSize]byte{}) {
		b.Instance = [InstanceSize]byte{1}
	}
	if b.Seq == 0 {
		b.Seq = 1
	}
	p, err := b.Encode(id)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return p
}
