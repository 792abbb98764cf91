package chat

import (
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// DefaultPort is the TCP port a node listens on for links.
const DefaultPort = 47101

// Config is what a Node needs. Build it from DefaultConfig and set the
// identity and the store.
type Config struct {
	Identity *lcrypto.Identity
	Store    *storage.DB
	Nickname string
	// Rooms joined at start (normalized); none: the rooms the store
	// remembers from the last join or leave, else DefaultRoom.
	Rooms []string
	// ListenAddr is the TCP address for links, e.g. ":47101" or "127.0.0.1:0".
	ListenAddr string
	// Discovery configures beacons; its Identity and TCPPort are filled in.
	Discovery discovery.Config
	// NoDiscovery turns beacons off: only StaticPeers are dialled.
	NoDiscovery bool
	// StaticPeers are host:port addresses dialled whether or not they beacon
	// (for networks where broadcast does not pass).
	StaticPeers []string
	// Session configures links; its Identity, Trusted and Hello are filled
	// in, and its MaxFrameSize when zero (the chat frame bound).
	Session session.Config
	// Guard bounds what accepting links may cost before the peer is known.
	Guard session.GuardConfig
	// RedialInterval is how often the node looks for trusted peers to link.
	RedialInterval time.Duration
	// DialGrace is how long the peer with the larger key waits for the other
	// to dial before dialling itself (one link per pair: the smaller key dials).
	DialGrace time.Duration
	// EventBuffer bounds each subscriber's queue; a slower subscriber loses
	// events (counted) rather than stalling the node.
	EventBuffer int
	// NoticeInterval is how often knocks of untrusted peers beyond the
	// first few are summed up in one event (see EventUntrustedMany).
	NoticeInterval time.Duration
	// ReceiptDelay is how long the node gathers receipts (stored and read
	// frames) before it sends them: at most one of each per link this
	// often, however busy the room.
	ReceiptDelay time.Duration
	// NoReadReceipts: send no read frames (others' are still shown).
	NoReadReceipts bool
	// FilesDir turns file transfer on ("" turns it off). The records of
	// what this node offered and fetches (to go on after a restart) are kept
	// sealed in Store; FilesDir is where an older lanchat kept them as files,
	// moved into Store when the node first needs them.
	FilesDir string
	// AutoFetch, when its Dir is set, fetches file offers without asking:
	// those of trusted authors (or only of From), up to MaxBytes.
	AutoFetch AutoFetch
	// Relay chooses how room messages are relayed: flooded in small
	// rooms, along a bounded tree in large ones (topology.go).
	Relay RelayConfig
	// noRelayCaps (tests): send no relay-caps frame, as a node before
	// PROTOCOL.md 5.14 does.
	noRelayCaps bool
	// silentRelayer (tests): a hostile member that takes every message
	// but relays none and answers no sync request (review2).
	silentRelayer bool
	// beforeConvoApply (tests): called on a private room's new, stored
	// message before its delivery line applies it (deliveredConvo), so a
	// test can hold one line there while another delivers.
	beforeConvoApply func(m *Message)
	// legacyRooms (tests): behave as a node before rooms-more (5.15): send
	// none, skip the peer's as an unknown frame, and refuse a peer in more
	// than helloRooms rooms.
	legacyRooms bool
	// Logf receives diagnostics; nil discards them.
	Logf func(format string, args ...any)
}

// DefaultConfig returns a fresh Config with every default set.
func DefaultConfig() Config {
	return Config{
		ListenAddr:     ":47101", // a fixed port, so --peer host:47101 works
		Discovery:      discovery.DefaultConfig(),
		Session:        defaultSessionConfig(),
		Guard:          session.DefaultGuardConfig(),
		RedialInterval: 500 * time.Millisecond, // cheap: a table scan; dials are rate-limited
		DialGrace:      2 * time.Second,        // > one beacon interval
		EventBuffer:    4096,
		NoticeInterval: 10 * time.Second, // a flood costs one line per 10 s

		ReceiptDelay: 200 * time.Millisecond, // receipts: ≤ 5 frames/s per link, fast enough to watch
		Relay:        DefaultRelayConfig(),
	}
}

// defaultSessionConfig is the session's defaults with the chat frame bound.
func defaultSessionConfig() session.Config {
	c := session.DefaultConfig()
	c.MaxFrameSize = maxFrameSize
	return c
}

// AutoFetch is a policy for fetching file offers without a fetch request.
// Without it (Dir empty) nothing of an offer is written to disk until the
// user fetches it.
type AutoFetch struct {
	Dir      string                // where to fetch to; "" turns it off
	MaxBytes uint64                // the largest offer fetched this way (0: none)
	From     []lcrypto.Fingerprint // only these authors; none: every trusted author
}
