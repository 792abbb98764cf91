package session

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
	"golang.org/x/crypto/chacha20poly1305"
)

// reportCPU adds the process's CPU time per operation and what that makes
// per core. Both ends of every link run in this process, so for a link it
// is the cost of both ends; ends > 1 also reports the rate one end sustains
// (the two ends do about the same work: 4 X25519 and 1 Ed25519 verification
// each, and a few small writes).
func reportCPU(b *testing.B, start time.Duration, unit string, ends int) {
	end, ok := cpuTime()
	if !ok || b.N == 0 {
		return
	}
	per := float64(end-start) / float64(b.N)
	b.ReportMetric(per/1e3, "cpu-µs/"+unit)
	b.ReportMetric(1e9/per, unit+"s/s/core")
	if ends > 1 {
		b.ReportMetric(float64(ends)*1e9/per, unit+"-ends/s/core")
	}
}

// BenchmarkHandshake is a full link setup over loopback TCP: connect, Noise
// XX with identity signatures and trust checks, hellos both ways, then a
// clean close. Both ends run here: cpu-µs/link counts both.
func BenchmarkHandshake(b *testing.B) {
	dcfg, acfg := pairConfigs(b)
	ln := sessiontest.Listen(b)
	accepted := make(chan error, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			l, err := Accept(context.Background(), conn, acfg)
			if err == nil {
				<-l.Done() // the dialer closes
			}
			accepted <- err
		}
	}()
	start, _ := cpuTime()
	b.ResetTimer()
	for range b.N {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		l, err := Dial(context.Background(), conn, dcfg)
		if err != nil {
			b.Fatal(err)
		}
		l.Close("bench")
		if err := <-accepted; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, start, "link", 2)
}

// BenchmarkHandshakeBareNoise is the baseline: Noise XX between two
// HandshakeStates in memory with flynn/noise's default DH, empty payloads,
// no signatures, no network.
func BenchmarkHandshakeBareNoise(b *testing.B) {
	benchBareNoise(b, func(*ecdh.PrivateKey) noise.DHFunc { return noise.DH25519 })
}

// BenchmarkHandshakeBareNoiseECDH is the same with session's DH function,
// which knows the static key as it does in a link.
func BenchmarkHandshakeBareNoiseECDH(b *testing.B) {
	benchBareNoise(b, func(static *ecdh.PrivateKey) noise.DHFunc { return newECDHFunc(static) })
}

func benchBareNoise(b *testing.B, dh func(static *ecdh.PrivateKey) noise.DHFunc) {
	statics := make(map[bool]noise.DHKey)
	parsed := make(map[bool]*ecdh.PrivateKey)
	for _, initiator := range []bool{true, false} {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		parsed[initiator] = k
		statics[initiator] = noise.DHKey{Private: k.Bytes(), Public: k.PublicKey().Bytes()}
	}
	start, _ := cpuTime()
	b.ResetTimer()
	for range b.N {
		mk := func(initiator bool) *noise.HandshakeState {
			hs, err := noise.NewHandshakeState(noise.Config{
				CipherSuite:   noise.NewCipherSuite(dh(parsed[initiator]), noise.CipherChaChaPoly, noise.HashSHA256),
				Pattern:       noise.HandshakeXX,
				Initiator:     initiator,
				Prologue:      []byte(Prologue),
				StaticKeypair: statics[initiator],
			})
			if err != nil {
				b.Fatal(err)
			}
			return hs
		}
		ini, resp := mk(true), mk(false)
		m1, _, _, _ := ini.WriteMessage(nil, nil)
		if _, _, _, err := resp.ReadMessage(nil, m1); err != nil {
			b.Fatal(err)
		}
		m2, _, _, _ := resp.WriteMessage(nil, nil)
		if _, _, _, err := ini.ReadMessage(nil, m2); err != nil {
			b.Fatal(err)
		}
		m3, _, _, _ := ini.WriteMessage(nil, nil)
		if _, _, _, err := resp.ReadMessage(nil, m3); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, start, "handshake", 2)
}

