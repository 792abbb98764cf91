package session

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

// Wire sizes of the handshake, length prefixes included.
const (
	wireMsg1 = LengthPrefixSize + msg1Size
	wireMsg2 = LengthPrefixSize + msg2Size
	wireMsg3 = LengthPrefixSize + msg3Size
)

func TestHandshakeTrust(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	alice, bob := sessiontest.Identity(t, 1), sessiontest.Identity(t, 2)
	tests := []struct {
		name           string
		dialerTrusts   bool // alice dials and trusts bob
		acceptorTrusts bool // bob accepts and trusts alice
		nilTrusted     bool // bob's Trusted is nil
		// Bytes bob reads: nothing past what the outcome allows.
		acceptorReads int64
	}{
		{name: "both trust", dialerTrusts: true, acceptorTrusts: true},
		// alice must abort before message 3: bob never learns who dialled.
		{name: "dialer does not trust", acceptorTrusts: true, acceptorReads: wireMsg1},
		// bob refuses alice after message 3; she never sends her hello.
		{name: "acceptor does not trust", dialerTrusts: true, acceptorReads: wireMsg1 + wireMsg3},
		{name: "nil Trusted trusts nobody", dialerTrusts: true, nilTrusted: true, acceptorReads: wireMsg1 + wireMsg3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dcfg, acfg := testConfig(alice), testConfig(bob)
			if tt.dialerTrusts {
				dcfg = testConfig(alice, bob.Public())
			}
			if tt.acceptorTrusts {
				acfg = testConfig(bob, alice.Public())
			}
			if tt.nilTrusted {
				acfg.Trusted = nil
			}
			client, server := sessiontest.Pair(t)
			counted := &sessiontest.CountingConn{Conn: server}
			d, a := handshakeOver(t, client, counted, dcfg, acfg)

			switch {
			case tt.dialerTrusts && tt.acceptorTrusts:
				if d.err != nil || a.err != nil {
					t.Fatalf("dial: %v; accept: %v", d.err, a.err)
				}
				return
			case !tt.dialerTrusts:
				wantUntrusted(t, "dial", d.err, bob.Public())
				if a.err == nil {
					t.Fatal("accept succeeded with a dialer that gave up")
				}
			default:
				wantUntrusted(t, "accept", a.err, alice.Public())
				var ce *CloseError
				if !errors.Is(d.err, ErrRefused) || !errors.As(d.err, &ce) || ce.Code != CloseRefused {
					t.Fatalf("dial: %v, want ErrRefused with a CloseRefused close", d.err)
				}
			}
			if d.link != nil || a.link != nil {
				t.Fatal("a link came up")
			}
			if got := counted.BytesRead(); got != tt.acceptorReads {
				t.Fatalf("acceptor read %d bytes, want exactly %d", got, tt.acceptorReads)
			}
		})
	}
}

func wantUntrusted(t *testing.T, who string, err error, key lcrypto.IdentityKey) {
	t.Helper()
	var ut *UntrustedPeerError
	if !errors.As(err, &ut) || ut.Key != key {
		t.Fatalf("%s: %v, want UntrustedPeerError for %s", who, err, key)
	}
	if want := "untrusted peer " + key.Fingerprint().String(); ut.Error() != want {
		t.Fatalf("%s: message %q, want %q", who, ut.Error(), want)
	}
}

func TestHandshakeSelfLink(t *testing.T) {
	alice := sessiontest.Identity(t, 1)
	cfg := testConfig(alice, alice.Public())
	client, server := sessiontest.Pair(t)
	d, a := handshakeOver(t, client, server, cfg, cfg)
	if !errors.Is(d.err, ErrSelfLink) || a.err == nil {
		t.Fatalf("dial: %v (want ErrSelfLink); accept: %v (want an error)", d.err, a.err)
	}
}

// lowOrderPoints are X25519 public keys whose shared secret is all zeros
// (RFC 7748 section 6.1), some with the ignored top bit set.
var lowOrderPoints = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
}

