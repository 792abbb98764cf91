package session

import (
	"crypto/cipher"
	"encoding/binary"

	"github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"
)

// chachaPoly is the Noise "ChaChaPoly" cipher, byte for byte the same as
// noise.CipherChaChaPoly, without its allocation per message:
// flynn/noise builds each nonce in a fresh 12-byte slice that escapes to
// the heap, once for every message sealed or opened. This one keeps the
// nonce in the cipher, which is safe because a Cipher is only used by one
// CipherState, and each CipherState of a link is used under its direction's
// mutex (sendDir, recvDir) or by the one goroutine running the handshake.
type chachaPoly struct{}

func (chachaPoly) Cipher(k [32]byte) noise.Cipher {
	aead, err := chacha20poly1305.New(k[:])
	if err != nil {
		panic(err) // only for a key that is not 32 bytes
	}
	return &chachaCipher{aead: aead}
}

func (chachaPoly) CipherName() string { return "ChaChaPoly" }

type chachaCipher struct {
	aead  cipher.AEAD
	nonce [chacha20poly1305.NonceSize]byte // 4 zero bytes, then n little-endian
}

func (c *chachaCipher) Encrypt(out []byte, n uint64, ad, plaintext []byte) []byte {
	binary.LittleEndian.PutUint64(c.nonce[4:], n)
	return c.aead.Seal(out, c.nonce[:], plaintext, ad)
}

func (c *chachaCipher) Decrypt(out []byte, n uint64, ad, ciphertext []byte) ([]byte, error) {
	binary.LittleEndian.PutUint64(c.nonce[4:], n)
	return c.aead.Open(out, c.nonce[:], ciphertext, ad)
}
