package session

import (
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// The handshake payload of messages 2 and 3, exactly PayloadSize bytes:
//
//	identity key  32  the sender's Ed25519 public key
//	signature     64  Ed25519 over DomainNoiseStatic || the sender's Noise static public key
//
// Nothing else: no nickname, no rooms, no version. Message 2's payload goes
// to a peer nobody has authenticated yet.

// encodePayload lays out a handshake payload.
func encodePayload(key lcrypto.IdentityKey, sig [lcrypto.SignatureSize]byte) [PayloadSize]byte {
	var p [PayloadSize]byte
	copy(p[:lcrypto.KeySize], key[:])
	copy(p[lcrypto.KeySize:], sig[:])
	return p
}

// decodePayload splits a handshake payload. Any length but PayloadSize is an
// error; decoding never verifies.
func decodePayload(b []byte) (lcrypto.IdentityKey, [lcrypto.SignatureSize]byte, error) {
	var key lcrypto.IdentityKey
	var sig [lcrypto.SignatureSize]byte
	if len(b) != PayloadSize {
		return key, sig, fmt.Errorf("handshake payload: %d bytes, want %d", len(b), PayloadSize)
	}
	copy(key[:], b)
	copy(sig[:], b[lcrypto.KeySize:])
	return key, sig, nil
}

// verifyPayload decodes a peer's payload and checks that its identity key
// signed peerStatic, the Noise static key the handshake proved the peer
// holds. It returns the proven identity key. It never panics.
func verifyPayload(b, peerStatic []byte) (lcrypto.IdentityKey, error) {
	key, sig, err := decodePayload(b)
	if err != nil {
		return lcrypto.IdentityKey{}, err
	}
	if len(peerStatic) != dhLen {
		return lcrypto.IdentityKey{}, fmt.Errorf("peer static key: %d bytes, want %d", len(peerStatic), dhLen)
	}
	if key.IsZero() || !lcrypto.Verify(key, lcrypto.DomainNoiseStatic, peerStatic, sig[:]) {
		return lcrypto.IdentityKey{}, fmt.Errorf("%w (identity %s)", ErrBadSignature, key)
	}
	return key, nil
}
