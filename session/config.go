package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Config is what Dial and Accept need. Start from DefaultConfig and set
// Identity, Trusted and Hello. A zero numeric field means "the default";
// Dial and Accept work on a copy and never modify the caller's Config.
type Config struct {
	// Identity is this node's secret key material. Required.
	Identity *lcrypto.Identity
	// Trusted is asked about the peer's identity key once the handshake has
	// proven it. nil trusts nobody. It may be called from many goroutines.
	Trusted func(lcrypto.IdentityKey) bool
	// Hello is sent to the peer as the first frame, only after both sides
	// have checked the other's identity against their trust list. At most
	// MaxHelloSize bytes; copied by Dial and Accept.
	Hello []byte

	// HandshakeTimeout bounds the whole handshake, hello frames included.
	HandshakeTimeout time.Duration
	// KeepaliveInterval: a link that has sent nothing for this long sends a
	// ping (the peer answers with a pong).
	KeepaliveInterval time.Duration
	// DeadTimeout: a link that has received nothing for this long (with a
	// slack of DeadTimeout/8) is closed with ErrDeadPeer. Must be more than
	// KeepaliveInterval.
	DeadTimeout time.Duration
	// RekeyAfterMessages and RekeyAfter: each side moves its sending
	// direction to a new key after this many Noise messages or this much
	// time, whichever comes first.
	RekeyAfterMessages uint64
	RekeyAfter         time.Duration
	// MaxFrameSize bounds one frame body, sent or received (frames larger
	// than MaxPlaintext are split into several Noise messages). Both sides
	// should use the same value. At most MaxFrameSizeLimit.
	MaxFrameSize int
	// SendQueueBytes bounds the frames waiting to be written, counting each
	// frame as its body plus QueueOverhead. Send fails with ErrQueueFull
	// rather than wait. At least MaxFrameSize + QueueOverhead.
	SendQueueBytes int
	// RecvQueueBytes bounds the frames received but not yet taken by Recv,
	// counted the same way. When it is full the link stops reading, and TCP
	// flow control slows the peer down. At least MaxFrameSize + QueueOverhead.
	RecvQueueBytes int
	// Rand is the randomness for ephemeral keys; nil means crypto/rand. Tests
	// pass fixed streams to reproduce the vectors in testdata/session.
	Rand io.Reader
}

// QueueOverhead is what every queued frame costs on top of its body, so that
// a flood of empty frames is bounded too.
const QueueOverhead = 64

// DefaultConfig returns a fresh Config with every default set.
func DefaultConfig() Config {
	return Config{
		// A LAN handshake takes milliseconds; 5 s leaves room for a loaded
		// machine and still frees a stalled slot quickly (go-libp2p: 15 s
		// over the internet).
		HandshakeTimeout: 5 * time.Second,
		// One small ping a second on an idle link: nothing on a LAN, and
		// what lets the peer tell "idle" from "gone".
		KeepaliveInterval: time.Second,
		// Four missed keepalives: a vanished peer is noticed within
		// 4.5 s (the goal is 5 s) without false alarms on a busy host.
		DeadTimeout: 4 * time.Second,
		// 2^20 messages or 2 minutes (WireGuard's REKEY_AFTER_TIME): a key
		// stolen from memory reads at most that much past traffic.
		RekeyAfterMessages: 1 << 20,
		RekeyAfter:         2 * time.Minute,
		// 1 MiB: a generous bound for one frame; an application that needs
		// another sets its own (lanchat's chat layer sets its frame bound).
		MaxFrameSize: 1 << 20,
		// 4 MiB each way: a few large frames or tens of thousands of chat
		// lines; a slow peer costs at most this much memory per link.
		SendQueueBytes: 4 << 20,
		RecvQueueBytes: 4 << 20,
	}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("session: invalid config")

// normalized returns a copy of c with defaults filled in and Hello copied,
// or an error naming the first bad field.
func (c Config) normalized() (Config, error) {
	d := DefaultConfig()
	if c.Identity == nil {
		return c, fmt.Errorf("%w: no Identity", ErrConfig)
	}
	if len(c.Hello) > MaxHelloSize {
		return c, fmt.Errorf("%w: Hello is %d bytes, at most %d", ErrConfig, len(c.Hello), MaxHelloSize)
	}
	c.Hello = append([]byte(nil), c.Hello...)
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"HandshakeTimeout", &c.HandshakeTimeout, d.HandshakeTimeout},
		{"KeepaliveInterval", &c.KeepaliveInterval, d.KeepaliveInterval},
		{"DeadTimeout", &c.DeadTimeout, d.DeadTimeout},
		{"RekeyAfter", &c.RekeyAfter, d.RekeyAfter},
	} {
		if *f.v < 0 {
			return c, fmt.Errorf("%w: %s is negative", ErrConfig, f.name)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.DeadTimeout <= c.KeepaliveInterval {
		return c, fmt.Errorf("%w: DeadTimeout %v must be more than KeepaliveInterval %v",
			ErrConfig, c.DeadTimeout, c.KeepaliveInterval)
	}
	if c.RekeyAfterMessages == 0 {
		c.RekeyAfterMessages = d.RekeyAfterMessages
	}
	return c.normalizedSizes(d)
}

func (c Config) normalizedSizes(d Config) (Config, error) {
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = d.MaxFrameSize
	}
	if c.MaxFrameSize < 0 || c.MaxFrameSize > MaxFrameSizeLimit {
		return c, fmt.Errorf("%w: MaxFrameSize %d is not in 1..%d", ErrConfig, c.MaxFrameSize, MaxFrameSizeLimit)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"SendQueueBytes", &c.SendQueueBytes, d.SendQueueBytes},
		{"RecvQueueBytes", &c.RecvQueueBytes, d.RecvQueueBytes},
	} {
		if *f.v == 0 {
			*f.v = max(f.def, c.MaxFrameSize+QueueOverhead)
		}
		if *f.v < c.MaxFrameSize+QueueOverhead {
			return c, fmt.Errorf("%w: %s %d is less than MaxFrameSize+QueueOverhead (%d)",
				ErrConfig, f.name, *f.v, c.MaxFrameSize+QueueOverhead)
		}
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c, nil
}
