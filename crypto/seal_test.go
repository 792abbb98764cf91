package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

// fastKDF keeps tests quick; production uses DefaultKDFParams.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func TestSealRoundTrip(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, SecretSize)
	sealed, err := Seal(secret, []byte("correct horse"), fastKDF, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret[:16]) {
		t.Fatal("sealed blob contains the secret in the clear")
	}
	got, err := Unseal(sealed, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, secret) {
		t.Fatal("unsealed secret differs")
	}
	p, err := SealedParams(sealed)
	if err != nil || p != fastKDF {
		t.Fatalf("SealedParams = %+v, %v; want %+v", p, err, fastKDF)
	}
}

func TestUnsealWrongPassphrase(t *testing.T) {
	sealed, err := Seal([]byte("secret"), []byte("right"), fastKDF, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"wrong", "", "right ", "Right"} {
		if _, err := Unseal(sealed, []byte(pass)); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("Unseal with %q: err = %v, want ErrWrongPassphrase", pass, err)
		}
	}
}

// Any flipped byte, header included, fails to open.
func TestUnsealEveryFlippedByte(t *testing.T) {
	sealed, err := Seal([]byte("a secret key"), []byte("pw"), fastKDF, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := Unseal(bad, []byte("pw")); err == nil {
			t.Fatalf("flipping byte %d still unsealed", i)
		}
	}
}

func TestUnsealRefusesCostlyOrMalformed(t *testing.T) {
	sealed, err := Seal([]byte("k"), []byte("pw"), fastKDF, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withParams := func(tm, mem uint32, th byte) []byte {
		b := bytes.Clone(sealed)
		off := len(sealMagic) + 1
		binary.BigEndian.PutUint32(b[off:], tm)
		binary.BigEndian.PutUint32(b[off+4:], mem)
		b[off+8] = th
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"memory above cap", withParams(1, MaxKDFMemoryKiB+1, 1), ErrKDFTooCostly},
		{"time above cap", withParams(MaxKDFTime+1, 64, 1), ErrKDFTooCostly},
		{"threads above cap", withParams(1, 1024, MaxKDFThreads+1), ErrKDFTooCostly},
		{"zero time", withParams(0, 64, 1), ErrSealedFormat},
		{"zero threads", withParams(1, 64, 0), ErrSealedFormat},
		{"empty", nil, ErrSealedFormat},
		{"truncated", sealed[:sealHeaderLen], ErrSealedFormat},
		{"not sealed", []byte("hello, this is not a sealed key at all, clearly not"), ErrSealedFormat},
		{"huge", make([]byte, MaxSealedSize+1), ErrSealedFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unseal(tt.in, []byte("pw")); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzUnseal(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "FuzzUnseal") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Must never panic nor accept costly parameters; "pw" is the seeds' passphrase.
		out, err := Unseal(b, []byte("pw"))
		if err != nil {
			return
		}
		p, err := SealedParams(b)
		if err != nil || p.Time > MaxKDFTime || p.MemoryKiB > MaxKDFMemoryKiB {
			t.Fatalf("unsealed with params %+v (%v)", p, err)
		}
		_ = out
	})
}
