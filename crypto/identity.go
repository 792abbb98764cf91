package crypto

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/edwards25519"
)

// Sizes of keys and signatures, in bytes.
const (
	KeySize       = 32 // Ed25519 public key, X25519 keys
	SignatureSize = ed25519.SignatureSize
	// SecretSize is the length of a marshalled identity secret:
	// Ed25519 seed (32) followed by the X25519 private key (32).
	SecretSize = 64
)

// IdentityKey is an Ed25519 public key: who a node is.
type IdentityKey [KeySize]byte

// ErrWeakKey is returned for an identity key that is not a valid Ed25519
// point or has small order: for such a key anyone can make signatures that
// verify, so it can prove nothing.
var ErrWeakKey = errors.New("identity key is not a usable Ed25519 public key")

// IdentityKeyFromBytes copies b into an IdentityKey, refusing a wrong length
// and weak keys (see CheckKey).
func IdentityKeyFromBytes(b []byte) (IdentityKey, error) {
	var k IdentityKey
	if len(b) != KeySize {
		return k, fmt.Errorf("identity key: %d bytes, want %d", len(b), KeySize)
	}
	copy(k[:], b)
	if err := k.Check(); err != nil {
		return IdentityKey{}, err
	}
	return k, nil
}

// Check refuses a key that does not decode to a point, or whose point has
// small order ([8]P is the identity). Verify calls it, so no signature by
// such a key is ever accepted.
func (k IdentityKey) Check() error {
	if goodKeys.has(k) {
		return nil
	}
	if err := k.check(); err != nil {
		return err
	}
	goodKeys.add(k)
	return nil
}

// goodKeys remembers keys that passed Check (a point decompression costs
// about as much as a third of a signature check, and a node sees few keys).
var goodKeys = keyCache{keys: map[IdentityKey]struct{}{}}

// maxGoodKeys bounds the cache; when it is full it starts over.
const maxGoodKeys = 4096

type keyCache struct {
	mu   sync.RWMutex
	keys map[IdentityKey]struct{}
}

func (c *keyCache) has(k IdentityKey) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.keys[k]
	return ok
}

func (c *keyCache) add(k IdentityKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= maxGoodKeys {
		clear(c.keys)
	}
	c.keys[k] = struct{}{}
}

func (k IdentityKey) check() error {
	p, err := new(edwards25519.Point).SetBytes(k[:])
	if err != nil {
		return ErrWeakKey
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return ErrWeakKey
	}
	return nil
}

// Fingerprint returns the fingerprint of the key: SHA-256 of the key bytes.
func (k IdentityKey) Fingerprint() Fingerprint { return FingerprintOf(k) }

// String returns the short fingerprint, for logs.
func (k IdentityKey) String() string { return k.Fingerprint().Short() }

// IsZero reports whether k is all zero bytes.
func (k IdentityKey) IsZero() bool { return k == IdentityKey{} }

// Identity is a node's secret key material: an Ed25519 signing key (who it is)
// and an X25519 key used as its Noise static key (how it links).
type Identity struct {
	sign      ed25519.PrivateKey
	pub       IdentityKey
	staticPrv [KeySize]byte
	staticPub [KeySize]byte
}

// NewIdentity creates a fresh identity from rand (crypto/rand.Reader in
// production, a fixed stream in tests).
func NewIdentity(rand io.Reader) (*Identity, error) {
	var secret [SecretSize]byte
	if _, err := io.ReadFull(rand, secret[:]); err != nil {
		return nil, fmt.Errorf("new identity: reading randomness: %w", err)
	}
	return IdentityFromSecret(secret[:])
}

// IdentityFromSecret rebuilds an identity from MarshalSecret's bytes.
func IdentityFromSecret(secret []byte) (*Identity, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("identity secret: %d bytes, want %d", len(secret), SecretSize)
	}
	id := &Identity{sign: ed25519.NewKeyFromSeed(secret[:32])}
	copy(id.pub[:], id.sign.Public().(ed25519.PublicKey))
	prv, err := ecdh.X25519().NewPrivateKey(secret[32:])
	if err != nil {
		return nil, fmt.Errorf("identity secret: noise static key: %w", err)
	}
	copy(id.staticPrv[:], prv.Bytes())
	copy(id.staticPub[:], prv.PublicKey().Bytes())
	return id, nil
}

// MarshalSecret returns the secret key material (keep it sealed at rest).
func (id *Identity) MarshalSecret() []byte {
	out := make([]byte, 0, SecretSize)
	out = append(out, id.sign.Seed()...)
	return append(out, id.staticPrv[:]...)
}

// Public returns the identity key.
func (id *Identity) Public() IdentityKey { return id.pub }

// Fingerprint returns the fingerprint of the identity key.
func (id *Identity) Fingerprint() Fingerprint { return FingerprintOf(id.pub) }

// NoiseStatic returns the X25519 static key pair used in Noise handshakes.
func (id *Identity) NoiseStatic() (private, public [KeySize]byte) {
	return id.staticPrv, id.staticPub
}

// Sign signs domain || msg with the identity's Ed25519 key.
func (id *Identity) Sign(domain string, msg []byte) [SignatureSize]byte {
	var sig [SignatureSize]byte
	copy(sig[:], ed25519.Sign(id.sign, withDomain(domain, msg)))
	return sig
}

// Verify reports whether sig is key's signature over domain || msg. It never
// panics: wrong lengths simply fail.
func Verify(key IdentityKey, domain string, msg, sig []byte) bool {
	if len(sig) != SignatureSize || key.Check() != nil {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(key[:]), withDomain(domain, msg), sig)
}

// VerifyBytes is Verify for a key given as a byte slice of unchecked length.
func VerifyBytes(key []byte, domain string, msg, sig []byte) bool {
	k, err := IdentityKeyFromBytes(key)
	if err != nil {
		return false
	}
	return Verify(k, domain, msg, sig)
}

// ErrKeyMismatch is returned where two keys that must be equal are not.
var ErrKeyMismatch = errors.New("key mismatch")

func withDomain(domain string, msg []byte) []byte {
	b := make([]byte, 0, len(domain)+len(msg))
	b = append(b, domain...)
	return append(b, msg...)
}

// Bytes returns a copy of the key as a slice.
func (k IdentityKey) Bytes() []byte { return append([]byte(nil), k[:]...) }
