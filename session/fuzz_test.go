package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// fuzzMaxFrame lets the frame fuzzer reach frames of three chunks.
const fuzzMaxFrame = 2*MaxPlaintext + 100

// FuzzFrameDecoder feeds plaintext Noise messages, each behind a 2-byte
// length, to the frame reassembler. Whatever it accepts must re-encode to
// exactly the messages it consumed, and no body may exceed its bound.
func FuzzFrameDecoder(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzFrameDecoder") {
		f.Add(s)
	}
	scratch := make([]byte, 0, MaxPlaintext)
	f.Fuzz(func(t *testing.T, in []byte) {
		records := splitRecords(in)
		pos := 0
		next := func() ([]byte, error) {
			if pos == len(records) {
				return nil, errEndOfInput
			}
			pos++
			return records[pos-1], nil
		}
		for {
			start := pos
			fr, err := readFrame(next, fuzzMaxFrame)
			if err != nil {
				if !errors.Is(err, ErrProtocol) && !errors.Is(err, errEndOfInput) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if len(fr.Body) > fr.Type.bodyLimit(fuzzMaxFrame) {
				t.Fatalf("%s body of %d bytes passed a bound of %d", fr.Type, len(fr.Body), fr.Type.bodyLimit(fuzzMaxFrame))
			}
			var again [][]byte
			err = splitFrame(scratch, fr.Type, fr.Body, func(p []byte) error {
				again = append(again, bytes.Clone(p))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !equalRecords(again, records[start:pos]) {
				t.Fatalf("frame %s of %d bytes re-encodes differently", fr.Type, len(fr.Body))
			}
		}
	})
}

var errEndOfInput = errors.New("end of fuzz input")

// splitRecords cuts in into length-prefixed records; a record that could
// not be a Noise plaintext (over MaxPlaintext) or is cut short ends it.
func splitRecords(in []byte) [][]byte {
	var out [][]byte
	for len(in) >= 2 {
		n := int(binary.BigEndian.Uint16(in))
		if n > MaxPlaintext || len(in) < 2+n {
			break
		}
		out = append(out, in[2:2+n])
		in = in[2+n:]
	}
	return out
}

func equalRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func appendRecord(dst, p []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(p)))
	return append(dst, p...)
}

// FuzzHandshakePayload decodes and verifies arbitrary payloads against the
// vector responder's static key. Decoding must round-trip; verification may
// only pass for the one honest payload for that key.
func FuzzHandshakePayload(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzHandshakePayload") {
		f.Add(s)
	}
	_, _, _, resp := vectorParties(f)
	_, static := resp.NoiseStatic()
	honest := encodePayload(resp.Public(), resp.Sign(lcrypto.DomainNoiseStatic, static[:]))
	f.Fuzz(func(t *testing.T, in []byte) {
		key, sig, err := decodePayload(in)
		if err == nil {
			if again := encodePayload(key, sig); !bytes.Equal(again[:], in) {
				t.Fatalf("payload re-encodes to %x", again)
			}
		}
		got, err := verifyPayload(in, static[:])
		if err == nil && (!bytes.Equal(in, honest[:]) || got != resp.Public()) {
			t.Fatalf("payload %x verified for %s", in, got)
		}
	})
}

// FuzzHandshakeResponder plays fuzzed bytes as an initiator's messages
// against Accept with the vector responder's keys and ephemeral. A link may
// only come up with the initiator the responder trusts.
func FuzzHandshakeResponder(f *testing.F) {
	fuzzHandshake(f, "FuzzHandshakeResponder", false)
}

// FuzzHandshakeInitiator plays fuzzed bytes as a responder's messages
// against Dial with the vector initiator's keys and ephemeral.
func FuzzHandshakeInitiator(f *testing.F) {
	fuzzHandshake(f, "FuzzHandshakeInitiator", true)
}