func TestHandshakeLowOrderEphemeralRefused(t *testing.T) {
	bob := sessiontest.Identity(t, 2)
	for _, p := range lowOrderPoints {
		t.Run(p[:8], func(t *testing.T) {
			point, _ := hex.DecodeString(p)
			client, server := sessiontest.Pair(t)
			_, err := client.Write(append([]byte{0, msg1Size}, point...))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Accept(context.Background(), server, testConfig(bob, sessiontest.Identity(t, 1).Public()))
			if !errors.Is(err, errLowOrder) {
				t.Fatalf("accept: %v, want a low-order point error", err)
			}
		})
	}
}

// TestHandshakeBadIdentityFromInitiator plays initiators whose message 3
// must not pass, against a responder that trusts the identity they claim.
func TestHandshakeBadIdentityFromInitiator(t *testing.T) {
	alice, bob := sessiontest.Identity(t, 1), sessiontest.Identity(t, 2)
	_, aliceStatic := alice.NoiseStatic()
	tests := []struct {
		name  string
		opts  func(o *rawOpts)
		wantE error
	}{
		// A relay that copies alice's payload cannot use her static key.
		{"signature over another static key", func(o *rawOpts) {
			o.static = randomStatic()
			o.payload = honestPayload(alice, aliceStatic[:])
		}, ErrBadSignature},
		{"signature with the beacon domain", func(o *rawOpts) {
			sig := alice.Sign(lcrypto.DomainBeacon, aliceStatic[:])
			p := encodePayload(alice.Public(), sig)
			o.payload = p[:]
		}, ErrBadSignature},
		{"alice's key, mallory's signature", func(o *rawOpts) {
			mallory := sessiontest.Identity(t, 9)
			o.static = randomStatic()
			p := encodePayload(alice.Public(), mallory.Sign(lcrypto.DomainNoiseStatic, o.static.Public))
			o.payload = p[:]
		}, ErrBadSignature},
		{"zero identity key", func(o *rawOpts) { o.payload = make([]byte, PayloadSize) }, ErrBadSignature},
		{"31-byte identity key", func(o *rawOpts) { o.payload = o.payload[1:] }, ErrHandshake},
		{"33-byte identity key", func(o *rawOpts) { o.payload = append([]byte{0}, o.payload...) }, ErrHandshake},
		{"empty payload", func(o *rawOpts) { o.payload = nil }, ErrHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultRawOpts(alice)
			tt.opts(&o)
			client, server := sessiontest.Pair(t)
			raw := make(chan error, 1)
			go func() { raw <- runRawInitiator(client, o) }()
			l, err := Accept(context.Background(), server, testConfig(bob, alice.Public()))
			if l != nil || !errors.Is(err, tt.wantE) {
				t.Fatalf("accept: %v, want %v", err, tt.wantE)
			}
			if err := <-raw; err != nil {
				t.Fatalf("raw initiator: %v", err)
			}
		})
	}
}

// TestHandshakeBadIdentityFromResponder plays responders whose message 2
// must not pass; the initiator must never send message 3.
func TestHandshakeBadIdentityFromResponder(t *testing.T) {
	alice, bob := sessiontest.Identity(t, 1), sessiontest.Identity(t, 2)
	_, bobStatic := bob.NoiseStatic()
	tests := []struct {
		name  string
		opts  func(o *rawOpts)
		wantE error
	}{
		{"signature over another static key", func(o *rawOpts) {
			o.static = randomStatic()
			o.payload = honestPayload(bob, bobStatic[:])
		}, ErrBadSignature},
		{"wrong prologue (version skew)", func(o *rawOpts) { o.prologue = "lanchat/2" }, ErrHandshake},
		{"payload one byte short", func(o *rawOpts) { o.payload = o.payload[1:] }, ErrHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultRawOpts(bob)
			tt.opts(&o)
			client, server := sessiontest.Pair(t)
			type rawResult struct {
				gotMsg3 bool
				err     error
			}
			raw := make(chan rawResult, 1)
			go func() {
				got, err := runRawResponder(server, o)
				raw <- rawResult{got, err}
			}()
			l, err := Dial(context.Background(), client, testConfig(alice, bob.Public()))
			if l != nil || !errors.Is(err, tt.wantE) {
				t.Fatalf("dial: %v, want %v", err, tt.wantE)
			}
			r := <-raw
			if r.err != nil || r.gotMsg3 {
				t.Fatalf("raw responder: error %v, got message 3: %v", r.err, r.gotMsg3)
			}
		})
	}
}

