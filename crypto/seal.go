package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KDFParams are the argon2id parameters used to derive a sealing key from a
// passphrase. They are stored beside the ciphertext, so they can be raised for
// new files while old ones still open.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDFParams returns RFC 9106's second recommended option (64 MiB, 3
// passes, 4 lanes): about a quarter of a second on a laptop.
func DefaultKDFParams() KDFParams { return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4} }

// Caps on parameters accepted when unsealing: a crafted file must not make us
// spend gigabytes or minutes before the passphrase check fails.
const (
	MaxKDFTime      = 16
	MaxKDFMemoryKiB = 1 << 20 // 1 GiB
	MaxKDFThreads   = 16
)

// Sealed file layout (all integers big-endian):
//
//	magic    "LCSEAL1\n" (8)
//	kdf      byte: 1 = argon2id
//	time     uint32
//	memory   uint32 (KiB)
//	threads  byte
//	salt     16 bytes
//	nonce    24 bytes (XChaCha20-Poly1305)
//	ciphertext (plaintext + 16-byte tag); the header above is the AD
const (
	sealMagic     = "LCSEAL1\n"
	sealKDFArgon  = 1
	saltSize      = 16
	sealHeaderLen = len(sealMagic) + 1 + 4 + 4 + 1 + saltSize + chacha20poly1305.NonceSizeX
	// MaxSealedSize bounds what Unseal reads.
	MaxSealedSize = 64 << 10
)

// Errors from Unseal, for errors.Is.
var (
	ErrWrongPassphrase = errors.New("wrong passphrase (or the sealed key was altered)")
	ErrSealedFormat    = errors.New("not a lanchat sealed key")
	ErrKDFTooCostly    = errors.New("sealed key asks for more work than lanchat allows")
)

// Seal encrypts secret under a key derived from passphrase with parameters p.
func Seal(secret, passphrase []byte, p KDFParams, rand io.Reader) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	hdr := make([]byte, sealHeaderLen)
	n := copy(hdr, sealMagic)
	hdr[n] = sealKDFArgon
	n++
	binary.BigEndian.PutUint32(hdr[n:], p.Time)
	binary.BigEndian.PutUint32(hdr[n+4:], p.MemoryKiB)
	hdr[n+8] = p.Threads
	n += 9
	if _, err := io.ReadFull(rand, hdr[n:]); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	salt := hdr[n : n+saltSize]
	nonce := hdr[n+saltSize:]
	aead, err := chacha20poly1305.NewX(deriveKey(passphrase, salt, p))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(hdr, nonce, secret, hdr), nil
}

// Unseal decrypts a sealed secret. A wrong passphrase and any altered byte
// both give ErrWrongPassphrase; a file that is not a sealed key gives
// ErrSealedFormat; parameters above the caps give ErrKDFTooCostly.
func Unseal(sealed, passphrase []byte) ([]byte, error) {
	p, salt, nonce, err := parseSealHeader(sealed)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(deriveKey(passphrase, salt, p))
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	out, err := aead.Open(nil, nonce, sealed[sealHeaderLen:], sealed[:sealHeaderLen])
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return out, nil
}

// SealedParams returns the KDF parameters of a sealed blob without opening it.
func SealedParams(sealed []byte) (KDFParams, error) {
	p, _, _, err := parseSealHeader(sealed)
	return p, err
}

func parseSealHeader(b []byte) (p KDFParams, salt, nonce []byte, err error) {
	if len(b) > MaxSealedSize {
		return p, nil, nil, fmt.Errorf("%w: %d bytes is too large", ErrSealedFormat, len(b))
	}
	if len(b) < sealHeaderLen+chacha20poly1305.Overhead || string(b[:len(sealMagic)]) != sealMagic {
		return p, nil, nil, ErrSealedFormat
	}
	n := len(sealMagic)
	if b[n] != sealKDFArgon {
		return p, nil, nil, fmt.Errorf("%w: unknown key derivation %d", ErrSealedFormat, b[n])
	}
	n++
	p = KDFParams{
		Time:      binary.BigEndian.Uint32(b[n:]),
		MemoryKiB: binary.BigEndian.Uint32(b[n+4:]),
		Threads:   b[n+8],
	}
	n += 9
	if err := p.check(); err != nil {
		return KDFParams{}, nil, nil, err
	}
	return p, b[n : n+saltSize], b[n+saltSize : sealHeaderLen], nil
}

func (p KDFParams) check() error {
	if p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) {
		return fmt.Errorf("%w: invalid argon2id parameters t=%d m=%dKiB p=%d", ErrSealedFormat, p.Time, p.MemoryKiB, p.Threads)
	}
	if p.Time > MaxKDFTime || p.MemoryKiB > MaxKDFMemoryKiB || p.Threads > MaxKDFThreads {
		return fmt.Errorf("%w: t=%d m=%dKiB p=%d (caps: t=%d m=%dKiB p=%d)", ErrKDFTooCostly,
			p.Time, p.MemoryKiB, p.Threads, MaxKDFTime, MaxKDFMemoryKiB, MaxKDFThreads)
	}
	return nil
}

func deriveKey(passphrase, salt []byte, p KDFParams) []byte {
	return argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
}
