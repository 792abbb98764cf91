package discovery

import (
	"net/netip"
	"sync"
	"time"
)

// How often the list of local subnets is read again: on schedule, and at
// most once per netsMissRefresh when a source is not on any known subnet
// (an interface may just have come up).
const (
	netsRefresh     = 10 * time.Second
	netsMissRefresh = time.Second
)

// netsCache caches localNets and refreshes it now and then.
type netsCache struct {
	mu       sync.Mutex
	list     func() ([]ifaceInfo, error)
	pinIface string
	pinAddr  netip.Addr
	nets     localNets
	at       time.Time
}

func newNetsCache(list func() ([]ifaceInfo, error), pinIface string, pinAddr netip.Addr) *netsCache {
	return &netsCache{list: list, pinIface: pinIface, pinAddr: pinAddr}
}

// contains reports whether src is on a local subnet at now.
func (c *netsCache) contains(src netip.Addr, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) >= netsRefresh {
		c.refreshLocked(now)
	}
	if c.nets.contains(src) {
		return true
	}
	if now.Sub(c.at) < netsMissRefresh {
		return false
	}
	c.refreshLocked(now)
	return c.nets.contains(src)
}

func (c *netsCache) refreshLocked(now time.Time) {
	c.at = now
	ifs, err := c.list()
	if err != nil {
		return // keep the last good list
	}
	c.nets = newLocalNets(ifs, c.pinIface, c.pinAddr)
}

// reset makes the next contains read the interfaces again.
func (c *netsCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = time.Time{}
}