// BenchmarkHandshakeCryptoBound is the crypto bound of a link setup: in
// memory, exactly the primitives each end must compute, for both ends.
// Noise XX with the session's cipher suite (its crypto/ecdh DH knowing the
// static key, its ChaChaPoly, SHA-256) carrying the real 96-byte payloads in
// messages 2 and 3, so the hashing and sealing are the link's; each end
// signs its Noise static key once (the session signs once per identity and
// reuses the payload, so a link computes one sign fewer than this) and
// verifies the peer's payload against the static key the handshake proved.
// No network, no hellos, no trust lookup, no goroutines.
func BenchmarkHandshakeCryptoBound(b *testing.B) {
	ids := map[bool]*lcrypto.Identity{true: sessiontest.Identity(b, 1), false: sessiontest.Identity(b, 2)}
	keys := make(map[bool]*localKeys)
	for initiator, id := range ids {
		lk, err := newLocalKeys(id)
		if err != nil {
			b.Fatal(err)
		}
		keys[initiator] = lk
	}
	start, _ := cpuTime()
	b.ResetTimer()
	for range b.N {
		hs := make(map[bool]*noise.HandshakeState, 2)
		payload := make(map[bool][PayloadSize]byte, 2)
		for initiator, lk := range keys {
			_, pub := ids[initiator].NoiseStatic()
			payload[initiator] = encodePayload(ids[initiator].Public(), ids[initiator].Sign(lcrypto.DomainNoiseStatic, pub[:]))
			var err error
			hs[initiator], err = noise.NewHandshakeState(noise.Config{
				CipherSuite:   newSuite(lk.staticKey),
				Pattern:       noise.HandshakeXX,
				Initiator:     initiator,
				Prologue:      []byte(Prologue),
				StaticKeypair: lk.static,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		ini, resp := hs[true], hs[false]
		pi, pr := payload[true], payload[false]
		m1, _, _, _ := ini.WriteMessage(nil, nil)
		if _, _, _, err := resp.ReadMessage(nil, m1); err != nil {
			b.Fatal(err)
		}
		m2, _, _, _ := resp.WriteMessage(nil, pr[:])
		got, _, _, err := ini.ReadMessage(nil, m2)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := verifyPayload(got, ini.PeerStatic()); err != nil {
			b.Fatal(err)
		}
		m3, _, _, _ := ini.WriteMessage(nil, pi[:])
		got, _, _, err = resp.ReadMessage(nil, m3)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := verifyPayload(got, resp.PeerStatic()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, start, "handshake", 2)
}

// BenchmarkLinkSmall sends 100-byte frames one way over a link.
func BenchmarkLinkSmall(b *testing.B) { benchLink(b, 100) }

// BenchmarkLinkBulk sends 16 KiB frames one way over a link.
func BenchmarkLinkBulk(b *testing.B) { benchLink(b, 16<<10) }

// BenchmarkLinkBulkOwned is BenchmarkLinkBulk with SendWaitOwned: the link
// seals the caller's body instead of a copy of it.
func BenchmarkLinkBulkOwned(b *testing.B) {
	dcfg, acfg := pairConfigs(b)
	benchLinkSend(b, 16<<10, dcfg, acfg, (*Link).SendWaitOwned)
}

func benchLink(b *testing.B, size int) {
	dcfg, acfg := pairConfigs(b)
	benchLinkWith(b, size, dcfg, acfg)
}

func benchLinkWith(b *testing.B, size int, dcfg, acfg Config) {
	benchLinkSend(b, size, dcfg, acfg, (*Link).SendWait)
}

func benchLinkSend(b *testing.B, size int, dcfg, acfg Config, send func(*Link, context.Context, FrameType, []byte) error) {
	d, a := linkPair(b, dcfg, acfg)
	body := make([]byte, size)
	got := make(chan error, 1)
	b.SetBytes(int64(size))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start, _ := cpuTime()
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := a.Recv(context.Background()); err != nil {
				got <- err
				return
			}
		}
		got <- nil
	}()
	for range b.N {
		if err := send(d, context.Background(), appFrame, body); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-got; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportCPU(b, start, "frame", 1)
	reportAllocs(b, &before)
}

// reportAllocs adds the heap allocations per operation since before, by
// every goroutine of the process: for a link, both ends and all four
// goroutines (sender, writer, reader, receiver).
func reportAllocs(b *testing.B, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if b.N > 0 {
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/frame")
	}
}

// BenchmarkRawChaChaSmall is the floor for BenchmarkLinkSmall: TCP and one
// ChaCha20-Poly1305 seal and open per frame, the same 2-byte framing, no
// queues, no frame header, no locks.
func BenchmarkRawChaChaSmall(b *testing.B) { benchRaw(b, 100) }

// BenchmarkRawChaChaBulk is the floor for BenchmarkLinkBulk.
func BenchmarkRawChaChaBulk(b *testing.B) { benchRaw(b, 16<<10) }

func benchRaw(b *testing.B, size int) {
	client, server := sessiontest.Pair(b)
	key := make([]byte, chacha20poly1305.KeySize)
	seal, _ := chacha20poly1305.New(key)
	open, _ := chacha20poly1305.New(key)
	body := make([]byte, size)
	got := make(chan error, 1)
	b.SetBytes(int64(size))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start, _ := cpuTime()
	b.ResetTimer()
	go func() {
		r := bufio.NewReaderSize(server, readBufferSize)
		buf := make([]byte, MaxNoiseMessage)
		var nonce [12]byte
		for i := range b.N {
			var hdr [2]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				got <- err
				return
			}
			ct := buf[:binary.BigEndian.Uint16(hdr[:])]
			if _, err := io.ReadFull(r, ct); err != nil {
				got <- err
				return
			}
			binary.LittleEndian.PutUint64(nonce[4:], uint64(i))
			if _, err := open.Open(ct[:0], nonce[:], ct, nil); err != nil {
				got <- err
				return
			}
		}
		got <- nil
	}()
	w := bufio.NewWriterSize(client, writeBufferSize)
	out := make([]byte, 0, LengthPrefixSize+MaxNoiseMessage)
	var nonce [12]byte
	for i := range b.N {
		binary.LittleEndian.PutUint64(nonce[4:], uint64(i))
		msg := seal.Seal(out[:2], nonce[:], body, nil)
		binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-got; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportCPU(b, start, "frame", 1)
	reportAllocs(b, &before)
}
