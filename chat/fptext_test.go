package chat

import (
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// TestFingerprintTextCache: the cached text is the fingerprint's own, for
// every key, also after the cache filled up and started over.
func TestFingerprintTextCache(t *testing.T) {
	var c fpTexts
	for i := range fpTextMax + 10 {
		var key lcrypto.IdentityKey
		key[0], key[1], key[31] = byte(i), byte(i>>8), 7
		for range 2 { // computed, then cached
			full, short := c.of(key)
			fp := key.Fingerprint()
			if full != fp.String() || short != fp.Short() {
				t.Fatalf("key %d: cached %q %q, want %q %q", i, full, short, fp.String(), fp.Short())
			}
		}
	}
	if n := len(c.m); n > fpTextMax {
		t.Fatalf("cache holds %d keys, bound %d", n, fpTextMax)
	}
}
