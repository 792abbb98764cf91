package discovery

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanchat/lanchat/discovery/mdns"
)

// The TXT record carries the identity key, checked against the
// fingerprint when one is given; anything else is refused.
func TestParseMDNSTXT(t *testing.T) {
	key := testIdentity(t, 1).Public()
	other := testIdentity(t, 2).Public()
	hexKey := hex.EncodeToString(key[:])
	for _, tc := range []struct {
		name string
		txt  []string
		ok   bool
	}{
		{"as advertised", mdnsService(key, 1, "").TXT, true},
		{"no fp", []string{"v=1", "key=" + hexKey}, true},
		{"keys in capitals, unknown keys", []string{"V=1", "KEY=" + hexKey, "future=yes"}, true},
		{"fp of another key", []string{"v=1", "key=" + hexKey, "fp=" + other.Fingerprint().String()}, false},
		{"version 2", []string{"v=2", "key=" + hexKey}, false},
		{"no version", []string{"key=" + hexKey}, false},
		{"short key", []string{"v=1", "key=" + hexKey[:62]}, false},
		{"not hex", []string{"v=1", "key=" + hexKey[:62] + "zz"}, false},
		{"empty", nil, false},
	} {
		got, ok := parseMDNSTXT(tc.txt)
		if ok != tc.ok || (ok && got != key) {
			t.Errorf("%s: got %v, %v; want ok=%v", tc.name, got, ok, tc.ok)
		}
	}
}

// A peer heard by mDNS is a suggestion with its own table: it appears,
// moves, says goodbye (only for the address it is at) and expires with its
// TTL; a peer heard by beacon is never touched by it.
func TestMDNSTable(t *testing.T) {
	tab := newMDNSTable(2)
	k1, k2, k3 := testIdentity(t, 1).Public(), testIdentity(t, 2).Public(), testIdentity(t, 3).Public()
	a := netip.MustParseAddrPort("10.0.0.2:47101")
	b := netip.MustParseAddrPort("10.0.0.3:47101")
	now := time.Unix(1000, 0)
	if ev, ok := tab.apply(k1, a, 120, now); !ok || ev.Kind != Appeared || !ev.Peer.MDNS {
		t.Fatalf("first record: %+v %v", ev, ok)
	}
	if _, ok := tab.apply(k1, a, 120, now.Add(time.Second)); ok {
		t.Fatal("a refresh made an event")
	}
	if ev, ok := tab.apply(k1, b, 120, now); !ok || ev.Kind != AddressChanged || ev.Peer.Addr != b {
		t.Fatalf("moved: %+v %v", ev, ok)
	}
	if _, ok := tab.apply(k1, a, 0, now); ok {
		t.Fatal("a goodbye for the old address removed the peer")
	}
	tab.apply(k2, a, 120, now)
	if _, ok := tab.apply(k3, a, 120, now); ok {
		t.Fatal("table over its bound")
	}
	if ev, ok := tab.apply(k1, b, 0, now); !ok || ev.Kind != Left {
		t.Fatalf("goodbye: %+v %v", ev, ok)
	}
	evs := tab.sweep(now.Add(121 * time.Second))
	if len(evs) != 1 || evs[0].Kind != Expired || evs[0].Peer.Key != k2 {
		t.Fatalf("sweep after the TTL: %+v", evs)
	}
}

// Loopback-pinned configs (every test on a shared machine) run no mDNS.
func TestMDNSWanted(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want bool
	}{
		{func(*Config) {}, true},
		{func(c *Config) { c.NoMDNS = true }, false},
		{func(c *Config) { c.Addr = "127.255.255.255" }, false},
		{func(c *Config) { c.Addr = "::1" }, false},
		{func(c *Config) { c.Iface = "lo" }, false},
		{func(c *Config) { c.Addr = "10.1.2.255" }, true},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if got := c.MDNSWanted(); got != tc.want {
			t.Errorf("%+v: MDNSWanted %v, want %v", c, got, tc.want)
		}
	}
}

func TestMDNSIfaces(t *testing.T) {
	ifs := []ifaceInfo{
		{Name: "lo", Index: 1, Up: true, Loopback: true, Mcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "eth0", Index: 2, Up: true, Bcast: true, Mcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24")}},
		{Name: "tun0", Index: 3, Up: true, Mcast: true, P2P: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.8.0.2/32")}},
		{Name: "eth1", Index: 4, Up: false, Mcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.2/24")}},
		{Name: "v6", Index: 5, Up: true, Mcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("fe80::1/64")}},
	}
	got := mdnsIfacesOf(ifs, "", netip.Addr{})
	if len(got) != 1 || got[0].Name != "eth0" || got[0].Addrs[0] != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("unpinned: %+v, want eth0 only", got)
	}
	if got := mdnsIfacesOf(ifs, "", netip.MustParseAddr("10.1.0.255")); len(got) != 0 {
		t.Fatalf("pinned to a subnet of no up interface: %+v", got)
	}
	if got := mdnsIfacesOf(ifs, "", netip.MustParseAddr("10.0.0.255")); len(got) != 1 {
		t.Fatalf("pinned to eth0's broadcast: %+v", got)
	}
}

// TestMDNSVector: the announcement of the vector identity (PROTOCOL.md
// 2.1), link port 47101, address 10.0.0.7, byte for byte; it parses back to
// that key and port.
func TestMDNSVector(t *testing.T) {
	key := vectorIdentity(t).Public()
	got, err := mdnsService(key, 47101, "").Response(mdns.RecAll, 0, []netip.Addr{netip.MustParseAddr("10.0.0.7")}, mdns.TTL)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "vectors", "mdns-announce.hex")
	if *update {
		writeFile(t, path, []byte(hex.EncodeToString(got)+"\n"))
	}
	want := readHex(t, path)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
	}
	if !protocolVectors(t)[hex.EncodeToString(want)] {
		t.Error("PROTOCOL.md does not show the vector mdns-announce.hex")
	}
	m, err := mdns.Parse(want, MDNSService+".local.")
	if err != nil || len(m.Instances) != 1 {
		t.Fatalf("Parse: %+v, %v", m, err)
	}
	if k, ok := parseMDNSTXT(m.Instances[0].TXT); !ok || k != key || m.Instances[0].Port != 47101 {
		t.Fatalf("parsed %+v", m.Instances[0])
	}
}