func TestHandshakeDeadline(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	bob := sessiontest.Identity(t, 2)
	// A peer that sends nothing, and one that sends a correct length prefix,
	// then one byte of the message every 20 ms.
	silent := func(_ net.Conn, _ int, stop <-chan struct{}) { <-stop }
	trickle := func(c net.Conn, size int, stop <-chan struct{}) {
		if _, err := c.Write([]byte{byte(size >> 8), byte(size)}); err != nil {
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if _, err := c.Write([]byte{0}); err != nil {
					return
				}
			case <-stop:
				return
			}
		}
	}
	tests := []struct {
		name string
		peer func(c net.Conn, size int, stop <-chan struct{})
	}{
		{"silent peer", silent},
		{"one byte at a time", trickle},
	}
	for _, tt := range tests {
		for _, initiator := range []bool{false, true} {
			role, size := "responder", msg1Size
			if initiator {
				role, size = "initiator", msg2Size
			}
			t.Run(tt.name+" vs "+role, func(t *testing.T) {
				client, server := sessiontest.Pair(t)
				cfg := testConfig(bob, sessiontest.Identity(t, 1).Public())
				cfg.HandshakeTimeout = 150 * time.Millisecond
				us, them := server, client
				if initiator {
					us, them = client, server
				}
				stop, peerDone := make(chan struct{}), make(chan struct{})
				go func() { defer close(peerDone); tt.peer(them, size, stop) }()
				var err error
				if initiator {
					_, err = Dial(context.Background(), us, cfg)
				} else {
					_, err = Accept(context.Background(), us, cfg)
				}
				close(stop)
				<-peerDone
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("%s: %v, want the handshake deadline", role, err)
				}
			})
		}
	}
}

func TestHandshakeContextCancelled(t *testing.T) {
	bob := sessiontest.Identity(t, 2)
	client, server := sessiontest.Pair(t)
	counted := &sessiontest.CountingConn{Conn: server}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := Accept(ctx, counted, testConfig(bob))
		result <- err
	}()
	// Half of message 1: the responder reads it and waits for the rest.
	if _, err := client.Write([]byte{0, msg1Size, 1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	sessiontest.Eventually(t, waitLimit, "responder reading message 1", func() bool { return counted.BytesRead() == 6 })
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("accept: %v, want context.Canceled", err)
	}
}

func TestHandshakeConfigErrors(t *testing.T) {
	bob := sessiontest.Identity(t, 2)
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"no identity", func(c *Config) { c.Identity = nil }},
		{"hello too large", func(c *Config) { c.Hello = make([]byte, MaxHelloSize+1) }},
		{"negative timeout", func(c *Config) { c.HandshakeTimeout = -1 }},
		{"dead before keepalive", func(c *Config) { c.DeadTimeout = c.KeepaliveInterval }},
		{"frame size above the cap", func(c *Config) { c.MaxFrameSize = MaxFrameSizeLimit + 1 }},
		{"queue smaller than a frame", func(c *Config) { c.SendQueueBytes = c.MaxFrameSize }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(bob)
			tt.mutate(&cfg)
			client, server := sessiontest.Pair(t)
			_, err := Accept(context.Background(), server, cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("accept: %v, want ErrConfig", err)
			}
			// The conn was closed: the peer sees EOF.
			if _, err := client.Read(make([]byte, 1)); err == nil {
				t.Fatal("conn still open after a config error")
			}
		})
	}
}

// TestHandshakeReplayedTranscript replays a recorded initiator (the golden
// vector's messages 1 and 3) to a responder with a fresh ephemeral key: the
// recording cannot answer the new message 2, so message 3 fails.
func TestHandshakeReplayedTranscript(t *testing.T) {
	v := loadVectors(t)
	_, resp, iniID, respID := vectorParties(t)
	cfg := vectorConfig(t, resp, respID, iniID)
	cfg.Rand = nil // a fresh ephemeral, as in real life
	recorded := v.wireOf(t, "initiator", 3)
	client, server := sessiontest.Pair(t)
	go func() { _, _ = client.Write(recorded) }()
	l, err := Accept(context.Background(), server, cfg)
	if l != nil || !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "message 3") {
		t.Fatalf("accept of a replayed transcript: %v, want a failure at message 3", err)
	}
}
