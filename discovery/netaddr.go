package discovery

import (
	"fmt"
	"net"
	"net/netip"
)

// ifaceInfo is what discovery needs to know about one network interface.
type ifaceInfo struct {
	Name     string
	Index    int
	Up       bool
	Loopback bool
	Bcast    bool // has IPv4 broadcast
	Mcast    bool
	P2P      bool           // point-to-point (VPN tunnels: tun, wg, ppp)
	Prefixes []netip.Prefix // the interface's addresses with their masks
}

// systemInterfaces lists the host's interfaces.
func systemInterfaces() ([]ifaceInfo, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]ifaceInfo, 0, len(ifs))
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue // an interface that vanished meanwhile
		}
		info := ifaceInfo{
			Name: ifi.Name, Index: ifi.Index, Up: ifi.Flags&net.FlagUp != 0, Loopback: ifi.Flags&net.FlagLoopback != 0,
			Bcast: ifi.Flags&net.FlagBroadcast != 0, Mcast: ifi.Flags&net.FlagMulticast != 0,
			P2P: ifi.Flags&net.FlagPointToPoint != 0,
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if p, ok := prefixOf(ipn); ok {
					info.Prefixes = append(info.Prefixes, p)
				}
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func prefixOf(ipn *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ipn.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := ipn.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// BroadcastOf returns the directed broadcast address of an IPv4 prefix.
// Point-to-point and host prefixes (/31, /32) have none.
func BroadcastOf(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Addr{}, false
	}
	a := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	for i := range 4 {
		a[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(a), true
}

// selectIfaces returns the interfaces discovery uses: up, and the pinned one
// if pinIface is set.
func selectIfaces(ifs []ifaceInfo, pinIface string) []ifaceInfo {
	var out []ifaceInfo
	for _, ifi := range ifs {
		if ifi.Up && (pinIface == "" || ifi.Name == pinIface) {
			out = append(out, ifi)
		}
	}
	return out
}

// targets returns where beacons go. With pinAddr valid, only there. Else,
// per selected interface: the directed broadcast address of each IPv4
// prefix (on interfaces that have broadcast; a loopback interface only if
// pinned by name), or, on interfaces without IPv4, the IPv6 group.
func targets(ifs []ifaceInfo, pinIface string, pinAddr netip.Addr, port uint16) []netip.AddrPort {
	if pinAddr.IsValid() {
		return []netip.AddrPort{netip.AddrPortFrom(pinAddr, port)}
	}
	group := netip.MustParseAddr(IPv6Group)
	var out []netip.AddrPort
	for _, ifi := range selectIfaces(ifs, pinIface) {
		if ifi.Loopback && pinIface == "" {
			continue
		}
		has4 := false
		for _, p := range ifi.Prefixes {
			if !p.Addr().Is4() {
				continue
			}
			has4 = true
			if b, ok := BroadcastOf(p); ok && (ifi.Bcast || ifi.Loopback) {
				out = append(out, netip.AddrPortFrom(b, port))
			}
		}
		if !has4 && ifi.Mcast && hasIPv6(ifi) {
			out = append(out, netip.AddrPortFrom(group.WithZone(ifi.Name), port))
		}
	}
	return out
}

func hasIPv6(ifi ifaceInfo) bool {
	for _, p := range ifi.Prefixes {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}

// localNets is the set of on-link sources: the subnets of the selected
// interfaces, and IPv6 link-local addresses zoned to one of them.
type localNets struct {
	prefixes []netip.Prefix
	zones    map[string]bool
}

// newLocalNets selects the subnets beacons are accepted from. With pinAddr
// set, only the subnets that contain it (127.0.0.0/8 for 127.255.255.255);
// if none does, those of every up interface.
func newLocalNets(ifs []ifaceInfo, pinIface string, pinAddr netip.Addr) localNets {
	sel := selectIfaces(ifs, pinIface)
	if pinAddr.IsValid() {
		sel = ifacesContaining(selectIfaces(ifs, ""), pinAddr.WithZone(""))
		if len(sel) == 0 {
			sel = selectIfaces(ifs, "")
		}
	}
	ln := localNets{zones: make(map[string]bool)}
	for _, ifi := range sel {
		ln.zones[ifi.Name] = true
		for _, p := range ifi.Prefixes {
			ln.prefixes = append(ln.prefixes, p.Masked())
		}
	}
	return ln
}

func ifacesContaining(ifs []ifaceInfo, a netip.Addr) []ifaceInfo {
	var out []ifaceInfo
	for _, ifi := range ifs {
		for _, p := range ifi.Prefixes {
			if p.Contains(a) {
				out = append(out, ifi)
				break
			}
		}
	}
	return out
}

// contains reports whether src is on one of the local subnets.
func (ln localNets) contains(src netip.Addr) bool {
	src = src.Unmap()
	if src.Is6() && src.IsLinkLocalUnicast() {
		return ln.zones[src.Zone()]
	}
	for _, p := range ln.prefixes {
		if p.Contains(src) {
			return true
		}
	}
	return false
}
