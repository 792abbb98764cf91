package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

func TestLinkDeadPeer(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	ln := sessiontest.Listen(t)
	// After its hello, nothing from the acceptor reaches the dialer: as if
	// the acceptor's host vanished.
	proxy := sessiontest.NewProxy(t, ln.Addr().String(), func(dir sessiontest.Direction, i int, msg []byte) [][]byte {
		if dir == sessiontest.ServerToClient && i > 1 {
			return nil
		}
		return [][]byte{msg}
	})
	dcfg, acfg := pairConfigs(t)
	dcfg.KeepaliveInterval, dcfg.DeadTimeout = 20*time.Millisecond, 200*time.Millisecond
	d, a := proxiedPair(t, ln, proxy, dcfg, acfg)
	if d.err != nil || a.err != nil {
		t.Fatalf("dial: %v; accept: %v", d.err, a.err)
	}
	if err := waitDone(t, d.link); !errors.Is(err, ErrDeadPeer) {
		t.Fatalf("dialer: %v, want ErrDeadPeer", err)
	}
	// The dialer still told the acceptor, whose messages were the ones lost.
	var ce *CloseError
	if err := waitDone(t, a.link); !errors.As(err, &ce) || ce.Code != CloseDeadPeer {
		t.Fatalf("acceptor: %v, want a dead-peer close", err)
	}
}

func TestLinkKeepaliveKeepsIdleLinkUp(t *testing.T) {
	dcfg, acfg := pairConfigs(t)
	for _, c := range []*Config{&dcfg, &acfg} {
		c.KeepaliveInterval, c.DeadTimeout = 20*time.Millisecond, 500*time.Millisecond
	}
	d, a := linkPair(t, dcfg, acfg)
	// Idle for many dead timeouts: only keepalives flow.
	sessiontest.Eventually(t, waitLimit, "75 keepalive pings", func() bool {
		return d.Stats().PingsSent+a.Stats().PingsSent >= 75
	})
	if d.Err() != nil || a.Err() != nil {
		t.Fatalf("idle link ended: %v / %v", d.Err(), a.Err())
	}
	if d.Stats().RTT <= 0 && a.Stats().RTT <= 0 {
		t.Fatal("no round trip measured")
	}
	if err := d.Send(appFrame, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if f := recvWithin(t, a); string(f.Body) != "still here" {
		t.Fatalf("got %q", f.Body)
	}
}

func TestLinkRekey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"after 3 messages", func(c *Config) { c.RekeyAfterMessages = 3 }},
		{"after 20 ms", func(c *Config) { c.RekeyAfter = 20 * time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dcfg, acfg := pairConfigs(t)
			tt.mutate(&dcfg)
			tt.mutate(&acfg)
			d, a := linkPair(t, dcfg, acfg)
			round := 0
			sessiontest.Eventually(t, waitLimit, "10 rekeys each way, with traffic", func() bool {
				exchange(t, d, a, fmt.Sprintf("frame %d", round))
				round++
				return d.Stats().RekeysSent >= 10 && a.Stats().RekeysSent >= 10
			})
			sessiontest.Eventually(t, waitLimit, "peers follow every rekey", func() bool {
				return d.Stats().RekeysSent == a.Stats().RekeysReceived && a.Stats().RekeysSent == d.Stats().RekeysReceived
			})
			exchange(t, d, a, "after all the rekeys")
		})
	}
}

