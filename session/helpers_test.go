package session

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

// linkGoroutines are the functions whose goroutines must be gone after a
// test closed its links.
var linkGoroutines = []string{
	"session.(*Link).readLoop",
	"session.(*Link).writeLoop",
	"sessiontest.(*Proxy)",
}

// waitLimit is how long tests wait for something that should happen at once.
const waitLimit = 10 * time.Second

// testConfig is DefaultConfig for id, trusting exactly the given keys.
func testConfig(id *lcrypto.Identity, trusted ...lcrypto.IdentityKey) Config {
	c := DefaultConfig()
	c.Identity = id
	c.Hello = []byte("hello from " + id.Public().String())
	c.Trusted = func(k lcrypto.IdentityKey) bool { return slices.Contains(trusted, k) }
	return c
}

// pairConfigs returns configs for two identities that trust each other.
func pairConfigs(t testing.TB) (dial, accept Config) {
	a, b := sessiontest.Identity(t, 1), sessiontest.Identity(t, 2)
	return testConfig(a, b.Public()), testConfig(b, a.Public())
}

type linkResult struct {
	link *Link
	err  error
}

// handshakeOver runs Dial on client and Accept on server at the same time.
func handshakeOver(t testing.TB, client, server net.Conn, dcfg, acfg Config) (dial, accept linkResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	accepted := make(chan linkResult, 1)
	go func() {
		l, err := Accept(ctx, server, acfg)
		accepted <- linkResult{l, err}
	}()
	l, err := Dial(ctx, client, dcfg)
	dial = linkResult{l, err}
	accept = <-accepted
	for _, r := range []linkResult{dial, accept} {
		if r.link != nil {
			t.Cleanup(func() { r.link.Close("test over") })
		}
	}
	return dial, accept
}

// linkPair returns two linked ends over loopback TCP, or fails the test.
func linkPair(t testing.TB, dcfg, acfg Config) (dialer, acceptor *Link) {
	t.Helper()
	client, server := sessiontest.Pair(t)
	d, a := handshakeOver(t, client, server, dcfg, acfg)
	if d.err != nil || a.err != nil {
		t.Fatalf("handshake: dial: %v; accept: %v", d.err, a.err)
	}
	return d.link, a.link
}

// recvWithin receives one frame, failing the test if none comes.
func recvWithin(t testing.TB, l *Link) Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	f, err := l.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return f
}

// waitDone waits for the link to end and returns its error.
func waitDone(t testing.TB, l *Link) error {
	t.Helper()
	select {
	case <-l.Done():
		return l.Err()
	case <-time.After(waitLimit):
		t.Fatalf("link still up after %v", waitLimit)
		return nil
	}
}

// trustedPair links two identities that trust each other, with default settings.
func trustedPair(t testing.TB) (dialer, acceptor *Link) {
	t.Helper()
	dcfg, acfg := pairConfigs(t)
	return linkPair(t, dcfg, acfg)
}

// Application frame types the tests send. The session gives them no
// meaning: it hands every type from FirstAppFrame up to Recv untouched.
const (
	appFrame      FrameType = 0x10
	appFrameBulk  FrameType = 0x12
	appFrameJoin  FrameType = 0x13
	appFrameLeave FrameType = 0x14
)
