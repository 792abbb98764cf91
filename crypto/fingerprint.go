package crypto

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// A Fingerprint is the SHA-256 of an identity key. People compare and type it,
// so its text form is built for that:
//
//   - the 32 bytes in base32 (RFC 4648 alphabet, A–Z 2–7): 52 characters, the
//     last 4 bits zero;
//   - cut into 4 blocks of 13 characters, each followed by one check character
//     (a weighted sum over GF(32), see checkChar): 56 characters;
//   - written in 8 groups of 7, joined by dashes.
//
// The check catches every single mistyped character and every swap of two
// neighbouring characters, and names the block it is in. Parsing ignores case,
// spaces and dashes and reads 0 as O, 1 as I and 8 as B.
type Fingerprint [sha256.Size]byte

// Fingerprint text layout.
const (
	fpDataChars  = 52 // base32 of 32 bytes, unpadded
	fpBlock      = 13 // data characters per check character
	fpBlocks     = fpDataChars / fpBlock
	fpTextChars  = fpDataChars + fpBlocks // 56
	fpGroup      = 7
	fpShortChars = fpGroup
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// FingerprintOf returns the fingerprint of an identity key.
func FingerprintOf(k IdentityKey) Fingerprint { return sha256.Sum256(k[:]) }

// String returns the full form, e.g. "ABCDEFG-HIJKLMN-...": 8 groups of 7.
// Remembered (fpstrings.go): every message view shows its author's.
func (f Fingerprint) String() string {
	if s, ok := fpStrings.get(f); ok {
		return s
	}
	s := f.format()
	fpStrings.add(f, s)
	return s
}

func (f Fingerprint) format() string {
	data := b32.EncodeToString(f[:])
	var plain strings.Builder
	for i := 0; i < fpBlocks; i++ {
		block := data[i*fpBlock : (i+1)*fpBlock]
		plain.WriteString(block)
		plain.WriteByte(b32Alphabet[checkChar(block)])
	}
	p := plain.String()
	var out strings.Builder
	for i := 0; i < len(p); i += fpGroup {
		if i > 0 {
			out.WriteByte('-')
		}
		out.WriteString(p[i : i+fpGroup])
	}
	return out.String()
}

// Short returns the first group: enough to tell peers apart in a chat line,
// never enough to trust someone by.
func (f Fingerprint) Short() string { return f.String()[:fpShortChars] }

// IsZero reports whether f is all zero bytes.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// MarshalText implements encoding.TextMarshaler.
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseFingerprint.
func (f *Fingerprint) UnmarshalText(b []byte) error {
	p, err := ParseFingerprint(string(b))
	if err != nil {
		return err
	}
	*f = p
	return nil
}

// Errors from ParseFingerprint, for errors.Is.
var (
	ErrFingerprintEmpty    = errors.New("fingerprint is empty")
	ErrFingerprintLength   = errors.New("fingerprint has the wrong length")
	ErrFingerprintChar     = errors.New("fingerprint has a character that cannot be in one")
	ErrFingerprintChecksum = errors.New("fingerprint has a typo")
	ErrFingerprintZero     = errors.New("fingerprint is all zeros")
)

// ParseFingerprint reads a fingerprint typed by a person. It accepts any case,
// spaces and dashes, and 0/1/8 for O/I/B. An error says what is wrong and, for
// a typo, in which characters it is.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	clean := make([]byte, 0, fpTextChars)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c == '0':
			c = 'O'
		case c == '1':
			c = 'I'
		case c == '8':
			c = 'B'
		}
		if strings.IndexByte(b32Alphabet, c) < 0 {
			return f, fmt.Errorf("%w: %q (fingerprints use A–Z and 2–7)", ErrFingerprintChar, rune(s[i]))
		}
		clean = append(clean, c)
	}
	switch {
	case len(clean) == 0:
		return f, ErrFingerprintEmpty
	case len(clean) != fpTextChars:
		return f, fmt.Errorf("%w: %d characters, want %d (8 groups of 7)", ErrFingerprintLength, len(clean), fpTextChars)
	}
	data := make([]byte, 0, fpDataChars)
	for i := 0; i < fpBlocks; i++ {
		block := clean[i*(fpBlock+1) : (i+1)*(fpBlock+1)]
		if checkChar(string(block[:fpBlock])) != strings.IndexByte(b32Alphabet, block[fpBlock]) {
			first := i*(fpBlock+1) + 1
			return f, fmt.Errorf("%w in characters %d–%d (groups %d–%d): check it against the original",
				ErrFingerprintChecksum, first, first+fpBlock, (first-1)/fpGroup+1, (first+fpBlock-1)/fpGroup+1)
		}
		data = append(data, block[:fpBlock]...)
	}
	raw, err := b32.DecodeString(string(data))
	if err != nil || len(raw) != len(f) {
		return f, fmt.Errorf("%w: not valid base32", ErrFingerprintChar)
	}
	copy(f[:], raw)
	// Reject non-canonical padding bits so each fingerprint has one text form.
	if b32.EncodeToString(f[:]) != string(data) {
		return Fingerprint{}, fmt.Errorf("%w: the last group does not encode a fingerprint", ErrFingerprintChecksum)
	}
	if f.IsZero() {
		return f, ErrFingerprintZero
	}
	return f, nil
}

// checkChar returns the index (0..31) of the check character of a block of
// base32 characters. Characters are elements of GF(32) = GF(2)[x]/(x⁵+x²+1);
// position j of the block+check word has weight αʲ (α = x, a generator, so the
// 14 weights are distinct and non-zero). The check makes the weighted sum of
// the whole word zero. A single substitution changes the sum by δ·αʲ ≠ 0; a
// swap of neighbours a,b changes it by (a+b)(αʲ+αʲ⁺¹) ≠ 0: both are caught.
func checkChar(block string) int {
	var sum byte
	w := byte(1)
	for i := 0; i < len(block); i++ {
		sum ^= gfMul(byte(strings.IndexByte(b32Alphabet, block[i])), w)
		w = gfMul(w, 2)
	}
	// check · w + sum = 0  ⇒  check = sum / w
	return int(gfMul(sum, gfInv(w)))
}

const gfPoly = 0x25 // x⁵ + x² + 1, primitive

func gfMul(a, b byte) byte {
	var p byte
	for b > 0 {
		if b&1 != 0 {
			p ^= a
		}
		b >>= 1
		a <<= 1
		if a&0x20 != 0 {
			a ^= gfPoly
		}
	}
	return p
}

func gfInv(a byte) byte {
	// a³¹ = 1 in GF(32), so a⁻¹ = a³⁰.
	r := byte(1)
	for i := 0; i < 30; i++ {
		r = gfMul(r, a)
	}
	return r
}