// exchange sends text each way and checks it arrives.
func exchange(t *testing.T, d, a *Link, text string) {
	t.Helper()
	for _, p := range [][2]*Link{{d, a}, {a, d}} {
		if err := p[0].Send(appFrame, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if f := recvWithin(t, p[1]); string(f.Body) != text {
			t.Fatalf("got %q, want %q", f.Body, text)
		}
	}
}

// TestLinkNonceExhaustion starts a link two messages before the last
// usable nonce: two frames pass, then the sender closes cleanly with the
// nonce it kept for that, and no nonce is used twice or past the maximum.
func TestLinkNonceExhaustion(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	for _, c := range []*Config{&dcfg, &acfg} {
		c.KeepaliveInterval, c.DeadTimeout = time.Hour, 2*time.Hour // an idle link
	}
	d, a := keyedPair(t, dcfg, acfg, nonceLimit-2)
	for i := range 3 {
		if err := d.Send(appFrame, fmt.Appendf(nil, "frame %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if f := recvWithin(t, a); string(f.Body) != fmt.Sprintf("frame %d", i) {
			t.Fatalf("got %q", f.Body)
		}
	}
	var ce *CloseError
	if _, err := a.Recv(context.Background()); !errors.As(err, &ce) || ce.Code != CloseNonceExhausted {
		t.Fatalf("receiver: %v, want a nonces-exhausted close", err)
	}
	if err := waitDone(t, d); !errors.Is(err, ErrNonceExhausted) {
		t.Fatalf("sender: %v, want ErrNonceExhausted", err)
	}
	d.tx.mu.Lock()
	n := d.tx.cs.Nonce()
	d.tx.mu.Unlock()
	if n != nonceLimit+1 || n > noise.MaxNonce || noise.MaxNonce != math.MaxUint64-1 {
		t.Fatalf("sending nonce ended at %d, want %d (noise.MaxNonce %d)", n, uint64(nonceLimit+1), uint64(noise.MaxNonce))
	}
}

// keyedPair builds two linked ends over loopback TCP from fixed transport
// keys starting at nonce, skipping the handshake: everything after it is real.
func keyedPair(t *testing.T, dcfg, acfg Config, nonce uint64) (dialer, acceptor *Link) {
	t.Helper()
	client, server := sessiontest.Pair(t)
	suite := newSuite(nil)
	mk := func(conn net.Conn, cfg Config, tx, rx byte, peer lcrypto.IdentityKey) *Link {
		c, err := cfg.normalized()
		if err != nil {
			t.Fatal(err)
		}
		h := &handshake{cfg: &c, conn: conn, peer: peer, r: newLazyReader(conn)}
		h.tx = newSendDir(noise.UnsafeNewCipherState(suite, [32]byte{tx}, nonce), conn, c.RekeyAfterMessages)
		h.rx = newRecvDir(noise.UnsafeNewCipherState(suite, [32]byte{rx}, nonce), conn, h.r)
		l := newLink(h)
		t.Cleanup(func() { l.Close("test over") })
		return l
	}
	return mk(client, dcfg, 1, 2, acfg.Identity.Public()), mk(server, acfg, 2, 1, dcfg.Identity.Public())
}

// TestLinkUnknownFramesSkipped: a reserved session type is skipped; every
// application type, known to this version or not, reaches Recv untouched.
func TestLinkUnknownFramesSkipped(t *testing.T) {
	d, a := trustedPair(t)
	// A newer peer's frame types, application and session range alike.
	if err := d.Send(0x7f, []byte("from the future")); err != nil {
		t.Fatal(err)
	}
	if err := d.writeNow(0x0f, []byte("future session frame")); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(appFrame, []byte("known")); err != nil {
		t.Fatal(err)
	}
	if f := recvWithin(t, a); f.Type != 0x7f || string(f.Body) != "from the future" {
		t.Fatalf("got %s %q, want the application frame of type 0x7f", f.Type, f.Body)
	}
	if f := recvWithin(t, a); f.Type != appFrame || string(f.Body) != "known" {
		t.Fatalf("got %s %q, want the frame of type 0x10", f.Type, f.Body)
	}
	if s := a.Stats(); s.FramesSkipped != 1 || s.FramesReceived != 2 {
		t.Fatalf("stats %+v: want 1 skipped, 2 received", s)
	}
}

func TestLinkSecondHelloIsProtocolError(t *testing.T) {
	d, a := trustedPair(t)
	if err := d.writeNow(frameHello, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recv(context.Background()); !errors.Is(err, ErrProtocol) {
		t.Fatalf("recv: %v, want ErrProtocol", err)
	}
}

// TestLinkSlowPeer: a peer that does not read fills the queues; Send then
// fails at once instead of blocking, SendWait waits, and both recover when
// the peer reads again.
func TestLinkSlowPeer(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	const frame = 64 << 10
	for _, c := range []*Config{&dcfg, &acfg} {
		c.MaxFrameSize = frame
		c.SendQueueBytes, c.RecvQueueBytes = frame+QueueOverhead, frame+QueueOverhead
	}
	d, a := linkPair(t, dcfg, acfg)
	body := bytes.Repeat([]byte{1}, frame)
	// Fill the pipeline: the peer's receive queue, both socket buffers and
	// our send queue. It is full when the writer makes no room for a second.
	sent := 0
	for ; ; sent++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.SendWait(ctx, appFrameBulk, body)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent > 2000 { // 128 MiB: far beyond any socket buffer
			t.Fatal("the pipeline never filled")
		}
	}
	if err := d.Send(appFrameBulk, body); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send to a peer that does not read: %v, want ErrQueueFull", err)
	}
	if err := d.SendOwned(appFrameBulk, body); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("SendOwned to a peer that does not read: %v, want ErrQueueFull", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := d.SendWaitOwned(short, appFrameBulk, body)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendWaitOwned to a peer that does not read: %v, want the context's deadline", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.SendWait(context.Background(), appFrame, []byte("last")) }()
	for i := 0; ; i++ {
		f := recvWithin(t, a)
		if f.Type == appFrame {
			if string(f.Body) != "last" || i != sent {
				t.Fatalf("frame %d: %s %q; want %d sync frames, then \"last\"", i, f.Type, f.Body, sent)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("SendWait once the peer read: %v", err)
	}
}
