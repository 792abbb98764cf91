package session

import (
	"bytes"
	"testing"

	"github.com/flynn/noise"
)

// TestChaChaPolyMatchesFlynn: our cipher seals and opens exactly as
// flynn/noise's CipherChaChaPoly, across nonces, sizes and a rekey, and
// refuses what it refuses.
func TestChaChaPolyMatchesFlynn(t *testing.T) {
	key := [32]byte{1, 2, 3}
	ours := noise.UnsafeNewCipherState(noise.NewCipherSuite(noise.DH25519, chachaPoly{}, noise.HashSHA256), key, 0)
	theirs := noise.UnsafeNewCipherState(noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashSHA256), key, 0)
	back := noise.UnsafeNewCipherState(noise.NewCipherSuite(noise.DH25519, chachaPoly{}, noise.HashSHA256), key, 0)
	for i, size := range []int{0, 1, 15, 16, 17, 100, 4096, MaxPlaintext} {
		if i == 4 {
			ours.Rekey()
			theirs.Rekey()
			back.Rekey()
		}
		plain := seq(i, size)
		ad := seq(i+50, i)
		got, err := ours.Encrypt(nil, ad, plain)
		if err != nil {
			t.Fatal(err)
		}
		want, err := theirs.Encrypt(nil, ad, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: ciphertext differs from flynn/noise's", size)
		}
		tampered := bytes.Clone(got)
		tampered[len(tampered)/2] ^= 1
		if _, err := back.Decrypt(nil, ad, tampered); err == nil {
			t.Fatalf("size %d: a flipped bit was accepted", size)
		}
		// A failed open leaves the nonce where it was: the genuine message still opens.
		opened, err := back.Decrypt(nil, ad, got)
		if err != nil || !bytes.Equal(opened, plain) {
			t.Fatalf("size %d: open = %v", size, err)
		}
	}
}

// TestChaChaPolyAllocatesNothing: sealing and opening into a buffer that is
// large enough allocate nothing (flynn/noise's cipher allocates a nonce per
// message).
func TestChaChaPolyAllocatesNothing(t *testing.T) {
	suite := noise.NewCipherSuite(noise.DH25519, chachaPoly{}, noise.HashSHA256)
	tx := noise.UnsafeNewCipherState(suite, [32]byte{9}, 0)
	rx := noise.UnsafeNewCipherState(suite, [32]byte{9}, 0)
	plain := seq(3, 100)
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(1000, func() {
		ct, err := tx.Encrypt(buf[:0], nil, plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rx.Decrypt(ct[:0], nil, ct); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per seal and open, want 0", allocs)
	}
}
