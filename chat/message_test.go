package chat

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/internal/fuzzseed"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

func newID(t testing.TB) *lcrypto.Identity {
	t.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func signed(t testing.TB, id *lcrypto.Identity, body string) Message {
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.UnixMilli(1700000000000), Body: body}
	m.Sign(id)
	return m
}

func TestMessageRoundTripAndSignature(t *testing.T) {
	id := newID(t)
	m := signed(t, id, "héllo")
	b := m.Encode()
	got, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), b) || got.ID() != m.ID() {
		t.Fatal("decode/encode does not round-trip")
	}
	// Every flipped byte either fails to decode or fails to verify.
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		dm, err := DecodeMessage(bad)
		if err == nil && dm.Verify() == nil {
			t.Fatalf("byte %d flipped: still a valid message", i)
		}
	}
}

// A member cannot speak as someone else: changing the author of a signed
// message breaks its signature.
func TestForwardedAsSomeoneElseFails(t *testing.T) {
	mallory, alice := newID(t), newID(t)
	m := signed(t, mallory, "I am alice")
	m.Author = alice.Public()
	if err := m.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify = %v, want ErrBadSignature", err)
	}
}

func TestDecodeMessageRefuses(t *testing.T) {
	id := newID(t)
	good := signed(t, id, "x").Encode()
	long := Message{Room: "lobby", Seq: 1, Clock: 1, Body: strings.Repeat("a", MaxBodyBytes+1)}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"version 2", append([]byte{2}, good[1:]...), ErrMalformed},
		{"body too long", (&long).Encode(), ErrBodyTooLong},
		{"bad room", (&Message{Room: "Bad Room", Seq: 1, Clock: 1}).Encode(), ErrRoomName},
		{"seq 0", (&Message{Room: "lobby", Clock: 1}).Encode(), ErrMalformed},
		{"bad utf-8", (&Message{Room: "lobby", Seq: 1, Clock: 1, Body: "\xff"}).Encode(), ErrMalformed},
		{"time after year 9999", (&Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.UnixMilli(MaxTimeMs + 1)}).Encode(), ErrMalformed},
		{"time before 1970", (&Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.UnixMilli(-1)}).Encode(), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeMessage(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNormalizeRoom(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lobby", "lobby"}, {"#Lobby", "lobby"}, {" dev-ops.2 ", "dev-ops.2"},
		{"", ""}, {"-x", ""}, {"a b", ""}, {strings.Repeat("a", MaxRoomLen+1), ""}, {"ümlaut", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeRoom(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeRoom(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRoom(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWireRoundTrips(t *testing.T) {
	k1, k2 := newID(t).Public(), newID(t).Public()
	h := hello{Nick: "alice", Rooms: []string{"a", "lobby"}}
	if got, err := decodeHello(h.encode()); err != nil || got.Nick != h.Nick || len(got.Rooms) != 2 {
		t.Fatalf("hello round trip: %+v, %v", got, err)
	}
	req := syncRequest{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{k1: 5, k2: 7}}
	got, err := decodeSyncRequest(req.encode())
	if err != nil || got.Heads[k1] != 5 || got.Heads[k2] != 7 || !bytes.Equal(got.encode(), req.encode()) {
		t.Fatalf("sync request round trip: %+v, %v", got, err)
	}
	sm := signed(t, newID(t), "m")
	resp := syncResponse{Room: "lobby", Done: true, Msgs: [][]byte{sm.Encode()}}
	gr, err := decodeSyncResponse(resp.encode())
	if err != nil || !gr.Done || len(gr.Msgs) != 1 || !bytes.Equal(gr.encode(), resp.encode()) {
		t.Fatalf("sync response round trip: %+v, %v", gr, err)
	}
	// A repeated author is refused (the encoding must be canonical).
	dup := append(appendRoom(nil, "lobby"), 0, 2)
	dup = append(dup, append(k1[:], 0, 0, 0, 0, 0, 0, 0, 1)...)
	dup = append(dup, append(k1[:], 0, 0, 0, 0, 0, 0, 0, 2)...)
	if _, err := decodeSyncRequest(dup); !errors.Is(err, ErrFrame) {
		t.Fatalf("repeated author: err = %v", err)
	}
	// Authors out of order are refused too (one encoding per request).
	lo, hi := k1, k2
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	desc := append(appendRoom(nil, "lobby"), 0, 2)
	desc = append(desc, append(hi[:], 0, 0, 0, 0, 0, 0, 0, 1)...)
	desc = append(desc, append(lo[:], 0, 0, 0, 0, 0, 0, 0, 2)...)
	if _, err := decodeSyncRequest(desc); !errors.Is(err, ErrFrame) {
		t.Fatalf("descending authors: err = %v", err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzDecodeMessage") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		_ = m.Verify() // must not panic
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, m.Encode())
		}
	})
}

func FuzzChatFrames(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzChatFrames") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := decodeHello(b); err == nil && !bytes.Equal(h.encode(), b) {
			t.Fatalf("hello re-encoding differs")
		}
		if s, err := decodeSyncRequest(b); err == nil && !bytes.Equal(s.encode(), b) {
			t.Fatalf("sync request re-encoding differs")
		}
		if s, err := decodeSyncResponse(b); err == nil && !bytes.Equal(s.encode(), b) {
			t.Fatalf("sync response re-encoding differs")
		}
		if r, err := decodeRoomFrame(b); err == nil && !bytes.Equal(encodeRoomFrame(r), b) {
			t.Fatalf("room frame re-encoding differs")
		}
		if c, err := decodeSyncCheck(b); err == nil && !bytes.Equal(c.encode(), b) {
			t.Fatalf("sync check re-encoding differs")
		}
		if nick, err := decodeNick(b); err == nil && !bytes.Equal(encodeNick(nick), b) {
			t.Fatalf("nick frame re-encoding differs")
		}
	})
}
