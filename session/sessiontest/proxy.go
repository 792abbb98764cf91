package sessiontest

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// Direction is which way a message travels through a Proxy.
type Direction int

// Directions.
const (
	ClientToServer Direction = iota // from the side that dialled the proxy
	ServerToClient
)

func (d Direction) String() string {
	if d == ClientToServer {
		return "client→server"
	}
	return "server→client"
}

// Hook sees every message travelling one way, with its 2-byte length
// prefix, numbered from 0 per direction, and returns what to send in its
// place, written as is: nothing drops it, two copies replay it, a changed copy
// (prefix included) tampers with it. It must not keep msg after returning
// unless it copies it. It runs on the proxy's goroutines.
type Hook func(dir Direction, index int, msg []byte) [][]byte

// Forward is the Hook that changes nothing.
func Forward(_ Direction, _ int, msg []byte) [][]byte { return [][]byte{msg} }

// Proxy is a man in the middle on 127.0.0.1 for a stream of 2-byte
// big-endian length-prefixed messages, the framing of every lanchat link
// message. Each accepted connection is relayed to the target.
type Proxy struct {
	ln     net.Listener
	target string
	hook   Hook

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewProxy starts a proxy to target; it stops when the test ends.
func NewProxy(t testing.TB, target string, hook Hook) *Proxy {
	t.Helper()
	p := &Proxy{ln: Listen(t), target: target, hook: hook}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.Close)
	return p
}

// Addr is where to dial the proxy.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every relayed connection abruptly, as a cable pulled out would.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Close stops the proxy, cuts its connections and waits for its goroutines.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.relay(ClientToServer, client, server)
		go p.relay(ServerToClient, server, client)
	}
}

// relay copies messages from src to dst through the hook; at the end it
// closes dst's writing side so the far end sees what the near end did.
func (p *Proxy) relay(dir Direction, src, dst net.Conn) {
	defer p.wg.Done()
	defer closeWrite(dst)
	buf := make([]byte, 2+65535)
	for i := 0; ; i++ {
		if _, err := io.ReadFull(src, buf[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(buf))
		if _, err := io.ReadFull(src, buf[2:2+n]); err != nil {
			return
		}
		for _, m := range p.hook(dir, i, buf[:2+n]) {
			if _, err := dst.Write(m); err != nil {
				return
			}
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	c.Close()
}
