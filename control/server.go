package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ServerConfig bounds what the control socket's clients may cost.
type ServerConfig struct {
	// MaxClients bounds the connections served at once; one more is told
	// "busy" and closed.
	MaxClients int
	// MaxLine bounds a request line in bytes; a longer one is answered
	// "too_large" and the connection closed.
	MaxLine int
	// EventQueue bounds the lines waiting to be written to one client; a
	// subscriber that falls this far behind is dropped.
	EventQueue int
	// WriteTimeout is how long one line may take to write; a client that
	// does not read for that long is dropped.
	WriteTimeout time.Duration
	// Logf receives diagnostics; nil: the node's.
	Logf func(format string, args ...any)
}

// DefaultServerConfig returns a fresh ServerConfig with every default set.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		MaxClients:   16,              // a user runs a handful of commands at once
		MaxLine:      64 << 10,        // a send of MaxBodyBytes, JSON-escaped at 6 bytes a byte, fits
		EventQueue:   1024,            // a burst of catch-up messages
		WriteTimeout: 5 * time.Second, // a live reader takes microseconds
	}
}

// Server serves a node's control socket. Create it with
// Listen, run it with Serve.
type Server struct {
	api  API
	cfg  ServerConfig
	path string
	ln   *net.UnixListener
	logf func(string, ...any)

	closeOnce sync.Once
	wg        sync.WaitGroup // every goroutine of every client

	mu    sync.Mutex
	conns map[*clientConn]struct{}
}

// Listen creates the control socket at path (mode 0600) for node.
// It refuses a directory that other users can write to, and a path where a
// live node already answers (ErrInUse); a socket left by a crashed
// node is replaced. Nothing is served until Serve.
func Listen(api API, path string, cfg ServerConfig) (*Server, error) {
	cfg = withServerDefaults(cfg)
	ln, err := listenUnix(path)
	if err != nil {
		return nil, err
	}
	s := &Server{api: api, cfg: cfg, path: path, ln: ln, logf: cfg.Logf,
		conns: map[*clientConn]struct{}{}}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	return s, nil
}

func withServerDefaults(cfg ServerConfig) ServerConfig {
	def := DefaultServerConfig()
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = def.MaxClients
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = def.MaxLine
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = def.EventQueue
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	return cfg
}

// Serve accepts clients until ctx ends, then closes the socket (removing
// its file), drops every client and returns once all their goroutines have
// stopped.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	defer s.wg.Wait()
	defer s.Close()
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket %s: %w", s.path, err)
		}
		s.admit(ctx, conn)
	}
}

// Close stops accepting, removes the socket file and drops every client. It
// does not wait for their goroutines (Serve does).
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			c.close()
		}
		s.conns = nil // no more admissions
	})
	return err
}

// admit starts serving conn, or tells it the server is busy.
func (s *Server) admit(ctx context.Context, conn *net.UnixConn) {
	if err := checkPeer(conn); err != nil {
		s.logf("control socket: refusing a client: %v", err)
		conn.Close()
		return
	}
	c := newClientConn(s, conn)
	s.mu.Lock()
	full := s.conns != nil && len(s.conns) >= s.cfg.MaxClients
	closed := s.conns == nil
	if !full && !closed {
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
	switch {
	case closed:
		conn.Close()
	case full:
		s.wg.Add(1)
		go func() { // bounded: a write deadline, then close
			defer s.wg.Done()
			c.refuse(&Error{Code: CodeBusy, Message: fmt.Sprintf("the node serves at most %d control clients at once", s.cfg.MaxClients)})
		}()
	default:
		s.wg.Add(2)
		go c.writeLoop()
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			c.serve(ctx)
		}()
	}
}

func (s *Server) forget(c *clientConn) {
	c.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}
