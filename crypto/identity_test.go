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