func fuzzHandshake(f *testing.F, name string, initiator bool) {
	for _, s := range fuzzseed.Files(f, name) {
		f.Add(s)
	}
	ini, resp, iniID, respID := vectorParties(f)
	us, usID, them := resp, respID, iniID
	if initiator {
		us, usID, them = ini, iniID, respID
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := vectorConfig(t, us, usID, them)
		conn := newScriptConn(in)
		var l *Link
		var err error
		if initiator {
			l, err = Dial(context.Background(), conn, cfg)
		} else {
			l, err = Accept(context.Background(), conn, cfg)
		}
		if errors.Is(err, errInternal) {
			t.Fatalf("internal error: %v", err)
		}
		if err != nil {
			return
		}
		if l.Peer() != them.Public() {
			t.Fatalf("linked with %s", l.Peer())
		}
		<-l.Done() // the script ends: the link must notice and stop
		if errors.Is(l.Err(), errInternal) {
			t.Fatalf("internal error: %v", l.Err())
		}
	})
}

// writeFuzzSeeds writes the seed corpora derived from the golden link.
func writeFuzzSeeds(t *testing.T, v *vectors) {
	_, _, _, resp := vectorParties(t)
	_, static := resp.NoiseStatic()
	honest := encodePayload(resp.Public(), resp.Sign(lcrypto.DomainNoiseStatic, static[:]))
	ini, rsp := v.initiatorWritten, v.responderWritten
	hello := encodeTestFrame(frameHello, []byte("bob"))
	big := encodeTestFrame(appFrameBulk, bytes.Repeat([]byte{0xab}, MaxPlaintext+10))
	garbage := append([]byte{0xff, 0xff}, bytes.Repeat([]byte{0x5a}, 1000)...)
	seeds := map[string]map[string][]byte{
		"FuzzHandshakePayload": {
			"honest":    honest[:],
			"short":     honest[:PayloadSize-1],
			"long":      append(bytes.Clone(honest[:]), 0),
			"zero":      make([]byte, PayloadSize),
			"empty":     {},
			"bad-sig":   append(bytes.Clone(honest[:PayloadSize-1]), honest[PayloadSize-1]^1),
			"other-key": encodeBytes(encodePayload(lcrypto.IdentityKey{1}, [64]byte{})),
		},
		"FuzzHandshakeResponder": {
			"golden-initiator-stream": ini,
			"msg1-only":               ini[:wireMsg1],
			"msg1-msg3":               ini[:wireMsg1+wireMsg3],
			"huge-length-garbage":     garbage,
			"msg1-then-garbage":       append(bytes.Clone(ini[:wireMsg1]), garbage...),
		},
		"FuzzHandshakeInitiator": {
			"golden-responder-stream": rsp,
			"msg2-only":               rsp[:wireMsg2],
			"huge-length-garbage":     garbage,
			"msg2-then-garbage":       append(bytes.Clone(rsp[:wireMsg2]), garbage...),
		},
		"FuzzFrameDecoder": {
			"hello":            hello,
			"ping":             encodeTestFrame(framePing, make([]byte, pingSize)),
			"close":            encodeTestFrame(frameClose, encodeClose(CloseNormal, "bye")),
			"chat-then-rekey":  append(encodeTestFrame(appFrame, []byte("hi")), encodeTestFrame(frameRekey, nil)...),
			"two-chunks":       big,
			"unknown-type":     encodeTestFrame(0x42, []byte("future")),
			"short-chunk":      append(appendRecord(nil, []byte{byte(appFrame), 0, 1, 0, 0, 1}), appendRecord(nil, []byte{1})...),
			"length-too-large": appendRecord(nil, []byte{byte(appFrame), 0xff, 0xff, 0xff, 0xff}),
		},
	}
	for name, files := range seeds {
		dir := filepath.Join("..", "testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, b := range files {
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func encodeBytes(p [PayloadSize]byte) []byte { return p[:] }

// encodeTestFrame returns the length-prefixed plaintexts of one frame.
func encodeTestFrame(typ FrameType, body []byte) []byte {
	var out []byte
	err := splitFrame(make([]byte, 0, MaxPlaintext), typ, body, func(p []byte) error {
		out = appendRecord(out, p)
		return nil
	})
	if err != nil {
		panic(fmt.Sprint("encodeTestFrame: ", err))
	}
	return out
}
