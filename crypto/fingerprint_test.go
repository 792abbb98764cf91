package crypto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// vectorKey is the identity key 00 01 02 ... 1f.
func vectorKey() IdentityKey {
	var k IdentityKey
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func TestFingerprintKnownAnswers(t *testing.T) {
	// The same vectors are in PROTOCOL.md; a change here is a protocol change.
	tests := []struct {
		name string
		key  IdentityKey
		want string
	}{
		{"key 00..1f", vectorKey(), readVector(t, "fingerprint-00-1f.txt")},
		{"key all 0xff", IdentityKey(bytes.Repeat([]byte{0xff}, 32)), readVector(t, "fingerprint-ff.txt")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FingerprintOf(tt.key).String()
			if got != tt.want {
				t.Fatalf("fingerprint = %s, want %s", got, tt.want)
			}
			if sum := sha256.Sum256(tt.key[:]); Fingerprint(sum) != FingerprintOf(tt.key) {
				t.Fatal("fingerprint is not the SHA-256 of the key")
			}
		})
	}
}

func readVector(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatalf("reading vector: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func TestFingerprintShape(t *testing.T) {
	s := FingerprintOf(vectorKey()).String()
	groups := strings.Split(s, "-")
	if len(groups) != 8 {
		t.Fatalf("%s: %d groups, want 8", s, len(groups))
	}
	for _, g := range groups {
		if len(g) != 7 {
			t.Fatalf("%s: group %q is not 7 characters", s, g)
		}
	}
	if short := FingerprintOf(vectorKey()).Short(); short != groups[0] {
		t.Fatalf("Short() = %q, want the first group %q", short, groups[0])
	}
}

func TestParseFingerprintAcceptsVariants(t *testing.T) {
	fp := FingerprintOf(vectorKey())
	s := fp.String()
	variants := map[string]string{
		"canonical":  s,
		"lower case": strings.ToLower(s),
		"no dashes":  strings.ReplaceAll(s, "-", ""),
		"spaces":     strings.ReplaceAll(s, "-", " "),
		"padded":     "  " + s + "\t",
		"0 for O":    strings.ReplaceAll(s, "O", "0"),
		"1 for I":    strings.ReplaceAll(s, "I", "1"),
		"8 for B":    strings.ReplaceAll(s, "B", "8"),
	}
	for name, in := range variants {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFingerprint(in)
			if err != nil {
				t.Fatalf("ParseFingerprint(%q): %v", in, err)
			}
			if got != fp {
				t.Fatalf("ParseFingerprint(%q) = %s, want %s", in, got, fp)
			}
		})
	}
}

func TestParseFingerprintRefuses(t *testing.T) {
	s := FingerprintOf(vectorKey()).String()
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrFingerprintEmpty},
		{"only dashes", "---", ErrFingerprintEmpty},
		{"short", s[:20], ErrFingerprintLength},
		{"one group missing", s[:len(s)-8], ErrFingerprintLength},
		{"one character extra", s + "A", ErrFingerprintLength},
		{"bad character", strings.Replace(s, s[:1], "!", 1), ErrFingerprintChar},
		{"digit 9", "9" + s[1:], ErrFingerprintChar},
		{"all zero", FingerprintOf(IdentityKey{}).String()[:0] + zeroFingerprintText(), ErrFingerprintZero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFingerprint(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseFingerprint(%q) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func zeroFingerprintText() string { return Fingerprint{}.String() }

// Every single substituted character and every swap of neighbours is caught,
// and the error names the block the typo is in.
func TestParseFingerprintCatchesEveryTypo(t *testing.T) {
	for _, key := range []IdentityKey{vectorKey(), {0xff, 1}, {7, 7, 7}} {
		plain := strings.ReplaceAll(FingerprintOf(key).String(), "-", "")
		for i := 0; i < len(plain); i++ {
			for _, c := range b32Alphabet {
				if byte(c) == plain[i] {
					continue
				}
				typo := plain[:i] + string(c) + plain[i+1:]
				if _, err := ParseFingerprint(typo); err == nil {
					t.Fatalf("substitution at %d (%c→%c) not caught", i, plain[i], c)
				} else if errors.Is(err, ErrFingerprintChecksum) && !strings.Contains(err.Error(), "characters") {
					t.Fatalf("typo error does not say where: %v", err)
				}
			}
			if i+1 < len(plain) && plain[i] != plain[i+1] {
				swapped := plain[:i] + string(plain[i+1]) + string(plain[i]) + plain[i+2:]
				if _, err := ParseFingerprint(swapped); err == nil {
					t.Fatalf("swap at %d,%d not caught", i, i+1)
				}
			}
		}
	}
}

func TestFingerprintTypoNamesItsGroup(t *testing.T) {
	plain := strings.ReplaceAll(FingerprintOf(vectorKey()).String(), "-", "")
	// Character 30 (1-based) is in block 3 (characters 29–42), groups 5–6.
	i := 29
	c := byte('A')
	if plain[i] == 'A' {
		c = 'B'
	}
	_, err := ParseFingerprint(plain[:i] + string(c) + plain[i+1:])
	if err == nil || !strings.Contains(err.Error(), "characters 29–42") || !strings.Contains(err.Error(), "groups 5–6") {
		t.Fatalf("error = %v, want it to name characters 29–42, groups 5–6", err)
	}
}

func TestFingerprintTextRoundTrip(t *testing.T) {
	fp := FingerprintOf(vectorKey())
	b, err := fp.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back Fingerprint
	if err := back.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	if back != fp {
		t.Fatalf("round trip = %s, want %s", back, fp)
	}
}

func FuzzParseFingerprint(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "FuzzParseFingerprint") {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		// Whatever parses has one canonical form that parses to the same value.
		again, err := ParseFingerprint(fp.String())
		if err != nil || again != fp {
			t.Fatalf("canonical form %s of %q does not round-trip: %v", fp, s, err)
		}
	})
}

// The remembered form is the formatted one, and stays so when the cache
// starts over.
func TestFingerprintStringCached(t *testing.T) {
	var f Fingerprint
	for i := range maxFPStrings + 10 {
		f[0], f[1] = byte(i), byte(i>>8)
		first := f.String()
		if first != f.format() || f.String() != first {
			t.Fatalf("fingerprint %d: String %q, format %q", i, first, f.format())
		}
	}
	if n := len(fpStrings.m); n > maxFPStrings {
		t.Fatalf("cache holds %d, bound %d", n, maxFPStrings)
	}
}
