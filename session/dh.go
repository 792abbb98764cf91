package session

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/flynn/noise"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// ecdhFunc is the Noise "25519" DH function on crypto/ecdh. It remembers the
// *ecdh.PrivateKey of each key pair it made or was given, so a DH costs one
// scalar multiplication. flynn/noise's default goes through
// curve25519.X25519, which rebuilds the private key, and with it the public
// key (a second scalar multiplication), on every call.
//
// One ecdhFunc serves one handshake; it is not safe for concurrent use.
type ecdhFunc struct {
	known [2]knownKey // the static key and the ephemeral key
	n     int
}

type knownKey struct {
	raw [32]byte
	key *ecdh.PrivateKey
}

var errLowOrder = errors.New("X25519 with a low-order point")

func newECDHFunc(static *ecdh.PrivateKey) *ecdhFunc {
	d := &ecdhFunc{}
	if static != nil {
		d.remember(static)
	}
	return d
}

func (d *ecdhFunc) remember(k *ecdh.PrivateKey) {
	slot := &d.known[d.n%len(d.known)]
	copy(slot.raw[:], k.Bytes())
	slot.key = k
	d.n++
}

// GenerateKeypair reads 32 bytes from random as the private key, as the Noise
// spec and flynn/noise do, so a fixed stream gives fixed ephemerals.
func (d *ecdhFunc) GenerateKeypair(random io.Reader) (noise.DHKey, error) {
	if random == nil {
		random = rand.Reader
	}
	var raw [32]byte
	if _, err := io.ReadFull(random, raw[:]); err != nil {
		return noise.DHKey{}, fmt.Errorf("ephemeral key: %w", err)
	}
	k, err := ecdh.X25519().NewPrivateKey(raw[:])
	if err != nil {
		return noise.DHKey{}, fmt.Errorf("ephemeral key: %w", err)
	}
	d.remember(k)
	return noise.DHKey{Private: raw[:], Public: k.PublicKey().Bytes()}, nil
}

// DH returns X25519(private, public). It fails for a public key of the wrong
// length and for a low-order public key (an all-zero shared secret).
func (d *ecdhFunc) DH(private, public []byte) ([]byte, error) {
	k := d.lookup(private)
	if k == nil {
		var err error
		if k, err = ecdh.X25519().NewPrivateKey(private); err != nil {
			return nil, fmt.Errorf("X25519: %w", err)
		}
	}
	pub, err := ecdh.X25519().NewPublicKey(public)
	if err != nil {
		return nil, fmt.Errorf("X25519: %w", err)
	}
	out, err := k.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errLowOrder, err)
	}
	return out, nil
}

func (d *ecdhFunc) lookup(private []byte) *ecdh.PrivateKey {
	if len(private) != 32 {
		return nil
	}
	for i := range d.known {
		if d.known[i].key != nil && [32]byte(private) == d.known[i].raw {
			return d.known[i].key
		}
	}
	return nil
}

func (d *ecdhFunc) DHLen() int     { return dhLen }
func (d *ecdhFunc) DHName() string { return "25519" }

// newSuite returns the one cipher suite lanchat uses, with a fresh DH
// function that knows static.
func newSuite(static *ecdh.PrivateKey) noise.CipherSuite {
	return noise.NewCipherSuite(newECDHFunc(static), chachaPoly{}, noise.HashSHA256)
}

// localKeys is what a node reuses across handshakes: its Noise static key
// pair, parsed once, and its handshake payload (identity key and signature
// over the static public key), signed once.
type localKeys struct {
	static    noise.DHKey
	staticKey *ecdh.PrivateKey
	payload   [PayloadSize]byte
}

// localCacheSize bounds the cache; a node has one identity, tests have more.
const localCacheSize = 64

var localCache struct {
	sync.Mutex
	m map[*lcrypto.Identity]*localKeys
}

// localKeysFor returns the cached keys of id, computing them on first use.
func localKeysFor(id *lcrypto.Identity) (*localKeys, error) {
	localCache.Lock()
	defer localCache.Unlock()
	if lk := localCache.m[id]; lk != nil {
		return lk, nil
	}
	lk, err := newLocalKeys(id)
	if err != nil {
		return nil, err
	}
	if localCache.m == nil || len(localCache.m) >= localCacheSize {
		localCache.m = make(map[*lcrypto.Identity]*localKeys)
	}
	localCache.m[id] = lk
	return lk, nil
}

func newLocalKeys(id *lcrypto.Identity) (*localKeys, error) {
	priv, pub := id.NoiseStatic()
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return nil, fmt.Errorf("noise static key: %w", err)
	}
	lk := &localKeys{
		static:    noise.DHKey{Private: priv[:], Public: pub[:]},
		staticKey: k,
	}
	lk.payload = encodePayload(id.Public(), id.Sign(lcrypto.DomainNoiseStatic, pub[:]))
	return lk, nil
}
