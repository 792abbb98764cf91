package chat

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// flapper is a trusted peer that accepts every link and closes it right
// after the handshake; it counts the links it was offered.
func flapper(t *testing.T, id *lcrypto.Identity, trusts lcrypto.IdentityKey) (addr string, links *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	links = new(atomic.Int64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	cfg := session.DefaultConfig()
	cfg.Identity = id
	cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k == trusts }
	cfg.Hello = hello{Nick: "flappy", Rooms: []string{"lobby"}}.encode()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := session.Accept(ctx, conn, cfg)
				if err != nil {
					return
				}
				links.Add(1)
				l.Close("go away")
			}()
		}
	}()
	return ln.Addr().String(), links
}

// TestRelinkBacksOff: a trusted peer that closes every link right after
// the handshake is relinked with exponential backoff, not on every redial
// tick, and the user is told once why.
func TestRelinkBacksOff(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	flappy := newID(t)
	if _, err := c.openStore(alice).Trust(flappy.Fingerprint(), "flappy"); err != nil {
		t.Fatal(err)
	}
	addr, links := flapper(t, flappy, alice.id.Public())
	cfg := c.config(alice)
	cfg.NoDiscovery = true
	cfg.StaticPeers = []string{addr}
	c.startWith(alice, cfg)

	// A window of 6 s: without backoff, the 100 ms redial tick (and the
	// static peers' own 1 s backoff, reset by every link) give one link a
	// second or more; with it, waits of at least 0.5, 1, 2 s (jitter takes
	// off up to half): at most 4 links.
	window := time.NewTimer(6 * time.Second)
	defer window.Stop()
	var notices []Event
	for done := false; !done; {
		select {
		case ev := <-alice.events:
			if ev.Kind == EventRelinkBackoff {
				notices = append(notices, ev)
			}
		case <-window.C:
			done = true
		}
	}
	if n := links.Load(); n < 2 || n > 4 {
		t.Errorf("%d links in the window, want 2 to 4", n)
	}
	if len(notices) != 1 {
		t.Fatalf("%d relink notices, want 1: %+v", len(notices), notices)
	}
	t.Logf("%d links; notice: %s", links.Load(), notices[0].Reason)
}
