package session

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// scriptConn is a net.Conn in memory for replays and fuzzing: reads come
// from a fixed script and end with io.EOF, writes are recorded. Deadlines
// are accepted and ignored (the script never blocks).
type scriptConn struct {
	r *bytes.Reader

	mu      sync.Mutex
	written bytes.Buffer
	closed  bool
}

func newScriptConn(script []byte) *scriptConn { return &scriptConn{r: bytes.NewReader(script)} }

func (c *scriptConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}

func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.written.Write(p)
}

// Written returns a copy of everything written so far.
func (c *scriptConn) Written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.written.Bytes())
}

func (c *scriptConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

var scriptAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}

func (c *scriptConn) LocalAddr() net.Addr                { return scriptAddr }
func (c *scriptConn) RemoteAddr() net.Addr               { return scriptAddr }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }
