package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// proxiedPair links dcfg and acfg through a proxy running hook and returns
// the results of both sides.
func proxiedPair(t testing.TB, ln net.Listener, proxy *sessiontest.Proxy, dcfg, acfg Config) (dial, accept linkResult) {
	t.Helper()
	type conns struct {
		c   net.Conn
		err error
	}
	accepted := make(chan conns, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- conns{c, err}
	}()
	client, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s.err != nil {
		t.Fatal(s.err)
	}
	return handshakeOver(t, client, s.c, dcfg, acfg)
}

// flip returns msg with one bit of byte i changed (bit i mod 8).
func flip(msg []byte, i int) []byte {
	m := bytes.Clone(msg)
	m[i] ^= 1 << (i % 8)
	return m
}

// TestHandshakeFlippedBytes flips one bit in each byte of each handshake
// message and hello frame, in turn, between two honest nodes: no link may
// come up.
func TestHandshakeFlippedBytes(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	dcfg, acfg := pairConfigs(t)
	// A flipped length prefix can leave a side waiting for bytes that never
	// come; the deadline ends those cases.
	dcfg.HandshakeTimeout, acfg.HandshakeTimeout = 300*time.Millisecond, 300*time.Millisecond
	helloWire := LengthPrefixSize + TagSize + frameHeaderSize
	type target struct {
		dir   sessiontest.Direction
		index int
		name  string
		size  int
	}
	targets := []target{
		{sessiontest.ClientToServer, 0, "message 1", wireMsg1},
		{sessiontest.ServerToClient, 0, "message 2", wireMsg2},
		{sessiontest.ClientToServer, 1, "message 3", wireMsg3},
		{sessiontest.ServerToClient, 1, "responder hello", helloWire + len(acfg.Hello)},
		{sessiontest.ClientToServer, 2, "initiator hello", helloWire + len(dcfg.Hello)},
	}
	type flipAt struct {
		target
		byteIndex int
	}
	var current atomic.Pointer[flipAt]
	var flipped atomic.Int64
	ln := sessiontest.Listen(t)
	proxy := sessiontest.NewProxy(t, ln.Addr().String(), func(dir sessiontest.Direction, i int, msg []byte) [][]byte {
		c := current.Load()
		if c == nil || c.dir != dir || c.index != i {
			return [][]byte{msg}
		}
		if len(msg) != c.size {
			panic(fmt.Sprintf("%s is %d bytes, want %d", c.name, len(msg), c.size))
		}
		flipped.Add(1)
		return [][]byte{flip(msg, c.byteIndex)}
	})
	stride := 1
	if testing.Short() {
		stride = 7
	}
	cases := 0
	for _, tg := range targets {
		for b := 0; b < tg.size; b += stride {
			current.Store(&flipAt{tg, b})
			d, a := proxiedPair(t, ln, proxy, dcfg, acfg)
			cases++
			if a.err == nil {
				t.Fatalf("%s byte %d flipped: the acceptor linked", tg.name, b)
			}
			if d.err == nil {
				// Only the initiator's own hello follows its success; the
				// link must then die without delivering anything.
				if tg.name != "initiator hello" {
					t.Fatalf("%s byte %d flipped: the dialer linked", tg.name, b)
				}
				if _, err := d.link.Recv(context.Background()); err == nil {
					t.Fatalf("%s byte %d flipped: the dialer received a frame", tg.name, b)
				}
			}
		}
	}
	if int(flipped.Load()) != cases {
		t.Fatalf("flipped %d messages in %d cases", flipped.Load(), cases)
	}
}

