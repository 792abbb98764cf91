package crypto

import "sync"

// fpStrings remembers the formatted fingerprints of the keys a node meets
// (few: its peers and the authors of its rooms). Formatting one costs a
// base32 encoding and eight check characters, and the receive path shows
// an author's fingerprint with every message.
var fpStrings = fpCache{m: map[Fingerprint]string{}}

// maxFPStrings bounds the cache; when it is full it starts over.
const maxFPStrings = 4096

type fpCache struct {
	mu sync.RWMutex
	m  map[Fingerprint]string
}

func (c *fpCache) get(f Fingerprint) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[f]
	return s, ok
}

func (c *fpCache) add(f Fingerprint, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxFPStrings {
		clear(c.m)
	}
	c.m[f] = s
}
