package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/discovery"
)

// discoveryFlags are the flags of every command that runs discovery or a
// node (chat, send, peers). Defaults come from the packages' DefaultConfig.
type discoveryFlags struct {
	iface        string
	addr         string
	beaconPort   int
	interval     time.Duration
	port         int
	peers        []string
	noDiscovery  bool
	announceNick bool
	noMDNS       bool
	listen       string
}

// envDiscoveryAddr, when set, is the default of --discovery-addr: a way to
// keep every lanchat of a shell (or a test suite) on one address, e.g.
// 127.255.255.255, even when a command line forgets the flag.
const envDiscoveryAddr = "LANCHAT_DISCOVERY_ADDR"

func addDiscoveryFlags(fs *pflag.FlagSet, getenv func(string) string) *discoveryFlags {
	d := discovery.DefaultConfig()
	f := &discoveryFlags{}
	fs.StringVar(&f.iface, "discovery-iface", "", "announce and listen only on this network interface (default: every interface that can broadcast)")
	fs.StringVar(&f.addr, "discovery-addr", getenv(envDiscoveryAddr),
		"send beacons only to this broadcast address, e.g. 127.255.255.255 to stay on this machine (default $"+envDiscoveryAddr+")")
	fs.IntVar(&f.beaconPort, "beacon-port", d.Port, "UDP port of the beacons (the same on every machine)")
	fs.DurationVar(&f.interval, "beacon-interval", d.Interval, "time between beacons")
	fs.IntVar(&f.port, "port", control.DefaultPort, "TCP port for links from peers (0: any free port)")
	fs.StringArrayVar(&f.peers, "peer", nil, "also link to HOST:PORT, for networks where broadcast does not pass (repeatable)")
	fs.BoolVar(&f.noDiscovery, "no-discovery", false, "send and hear no beacons; link only to --peer addresses")
	fs.BoolVar(&f.announceNick, "announce-nick", false, "put your nickname in beacons, where anyone on the network can read it")
	fs.BoolVar(&f.noMDNS, "no-mdns", false, "do not advertise or browse _lanchat._tcp by multicast DNS (off anyway when --discovery-addr is a loopback address)")
	fs.StringVar(&f.listen, "listen", "", "take links only on this local IP address, e.g. 127.0.0.1 to stay on this machine (default: every address; the port is --port)")
	return f
}

// check validates the flags (a usage error names the flag).
func (f *discoveryFlags) check(cmd string) error {
	bad := func(flag, why string) error {
		return usageErrorf("run: lanchat "+cmd+" --help", "%s: --%s: %s", cmd, flag, why)
	}
	if f.addr != "" {
		if _, err := netip.ParseAddr(f.addr); err != nil {
			return bad("discovery-addr", "not an IP address")
		}
	}
	if f.listen != "" {
		if _, err := netip.ParseAddr(f.listen); err != nil {
			return bad("listen", fmt.Sprintf("%q is not an IP address (give the port with --port)", f.listen))
		}
	}
	if f.beaconPort <= 0 || f.beaconPort > 65535 {
		return bad("beacon-port", "not a port number")
	}
	if f.port < 0 || f.port > 65535 {
		return bad("port", "not a port number")
	}
	if f.interval < 100*time.Millisecond {
		return bad("beacon-interval", "less than 100ms")
	}
	for _, p := range f.peers {
		host, port, err := net.SplitHostPort(p)
		if err != nil || host == "" {
			return bad("peer", fmt.Sprintf("%q is not HOST:PORT", p))
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return bad("peer", fmt.Sprintf("%q has no valid port", p))
		}
	}
	if f.noDiscovery && len(f.peers) == 0 {
		return bad("no-discovery", "with no --peer there is nobody to link to")
	}
	return nil
}

// apply sets the discovery part of a node's configuration.
func (f *discoveryFlags) apply(cfg *control.NodeConfig) {
	cfg.Discovery.Iface = f.iface
	cfg.Discovery.Addr = f.addr
	cfg.Discovery.Port = f.beaconPort
	cfg.Discovery.Interval = f.interval
	cfg.Discovery.AnnounceNickname = f.announceNick
	cfg.Discovery.Nickname = cfg.Nickname
	cfg.Discovery.NoMDNS = f.noMDNS
	cfg.ListenAddr = net.JoinHostPort(f.listen, strconv.Itoa(f.port))
	cfg.StaticPeers = f.peers
	cfg.NoDiscovery = f.noDiscovery
}
