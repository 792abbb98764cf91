package main

import (
	"fmt"
	"github.com/lanchat/lanchat/discovery"
	"io"
	"net"
	"net/netip"
)

// usable checks, before discovery starts, that it can work here, and says
// so without -v when it cannot: a --discovery-iface that does not exist and
// a --discovery-addr that is no broadcast address here are errors; an
// interface that is down, or no interface to beacon on at all are warnings
// (links to --peer addresses still work).
func (f *discoveryFlags) usable(stderr io.Writer) error {
	if f.noDiscovery {
		return nil
	}
	ifs, err := localInterfaces()
	if err != nil {
		return fmt.Errorf("discovery: listing network interfaces: %w", err)
	}
	if f.iface != "" {
		ifi, ok := ifs[f.iface]
		if !ok {
			return withHint(fmt.Errorf("--discovery-iface %s: there is no network interface by that name", f.iface),
				"list the interfaces with: ip link (or leave --discovery-iface out to use every one)")
		}
		if ifi.Flags&net.FlagUp == 0 {
			warnDiscovery(stderr, fmt.Sprintf("--discovery-iface %s is down: no beacons go out and none come in", f.iface),
				"bring it up (ip link set "+f.iface+" up) or pick another --discovery-iface")
		}
	}
	if f.addr != "" {
		addr, _ := netip.ParseAddr(f.addr) // check has parsed it
		if !isBroadcast(addr.Unmap(), ifs) {
			return usageErrorf("use the broadcast address of your network (ip -4 addr shows it after \"brd\"), 255.255.255.255, or 127.255.255.255 for this machine only; to reach one host, use --peer HOST:PORT",
				"--discovery-addr %s is not a broadcast address of any interface here: beacons would reach at most that one host", f.addr)
		}
		return nil
	}
	if !canBeacon(ifs, f.iface) {
		warnDiscovery(stderr, "no network interface here can send beacons (none is up with a broadcast or IPv6 address): nobody will find you",
			"connect to a network, or link directly with --peer HOST:PORT")
	}
	return nil
}

func warnDiscovery(w io.Writer, what, hint string) {
	warnf(w, "%s", what)
	fmt.Fprintf(w, "lanchat: hint: %s\n", hint)
}

// iface is one local interface and its address prefixes.
type iface struct {
	net.Interface
	prefixes []netip.Prefix
}

func localInterfaces() (map[string]iface, error) {
	list, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make(map[string]iface, len(list))
	for _, ifi := range list {
		x := iface{Interface: ifi}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(n.IP)
				bits, _ := n.Mask.Size()
				x.prefixes = append(x.prefixes, netip.PrefixFrom(ip.Unmap(), bits))
			}
		}
		out[ifi.Name] = x
	}
	return out, nil
}

// isBroadcast: the limited broadcast, an IPv6 multicast group, or the
// directed broadcast address of a local IPv4 prefix.
func isBroadcast(a netip.Addr, ifs map[string]iface) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || (a.Is6() && a.IsMulticast()) {
		return true
	}
	for _, ifi := range ifs {
		for _, p := range ifi.prefixes {
			if b, ok := discovery.BroadcastOf(p); ok && b == a {
				return true
			}
		}
	}
	return false
}

// canBeacon mirrors where discovery sends beacons (discovery/netaddr.go
// targets): an up interface (loopback only when pinned) with an IPv4
// prefix that has a broadcast address, or with IPv6 and multicast.
func canBeacon(ifs map[string]iface, pin string) bool {
	for name, ifi := range ifs {
		if (pin != "" && name != pin) || ifi.Flags&net.FlagUp == 0 || (ifi.Flags&net.FlagLoopback != 0 && pin == "") {
			continue
		}
		has4, has6 := false, false
		for _, p := range ifi.prefixes {
			if p.Addr().Is4() {
				has4 = true
				if _, ok := discovery.BroadcastOf(p); ok && ifi.Flags&(net.FlagBroadcast|net.FlagLoopback) != 0 {
					return true
				}
			} else {
				has6 = true
			}
		}
		if !has4 && has6 && ifi.Flags&net.FlagMulticast != 0 {
			return true
		}
	}
	return false
}
