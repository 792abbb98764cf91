package session

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/flynn/noise"
)

// TestVectorsNoiseKnownAnswer runs the Noise test vector for our suite
// (from flynn/noise's vectors.txt, copied to testdata/session) through our
// DH function, and checks our suite's name.
func TestVectorsNoiseKnownAnswer(t *testing.T) {
	b, err := os.ReadFile("../testdata/session/noise-xx-25519-chachapoly-sha256.txt")
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			kv[k] = v
		}
	}
	if kv["handshake"] != ProtocolName {
		t.Fatalf("vector is for %s, we speak %s", kv["handshake"], ProtocolName)
	}
	if got := "Noise_XX_" + string(newSuite(nil).Name()); got != ProtocolName {
		t.Fatalf("our suite is %s", got)
	}
	runNoiseVector(t, kv)
}

func TestECDHMatchesDefaultDH(t *testing.T) {
	for i := range 4 {
		a, b := seq(i*7, 32), seq(100+i*13, 32)
		ours := newECDHFunc(nil)
		ka, err := ours.GenerateKeypair(bytes.NewReader(a))
		if err != nil {
			t.Fatal(err)
		}
		kb, err := ours.GenerateKeypair(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want, err := defaultDH().DH(a, kb.Public)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ours.DH(ka.Private, kb.Public)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("DH = %x, %v; flynn/noise's default gives %x", got, err, want)
		}
		fresh, err := newECDHFunc(nil).DH(a, kb.Public) // not remembered: the slow path
		if err != nil || !bytes.Equal(fresh, want) {
			t.Fatalf("DH of an unknown key = %x, %v; want %x", fresh, err, want)
		}
	}
	for _, p := range lowOrderPoints {
		if _, err := newECDHFunc(nil).DH(seq(1, 32), mustHex(t, p)); !errors.Is(err, errLowOrder) {
			t.Fatalf("DH with low-order point %s: %v, want errLowOrder", p[:8], err)
		}
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := newECDHFunc(nil).DH(seq(1, 32), make([]byte, n)); err == nil {
			t.Fatalf("DH with a %d-byte public key succeeded", n)
		}
	}
}

func defaultDH() noise.DHFunc { return noise.DH25519 }

// runNoiseVector checks one cacophony-format vector for XX with our suite.
func runNoiseVector(t *testing.T, kv map[string]string) {
	side := func(static, eph string, initiator bool) *noise.HandshakeState {
		dh := newECDHFunc(nil)
		s, err := dh.GenerateKeypair(bytes.NewReader(mustHex(t, static)))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := noise.NewHandshakeState(noise.Config{
			CipherSuite:   noise.NewCipherSuite(dh, chachaPoly{}, noise.HashSHA256),
			Random:        bytes.NewReader(mustHex(t, eph)),
			Pattern:       noise.HandshakeXX,
			Initiator:     initiator,
			Prologue:      mustHex(t, kv["init_prologue"]),
			StaticKeypair: s,
		})
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	ini := side(kv["init_static"], kv["gen_init_ephemeral"], true)
	resp := side(kv["resp_static"], kv["gen_resp_ephemeral"], false)
	var iniCS, respCS [2]*noise.CipherState // [0] initiator→responder, [1] back
	for i := 0; kv[fmt.Sprintf("msg_%d_payload", i)] != "" || kv[fmt.Sprintf("msg_%d_ciphertext", i)] != ""; i++ {
		payload := mustHex(t, kv[fmt.Sprintf("msg_%d_payload", i)])
		want := mustHex(t, kv[fmt.Sprintf("msg_%d_ciphertext", i)])
		var got []byte
		var err error
		switch {
		case i < 3 && i%2 == 0:
			got, iniCS[0], iniCS[1], err = ini.WriteMessage(nil, payload)
			if err == nil {
				_, respCS[0], respCS[1], err = resp.ReadMessage(nil, got)
			}
		case i < 3:
			got, respCS[0], respCS[1], err = resp.WriteMessage(nil, payload)
			if err == nil {
				_, iniCS[0], iniCS[1], err = ini.ReadMessage(nil, got)
			}
		case i%2 == 1: // transport: the initiator speaks first
			got, err = iniCS[0].Encrypt(nil, nil, payload)
		default:
			got, err = respCS[1].Encrypt(nil, nil, payload)
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d:\n got %x\nwant %x", i, got, want)
		}
	}
}
