// Package sessiontest has helpers for tests of links: loopback TCP
// connections, deterministic identities, a man-in-the-middle proxy that sees
// the length-prefixed messages of a link, and a goroutine leak check.
//
// It does not import package session, so session's own tests can use it.
// Everything listens on 127.0.0.1 only.
package sessiontest

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Identity returns a deterministic identity: its secret is 64 bytes of seed.
func Identity(t testing.TB, seed byte) *lcrypto.Identity {
	t.Helper()
	id, err := lcrypto.IdentityFromSecret(bytes.Repeat([]byte{seed}, lcrypto.SecretSize))
	if err != nil {
		t.Fatalf("identity %d: %v", seed, err)
	}
	return id
}

// Listen returns a TCP listener on a free port of 127.0.0.1, closed when the
// test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Pair returns the two ends of a fresh TCP connection on 127.0.0.1. The test
// owns both; they are closed when it ends (closing twice is harmless).
func Pair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln := Listen(t)
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	r := <-accepted
	if r.err != nil {
		client.Close()
		t.Fatalf("accept: %v", r.err)
	}
	ln.Close()
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// CountingConn counts the bytes read from and written to a net.Conn.
type CountingConn struct {
	net.Conn
	read, written atomic.Int64
}

// Read counts what it reads.
func (c *CountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Write counts what it writes.
func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// BytesRead is how many bytes Read returned so far.
func (c *CountingConn) BytesRead() int64 { return c.read.Load() }

// BytesWritten is how many bytes Write wrote so far.
func (c *CountingConn) BytesWritten() int64 { return c.written.Load() }

// Eventually polls cond every few milliseconds until it is true, and fails
// the test if it is still false after timeout. It never asserts on timing:
// timeout is only how long to wait before giving up.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for: %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// CheckGoroutines registers a cleanup that fails the test if, after the test
// and its other cleanups, goroutines whose stacks mention any of the given
// function names are still running (after waiting up to 5 s for them to
// stop). Register it first so that it runs last.
func CheckGoroutines(t testing.TB, funcs ...string) {
	t.Helper()
	t.Cleanup(func() {
		var leaked []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			leaked = goroutinesWith(funcs)
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		for _, g := range leaked {
			t.Errorf("leaked goroutine:\n%s", g)
		}
	})
}

func goroutinesWith(funcs []string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range funcs {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
