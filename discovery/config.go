package discovery

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/lanchat/lanchat/crypto"
)

// Protocol constants.
const (
	// DefaultPort is the UDP port beacons are sent to and received on.
	DefaultPort = 44721
	// IPv6Group is the link-local multicast group used on interfaces that
	// have no IPv4 address (a transient group, ff12::/16 scope 2).
	IPv6Group = "ff12::6c63:6174" // "lcat"
	// ExpiryIntervals is how many of a peer's advertised intervals may pass
	// without a beacon before the peer expires: two lost beacons are fine.
	ExpiryIntervals = 3
)

// Tuning constants: not part of the wire protocol.
const (
	// DefaultInterval is the steady beacon interval.
	DefaultInterval = time.Second
	// burstCount beacons are sent burstSpacing apart at start, so peers see
	// a new node at once even if one datagram is lost.
	burstCount   = 3
	burstSpacing = 250 * time.Millisecond
	// earlyGap is the least time between two early (re-)announcements.
	earlyGap = 500 * time.Millisecond
	// byeCount byes are sent byeSpacing apart on a clean shutdown.
	byeCount   = 3
	byeSpacing = 20 * time.Millisecond
	// DefaultMaxPeers bounds the peer table.
	DefaultMaxPeers = 256
	// maxPeersPerSource bounds the identities one source IP may hold in the
	// table (many nodes share 127.0.0.1 on one host).
	maxPeersPerSource = 32
	// DefaultEventBuffer is the capacity of the Events channel.
	DefaultEventBuffer = 128
)

// Config configures a Service. The zero value is not usable: start from
// DefaultConfig and set Identity.
type Config struct {
	// Identity signs the beacons. Required.
	Identity *crypto.Identity
	// TCPPort is the advertised link port; 0 says "takes no links"
	// (e.g. `lanchat peers`, which only looks around).
	TCPPort uint16
	// Port is the UDP beacon port; every node of a LAN must use the same.
	Port int
	// Iface pins discovery to one interface by name; "" means every up
	// interface with a broadcast address (or IPv6 multicast).
	Iface string
	// Addr pins the broadcast destination, e.g. "127.255.255.255"; it wins
	// over Iface, and beacons go ONLY there.
	Addr string
	// Interval is the steady beacon interval; peers expire after
	// ExpiryIntervals of their own advertised interval.
	Interval time.Duration
	// Nickname is sent only if AnnounceNickname is set.
	Nickname string
	// AnnounceNickname opts in to putting Nickname in beacons, where anyone
	// on the LAN can read it. Off by default.
	AnnounceNickname bool
	// NoMDNS turns DNS-SD over multicast DNS off (advertising and browsing
	// _lanchat._tcp on 224.0.0.251:5353). It is also off, whatever this
	// says, when discovery is pinned to loopback (Addr 127.x or ::1, or
	// Iface a loopback interface): such a node opens no mDNS socket.
	NoMDNS bool
	// MaxPeers bounds the peer table; new identities are refused when full.
	MaxPeers int
	// EventBuffer is the capacity of Events; a full channel drops events.
	EventBuffer int
	// Rand is the source of the random instance id of each run.
	Rand io.Reader
	// Logf, if set, receives diagnostics.
	Logf func(format string, args ...any)
}

// DefaultConfig returns a fresh Config with every default set.
func DefaultConfig() Config {
	return Config{
		Port:        DefaultPort,        // one well-known port per LAN
		Interval:    DefaultInterval,    // visible within a second, ~120 B/s per node
		MaxPeers:    DefaultMaxPeers,    // far above any LAN chat, small in memory
		EventBuffer: DefaultEventBuffer, // absorbs a burst of appearances
		Rand:        rand.Reader,        // instance ids must be unpredictable
	}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("discovery config")

// checked returns a copy of c with the defaults filled in, or an error.
func (c Config) checked() (Config, error) {
	d := DefaultConfig()
	if c.Port == 0 {
		c.Port = d.Port
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.MaxPeers == 0 {
		c.MaxPeers = d.MaxPeers
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = d.EventBuffer
	}
	if c.Rand == nil {
		c.Rand = d.Rand
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.Identity == nil:
		return fmt.Errorf("%w: no identity", ErrConfig)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("%w: beacon port %d outside 1..65535", ErrConfig, c.Port)
	case c.Interval < MinBeaconInterval || c.Interval > MaxBeaconInterval:
		return fmt.Errorf("%w: interval %v outside [%v, %v]", ErrConfig, c.Interval, MinBeaconInterval, MaxBeaconInterval)
	case c.MaxPeers < 1 || c.EventBuffer < 1:
		return fmt.Errorf("%w: MaxPeers and EventBuffer must be positive", ErrConfig)
	case c.AnnounceNickname && c.Nickname == "":
		return fmt.Errorf("%w: AnnounceNickname without a nickname", ErrConfig)
	}
	if c.Addr != "" {
		if _, err := netip.ParseAddr(c.Addr); err != nil {
			return fmt.Errorf("%w: discovery address: %w", ErrConfig, err)
		}
	}
	if c.AnnounceNickname {
		if err := CheckNickname(c.Nickname); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return nil
}
