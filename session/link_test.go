package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lanchat/lanchat/session/sessiontest"
)

func TestLinkTrustedPair(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	d, a := linkPair(t, dcfg, acfg)

	if d.Peer() != acfg.Identity.Public() || a.Peer() != dcfg.Identity.Public() {
		t.Fatalf("peers: dialer sees %s, acceptor sees %s", d.Peer(), a.Peer())
	}
	if !bytes.Equal(d.PeerHello(), acfg.Hello) || !bytes.Equal(a.PeerHello(), dcfg.Hello) {
		t.Fatalf("hellos: dialer got %q, acceptor got %q", d.PeerHello(), a.PeerHello())
	}
	cb := d.ChannelBinding()
	if len(cb) != 32 || !bytes.Equal(cb, a.ChannelBinding()) {
		t.Fatalf("channel bindings differ: %x vs %x", cb, a.ChannelBinding())
	}
	cb[0] ^= 1
	if bytes.Equal(cb, d.ChannelBinding()) {
		t.Fatal("ChannelBinding returned the link's own slice")
	}

	for i, tt := range []struct {
		from, to *Link
		typ      FrameType
		body     []byte
	}{
		{d, a, appFrame, []byte("hi bob")},
		{a, d, appFrame, []byte("hi alice")},
		{d, a, appFrameJoin, nil},
		{a, d, appFrameBulk, bytes.Repeat([]byte{7}, 3*MaxPlaintext+5)},
	} {
		if err := tt.from.Send(tt.typ, tt.body); err != nil {
			t.Fatalf("frame %d: send: %v", i, err)
		}
		f := recvWithin(t, tt.to)
		if f.Type != tt.typ || !bytes.Equal(f.Body, tt.body) {
			t.Fatalf("frame %d: got %s of %d bytes, want %s of %d", i, f.Type, len(f.Body), tt.typ, len(tt.body))
		}
	}

	if err := d.Close("bye now"); err != nil {
		t.Fatalf("close: %v", err)
	}
	var ce *CloseError
	if err := waitDone(t, a); !errors.As(err, &ce) || !ce.Remote || ce.Reason != "bye now" || ce.Code != CloseNormal {
		t.Fatalf("acceptor's end: %v, want a remote close saying \"bye now\"", err)
	}
	if err := d.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("dialer's end: %v, want ErrClosed", err)
	}
	if err := d.Send(appFrame, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v, want ErrClosed", err)
	}
	if _, err := a.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after the peer closed: %v, want ErrClosed", err)
	}
}

func TestLinkFramesArriveInOrderBeforeClose(t *testing.T) {
	d, a := trustedPair(t)
	const n = 500
	for i := range n {
		if err := d.SendWait(context.Background(), appFrame, fmt.Appendf(nil, "line %d", i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	d.Close("done")
	for i := range n {
		f := recvWithin(t, a)
		if want := fmt.Sprintf("line %d", i); string(f.Body) != want {
			t.Fatalf("frame %d is %q, want %q", i, f.Body, want)
		}
	}
	if _, err := a.Recv(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the last frame: %v, want the close", err)
	}
}

func TestLinkSendChecks(t *testing.T) {
	dcfg, acfg := pairConfigs(t)
	dcfg.MaxFrameSize = 1000
	d, _ := linkPair(t, dcfg, acfg)
	tests := []struct {
		name string
		typ  FrameType
		body []byte
		want error
	}{
		{"largest frame", appFrame, make([]byte, 1000), nil},
		{"too large", appFrame, make([]byte, 1001), ErrFrameTooLarge},
		{"session type", framePing, make([]byte, 8), ErrFrameType},
		{"hello type", frameHello, nil, ErrFrameType},
		{"unknown app type", 0x7f, []byte("x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Send(tt.typ, tt.body); !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLinkConcurrentSenders(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	d, a := trustedPair(t)
	const senders, each = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Sizes that cross chunk boundaries now and then.
				body := bytes.Repeat([]byte{byte(s)}, 2+(i*7919)%(MaxPlaintext+MaxPlaintext/4))
				body[0] = byte(i)
				if err := d.SendWait(context.Background(), appFrame, body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	next := make([]int, senders)
	for range senders * each {
		f := recvWithin(t, a)
		s := int(f.Body[len(f.Body)-1])
		if s >= senders || byte(next[s]) != f.Body[0] {
			t.Fatalf("frame from sender %d out of order or corrupt (first byte %d, want %d)", s, f.Body[0], next[s])
		}
		next[s]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sender: %v", err)
	}
	d.Close("done")
	a.Close("done")
}
