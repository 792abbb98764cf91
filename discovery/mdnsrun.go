package discovery

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/discovery/mdns"
)

// netWatchInterval is how often the interfaces are read for changes.
const netWatchInterval = time.Second

// MDNSWanted reports whether a node with this config runs mDNS: not turned
// off, and discovery not pinned to loopback (a loopback-pinned node, as
// every test on a shared machine runs, opens no mDNS socket at all).
func (c Config) MDNSWanted() bool {
	if c.NoMDNS {
		return false
	}
	if c.Addr != "" {
		if a, err := netip.ParseAddr(c.Addr); err == nil && a.Unmap().IsLoopback() {
			return false
		}
	}
	if c.Iface != "" {
		ifs, err := systemInterfaces()
		if err == nil {
			for _, ifi := range ifs {
				if ifi.Name == c.Iface && ifi.Loopback {
					return false
				}
			}
		}
	}
	return true
}

// openMDNS opens the mDNS socket if mDNS is wanted; nil if not, or if the
// socket cannot be had (logged: beacons still work).
func (s *Service) openMDNS(ctx context.Context) *mdns.Node {
	if !s.cfg.MDNSWanted() {
		return nil
	}
	nick := ""
	if s.cfg.AnnounceNickname {
		nick = s.cfg.Nickname
	}
	md := mdns.New(mdns.Config{
		Service:    mdnsService(s.key, s.cfg.TCPPort, nick),
		BrowseOnly: s.cfg.TCPPort == 0, // takes no links (lanchat peers): nothing to advertise
		Ifaces:     s.mdnsIfaces,
		Allow: func(src netip.Addr) bool {
			s.st.mdnsReceived.Add(1)
			now := s.now()
			return s.nets.contains(src, now) && s.mdnsLimiter.allow(src, now)
		},
		Found: s.mdnsFound,
		Logf:  s.cfg.Logf,
	})
	if err := md.Open(ctx); err != nil {
		s.cfg.Logf("discovery: no mDNS (beacons only): %v", err)
		return nil
	}
	s.mdns.Store(md)
	s.st.mdnsOn.Store(true)
	return md
}

// mdnsIfaces are the interfaces mDNS joins the group on: up, multicast,
// not loopback or point-to-point, with an IPv4 address; only the pinned
// one with Iface, only those on Addr's subnet with Addr.
func (s *Service) mdnsIfaces() ([]mdns.Iface, error) {
	ifs, err := systemInterfaces()
	if err != nil {
		return nil, err
	}
	return mdnsIfacesOf(ifs, s.cfg.Iface, s.pinAddr), nil
}

func mdnsIfacesOf(ifs []ifaceInfo, pinIface string, pinAddr netip.Addr) []mdns.Iface {
	var out []mdns.Iface
	for _, ifi := range selectIfaces(ifs, pinIface) {
		if ifi.Loopback || ifi.P2P || !ifi.Mcast {
			continue
		}
		var addrs []netip.Addr
		onPin := !pinAddr.IsValid()
		for _, p := range ifi.Prefixes {
			if p.Addr().Is4() {
				addrs = append(addrs, p.Addr())
				onPin = onPin || p.Contains(pinAddr.WithZone("")) || pinAddr == netip.AddrFrom4([4]byte{255, 255, 255, 255})
			}
		}
		if len(addrs) > 0 && onPin {
			slices.SortFunc(addrs, netip.Addr.Compare)
			out = append(out, mdns.Iface{Index: ifi.Index, Name: ifi.Name, Addrs: addrs})
		}
	}
	return out
}

// mdnsFound enters an instance record heard by mDNS: like a beacon, it
// only ever suggests a dial, at the datagram's source IP with the SRV port.
func (s *Service) mdnsFound(src netip.AddrPort, in mdns.Instance) {
	key, ok := parseMDNSTXT(in.TXT) // a goodbye without TXT is left to expire
	if !ok || key == s.key {
		return // malformed, a newer version's, or our own (looped back)
	}
	now := s.now()
	s.st.mdnsAccepted.Add(1)
	s.st.lastMDNS.Store(now.UnixNano())
	ev, ok := s.mdnsTab.apply(key, netip.AddrPortFrom(src.Addr(), in.Port), in.TTL, now)
	if !ok {
		return
	}
	s.events.emit(ev)
	if ev.Kind == Appeared {
		s.Announce() // the newcomer may hear beacons too: let it see ours now
		if md := s.mdns.Load(); md != nil {
			md.Announce()
		}
	}
}

// watchNetwork reads the interfaces every netWatchInterval and, when they
// change (an interface came or went, an address changed), logs it once,
// rereads the local subnets, sends an early beacon and has mDNS join and
// announce on the new ones.
func (s *Service) watchNetwork(ctx context.Context) {
	t := time.NewTicker(netWatchInterval)
	defer t.Stop()
	last := netSnapshot()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := netSnapshot()
		if now == nil || slices.Equal(now, last) {
			continue
		}
		added, removed := diffSorted(last, now)
		last = now
		s.st.netChanges.Add(1)
		s.cfg.Logf("discovery: network changed (%s); announcing again", describeChange(added, removed))
		s.nets.reset()
		s.Announce()
		if md := s.mdns.Load(); md != nil {
			md.Refresh()
		}
	}
}

// netSnapshot lists "name address/bits" of every up interface, sorted; nil
// if the interfaces cannot be read.
func netSnapshot() []string {
	ifs, err := systemInterfaces()
	if err != nil {
		return nil
	}
	out := []string{}
	for _, ifi := range ifs {
		if !ifi.Up {
			continue
		}
		for _, p := range ifi.Prefixes {
			out = append(out, ifi.Name+" "+p.String())
		}
	}
	slices.Sort(out)
	return out
}

func diffSorted(a, b []string) (added, removed []string) {
	for _, x := range b {
		if _, ok := slices.BinarySearch(a, x); !ok {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			removed = append(removed, x)
		}
	}
	return added, removed
}

func describeChange(added, removed []string) string {
	var parts []string
	for _, x := range added {
		parts = append(parts, "+"+x)
	}
	for _, x := range removed {
		parts = append(parts, "-"+x)
	}
	return strings.Join(parts, ", ")
}
