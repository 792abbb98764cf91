package crypto

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func TestIdentitySecretRoundTrip(t *testing.T) {
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	back, err := IdentityFromSecret(id.MarshalSecret())
	if err != nil {
		t.Fatal(err)
	}
	if back.Public() != id.Public() {
		t.Fatal("identity key changed across marshal")
	}
	_, pub1 := id.NoiseStatic()
	_, pub2 := back.NoiseStatic()
	if pub1 != pub2 {
		t.Fatal("noise static key changed across marshal")
	}
	if _, err := IdentityFromSecret(make([]byte, SecretSize-1)); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestSignVerifyDomains(t *testing.T) {
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello")
	sig := id.Sign(DomainMessage, msg)
	tests := []struct {
		name   string
		key    []byte
		domain string
		msg    []byte
		sig    []byte
		want   bool
	}{
		{"good", id.Public().Bytes(), DomainMessage, msg, sig[:], true},
		{"other domain", id.Public().Bytes(), DomainBeacon, msg, sig[:], false},
		{"other key", other.Public().Bytes(), DomainMessage, msg, sig[:], false},
		{"other message", id.Public().Bytes(), DomainMessage, []byte("hellO"), sig[:], false},
		{"short signature", id.Public().Bytes(), DomainMessage, msg, sig[:63], false},
		{"31-byte key", id.Public().Bytes()[:31], DomainMessage, msg, sig[:], false},
		{"33-byte key", append(id.Public().Bytes(), 0), DomainMessage, msg, sig[:], false},
		{"empty key", nil, DomainMessage, msg, sig[:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyBytes(tt.key, tt.domain, tt.msg, tt.sig); got != tt.want {
				t.Fatalf("VerifyBytes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewIdentityIsDeterministicFromRand(t *testing.T) {
	seed := bytes.Repeat([]byte{1}, SecretSize)
	a, err := NewIdentity(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewIdentity(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if a.Public() != b.Public() {
		t.Fatal("same randomness gave different identities")
	}
	if _, err := NewIdentity(bytes.NewReader(seed[:10])); err == nil {
		t.Fatal("short randomness accepted")
	}
}

// Small-order keys verify signatures anyone can make; they are refused.
func TestWeakKeysRefused(t *testing.T) {
	identity := IdentityKey{1} // the neutral element's encoding
	var order2 IdentityKey     // y = -1 (p-1): order 2
	order2[0] = 0xec
	for i := 1; i < 31; i++ {
		order2[i] = 0xff
	}
	order2[31] = 0x7f
	tests := []struct {
		name string
		key  IdentityKey
	}{
		{"identity point", identity},
		{"order 2 point", order2},
		{"zero (order 4)", IdentityKey{}},
		{"not a point", IdentityKey{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.key.Check(); err == nil {
				t.Fatal("weak key accepted")
			}
			if _, err := IdentityKeyFromBytes(tt.key[:]); err == nil {
				t.Fatal("IdentityKeyFromBytes accepted a weak key")
			}
			// With the identity point as key, R = identity and S = 0 is a
			// "valid" Ed25519 signature of any message; Verify refuses it.
			sig := make([]byte, SignatureSize)
			sig[0] = 1
			if Verify(tt.key, DomainMessage, []byte("anything"), sig) {
				t.Fatal("Verify accepted a signature by a weak key")
			}
		})
	}
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Public().Check(); err != nil {
		t.Fatalf("a real key is refused: %v", err)
	}
}
