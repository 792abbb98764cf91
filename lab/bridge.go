//go:build linux

package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// maxHostsPerBridge is how many addresses a /24 hands out (.1 to .254).
const maxHostsPerBridge = 254

// A Bridge is one broadcast domain: a Linux bridge in the lab's switch
// namespace with its own /24. Hosts cabled into it share the subnet.
type Bridge struct {
	lab    *Lab
	Name   string       // the bridge device in the switch namespace: br0, br1, ...
	Subnet netip.Prefix // e.g. 10.77.3.0/24
	last   int          // the last host number handed out
}

// Bridge creates a new bridge with the lab's next free /24.
func (l *Lab) Bridge() *Bridge {
	l.t.Helper()
	b, err := l.addBridge()
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

func (l *Lab) addBridge() (*Bridge, error) {
	l.mu.Lock()
	i := len(l.bridges)
	if i >= maxBridges {
		l.mu.Unlock()
		return nil, fmt.Errorf("lab: at most %d bridges", maxBridges)
	}
	b := &Bridge{lab: l, Name: fmt.Sprintf("br%d", i), Subnet: l.subnet(i)}
	l.bridges = append(l.bridges, b)
	l.mu.Unlock()
	if err := ipIn(l.sw, "link", "add", b.Name, "type", "bridge", "stp_state", "0"); err != nil {
		return nil, err
	}
	return b, ipIn(l.sw, "link", "set", b.Name, "up")
}

// Broadcast returns the subnet's broadcast address (x.y.z.255).
func (b *Bridge) Broadcast() netip.Addr {
	a := b.Subnet.Addr().As4()
	a[3] = 255
	return netip.AddrFrom4(a)
}

// nextAddr hands out the next host address of the subnet.
func (b *Bridge) nextAddr() (netip.Prefix, error) {
	b.lab.mu.Lock()
	defer b.lab.mu.Unlock()
	if b.last >= maxHostsPerBridge {
		return netip.Prefix{}, fmt.Errorf("lab: bridge %s is full", b.Name)
	}
	b.last++
	a := b.Subnet.Addr().As4()
	a[3] = byte(b.last)
	return netip.PrefixFrom(netip.AddrFrom4(a), b.Subnet.Bits()), nil
}

// Ports returns the names of the interfaces attached to the bridge in the
// switch namespace, whoever attached them.
func (b *Bridge) Ports() ([]string, error) {
	out, err := ipCmd("-n", b.lab.sw, "-j", "link", "show", "master", b.Name)
	if err != nil {
		return nil, err
	}
	var links []struct {
		Name string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("lab: ports of %s: %w", b.Name, err)
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.Name
	}
	return names, nil
}
