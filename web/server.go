// Package web is lanchat's local web UI: embedded assets, a JSON API over
// HTTP and live events (Server-Sent Events), behind a one-time login token
// traded for a session cookie, with Host, Origin and CSRF checks and strict
// security headers. It is a thin client of control.API: it holds no chat or
// storage logic.
package web

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lanchat/lanchat/control"
)

// DefaultAddr is where the node serves the web UI unless told otherwise.
const DefaultAddr = "127.0.0.1:47180"

// KeyFileName is the web key's file name in the data directory.
const KeyFileName = "web.key"

// Config is the web UI's configuration. Get one from DefaultConfig.
type Config struct {
	// Addr is the listen address, host:port; port 0 picks a free one.
	Addr string
	// AllowRemote permits an address other than loopback. Without it,
	// Listen refuses one (ErrRemote).
	AllowRemote bool
	// KeyFile holds the key that signs sessions (created, mode 0600, if
	// missing), so that a session outlives a restart of the node.
	KeyFile string
	// LoginTTL is how long a login URL works (once).
	LoginTTL time.Duration
	// SessionTTL is how long a session cookie stays valid.
	SessionTTL time.Duration
	// MaxLogins bounds the login tokens outstanding; minting one more
	// forgets the oldest.
	MaxLogins int
	// MaxStreams bounds the live-event streams served at once.
	MaxStreams int
	// MaxRequestBody bounds a request body in bytes.
	MaxRequestBody int64
	// Logf receives diagnostics; nil: none.
	Logf func(format string, args ...any)
}

// DefaultConfig returns a fresh Config with every default set (KeyFile
// excepted: it depends on the data dir).
func DefaultConfig() Config {
	return Config{
		Addr:           DefaultAddr,
		LoginTTL:       10 * time.Minute,    // long enough to switch to the browser
		SessionTTL:     30 * 24 * time.Hour, // a month of not logging in again
		MaxLogins:      16,                  // a user runs `lanchat web` a few times
		MaxStreams:     32,                  // a few tabs, a few reconnects in flight
		MaxRequestBody: 256 << 10,           // a message of MaxBodyBytes JSON-escaped fits
	}
}

// ErrRemote: the address is not loopback and AllowRemote is not set.
var ErrRemote = errors.New("the web UI address is not a loopback address")

// Server serves the web UI for one node. Create it with Listen, run it
// with Serve.
type Server struct {
	api  control.API
	cfg  Config
	ln   net.Listener
	keys keys
	port string
	logf func(string, ...any)

	hosts   map[string]bool // Host header values that name this server
	streams chan struct{}   // one token per live-event stream served
	now     func() time.Time

	mu     sync.Mutex
	logins logins
}

// Listen binds the web UI's address and loads (or creates) its key, so
// that everything that can fail fails before the node starts. Nothing is
// served until Serve; Close releases a Server that is never served.
func Listen(cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	addr, ip, err := CheckAddr(cfg.Addr, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	cfg.Addr = addr
	if cfg.KeyFile == "" {
		return nil, errors.New("web UI: no key file")
	}
	key, err := loadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, keys: keys{key: key}, logf: cfg.Logf,
		streams: make(chan struct{}, cfg.MaxStreams), now: time.Now,
		logins: logins{max: cfg.MaxLogins}}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	s.port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s.hosts = allowedHosts(ip, s.port)
	return s, nil
}

// CheckAddr checks a listen address for the web UI and returns it with
// localhost as 127.0.0.1: host:port with an IP address (or localhost) and
// a port number; a host that is not loopback is ErrRemote unless
// allowRemote.
func CheckAddr(addr string, allowRemote bool) (string, netip.Addr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("web UI address %q: not HOST:PORT", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", netip.Addr{}, fmt.Errorf("web UI address %q: %q is not a port number", addr, port)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("web UI address %q: the host must be an IP address or localhost", addr)
	}
	if !ip.IsLoopback() && !allowRemote {
		return "", netip.Addr{}, fmt.Errorf("%w: %s", ErrRemote, addr)
	}
	return net.JoinHostPort(ip.String(), port), ip, nil
}

func withDefaults(cfg Config) Config {
	def := DefaultConfig()
	if cfg.Addr == "" {
		cfg.Addr = def.Addr
	}
	if cfg.LoginTTL <= 0 {
		cfg.LoginTTL = def.LoginTTL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = def.SessionTTL
	}
	if cfg.MaxLogins <= 0 {
		cfg.MaxLogins = def.MaxLogins
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = def.MaxStreams
	}
	if cfg.MaxRequestBody <= 0 {
		cfg.MaxRequestBody = def.MaxRequestBody
	}
	return cfg
}

// allowedHosts are the Host headers a browser sends for this server: the
// loopback names with its port, and the listen address itself. A name
// that resolves here by other means (DNS rebinding) is not among them.
func allowedHosts(ip netip.Addr, port string) map[string]bool {
	h := map[string]bool{}
	for _, name := range []string{"127.0.0.1", "localhost", "[::1]"} {
		h[name+":"+port] = true
	}
	if !ip.IsUnspecified() {
		h[net.JoinHostPort(ip.String(), port)] = true
	}
	return h
}

// hostAllowed reports whether a request's Host header names this server.
// With AllowRemote on an unspecified address, any IP literal with the
// port is accepted (rebinding needs a DNS name).
func (s *Server) hostAllowed(host string) bool {
	if s.hosts[host] {
		return true
	}
	if !s.cfg.AllowRemote {
		return false
	}
	h, port, err := net.SplitHostPort(host)
	if err != nil || port != s.port {
		return false
	}
	_, err = netip.ParseAddr(h)
	return err == nil
}

// Addr is the address the UI listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the UI's address, http://127.0.0.1:PORT/ (or the listen address).
func (s *Server) URL() string {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, s.port) + "/"
}

// LoginURL mints a one-time login token and returns the URL that trades
// it for a session; it works once, for Config.LoginTTL.
func (s *Server) LoginURL(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.logins.mintLocked(s.now().Add(s.cfg.LoginTTL))
	if err != nil {
		return "", err
	}
	return s.URL() + "login?token=" + tok, nil
}

// Close closes the listener of a Server that was never served.
func (s *Server) Close() error { return s.ln.Close() }

// Serve serves the UI of api until ctx ends, then stops every live stream
// and returns once every handler has returned. Call it once.
func (s *Server) Serve(ctx context.Context, api control.API) error {
	s.api = api
	base, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		// net/http's own complaints (a malformed request, say) go to the
		// node's diagnostics, never straight to a terminal UI's screen
		ErrorLog: log.New(logfWriter(s.logf), "web UI: ", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("web UI: %w", err)
	case <-ctx.Done():
	}
	cancel() // ends the live streams, so that Shutdown finds idle connections
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	<-served
	return err
}

// logfWriter writes each line it is given to logf.
type logfWriter func(string, ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
