package session

import (
	"bytes"
	"errors"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session/sessiontest"
)

func TestPayloadVerify(t *testing.T) {
	alice, bob := sessiontest.Identity(t, 1), sessiontest.Identity(t, 2)
	_, static := alice.NoiseStatic()
	_, bobStatic := bob.NoiseStatic()
	honest := honestPayload(alice, static[:])
	tests := []struct {
		name    string
		payload []byte
		static  []byte
		ok      bool
	}{
		{"honest", honest, static[:], true},
		{"another static key", honest, bobStatic[:], false},
		{"flipped signature bit", append(bytes.Clone(honest[:PayloadSize-1]), honest[PayloadSize-1]^1), static[:], false},
		{"flipped key bit", append([]byte{honest[0] ^ 1}, honest[1:]...), static[:], false},
		{"95 bytes", honest[:PayloadSize-1], static[:], false},
		{"97 bytes", append(bytes.Clone(honest), 0), static[:], false},
		{"empty", nil, static[:], false},
		{"zero key and signature", make([]byte, PayloadSize), static[:], false},
		{"31-byte static", honest, static[:31], false},
		{"33-byte static", honest, append(bytes.Clone(static[:]), 0), false},
		{"no static", honest, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := verifyPayload(tt.payload, tt.static)
			if tt.ok != (err == nil) {
				t.Fatalf("verify: %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && key != alice.Public() {
				t.Fatalf("proved %s, want %s", key, alice.Public())
			}
			if !tt.ok && key != (lcrypto.IdentityKey{}) {
				t.Fatal("a failed verification returned a key")
			}
		})
	}
	if _, err := verifyPayload(honest, bobStatic[:]); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong static: %v, want ErrBadSignature", err)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	alice := sessiontest.Identity(t, 1)
	_, static := alice.NoiseStatic()
	p := honestPayload(alice, static[:])
	key, sig, err := decodePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	if again := encodePayload(key, sig); !bytes.Equal(again[:], p) || key != alice.Public() {
		t.Fatalf("payload does not round-trip")
	}
}