// TestLinkTamperedFrames changes the first application frame on the wire:
// the receiver must close the link with ErrProtocol, deliver nothing from
// that point on, and tell the sender why.
func TestLinkTamperedFrames(t *testing.T) {
	const first = 3 // client→server: message 1, message 3, hello, then frames
	type tamperCase struct {
		name      string
		hook      func(i int, msg []byte) [][]byte
		delivered int // frames the receiver gets before the link closes
	}
	var held []byte
	tests := []tamperCase{
		{"replayed", func(i int, msg []byte) [][]byte {
			if i == first {
				return [][]byte{msg, msg}
			}
			return [][]byte{msg}
		}, 1},
		{"reordered", func(i int, msg []byte) [][]byte {
			switch i {
			case first:
				held = bytes.Clone(msg)
				return nil
			case first + 1:
				return [][]byte{msg, held}
			}
			return [][]byte{msg}
		}, 0},
		{"dropped", func(i int, msg []byte) [][]byte {
			if i == first {
				return nil
			}
			return [][]byte{msg}
		}, 0},
	}
	for b := 0; b < LengthPrefixSize+TagSize+frameHeaderSize+len("frame A"); b++ {
		tests = append(tests, tamperCase{fmt.Sprintf("bit flipped in byte %d", b), func(i int, msg []byte) [][]byte {
			if i == first {
				return [][]byte{flip(msg, b)}
			}
			return [][]byte{msg}
		}, 0})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sessiontest.CheckGoroutines(t, linkGoroutines...)
			ln := sessiontest.Listen(t)
			proxy := sessiontest.NewProxy(t, ln.Addr().String(), func(dir sessiontest.Direction, i int, msg []byte) [][]byte {
				if dir == sessiontest.ClientToServer {
					return tt.hook(i, msg)
				}
				return [][]byte{msg}
			})
			dcfg, acfg := pairConfigs(t)
			dcfg.KeepaliveInterval = time.Hour // no pings among the counted messages
			dcfg.DeadTimeout = 2 * time.Hour
			d, a := proxiedPair(t, ln, proxy, dcfg, acfg)
			if d.err != nil || a.err != nil {
				t.Fatalf("dial: %v; accept: %v", d.err, a.err)
			}
			if err := d.link.Send(appFrame, []byte("frame A")); err != nil {
				t.Fatal(err)
			}
			// Frame B completes a length prefix made longer; the link may
			// already be closed because of frame A.
			if err := d.link.Send(appFrame, bytes.Repeat([]byte("B"), 1000)); err != nil && !errors.Is(err, ErrClosed) {
				t.Fatal(err)
			}
			for i := range tt.delivered {
				if f := recvWithin(t, a.link); string(f.Body) != "frame A" {
					t.Fatalf("frame %d: %q", i, f.Body)
				}
			}
			if f, err := a.link.Recv(context.Background()); !errors.Is(err, ErrProtocol) {
				t.Fatalf("receiver: got frame %q, error %v; want ErrProtocol", f.Body, err)
			}
			var ce *CloseError
			if err := waitDone(t, d.link); !errors.As(err, &ce) || !ce.Remote || ce.Code != CloseProtocolError {
				t.Fatalf("sender's end: %v, want a protocol-error close from the peer", err)
			}
		})
	}
}

func TestLinkUncleanClose(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	ln := sessiontest.Listen(t)
	proxy := sessiontest.NewProxy(t, ln.Addr().String(), sessiontest.Forward)
	dcfg, acfg := pairConfigs(t)
	d, a := proxiedPair(t, ln, proxy, dcfg, acfg)
	if d.err != nil || a.err != nil {
		t.Fatalf("dial: %v; accept: %v", d.err, a.err)
	}
	proxy.Cut()
	for name, l := range map[string]*Link{"dialer": d.link, "acceptor": a.link} {
		if err := waitDone(t, l); !errors.Is(err, ErrUncleanClose) {
			t.Fatalf("%s: %v, want ErrUncleanClose", name, err)
		}
		if _, err := l.Recv(context.Background()); !errors.Is(err, ErrUncleanClose) {
			t.Fatalf("%s: Recv: %v, want ErrUncleanClose", name, err)
		}
	}
}
