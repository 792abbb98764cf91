package chat

import (
	"sync"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// fpTextMax bounds the fingerprints a node keeps the text of (it starts
// over when full): every author of a shown message needs its own.
const fpTextMax = 4096

// fpTexts caches the text forms of identity keys' fingerprints: hashing a
// key and computing a fingerprint's check characters costs microseconds,
// and every shown message names its author (and checks the body for the
// node's own short fingerprint).
type fpTexts struct {
	mu sync.Mutex
	m  map[lcrypto.IdentityKey]fpText
}

type fpText struct{ full, short string }

// of returns key's fingerprint as text, in full and short.
func (c *fpTexts) of(key lcrypto.IdentityKey) (full, short string) {
	c.mu.Lock()
	t, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return t.full, t.short
	}
	fp := key.Fingerprint()
	t = fpText{full: fp.String(), short: fp.Short()}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= fpTextMax {
		c.m = map[lcrypto.IdentityKey]fpText{}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t.full, t.short
}
