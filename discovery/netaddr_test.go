package discovery

import (
	"net/netip"
	"slices"
	"testing"
)

func TestBroadcastOf(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.7/24": "192.168.1.255", "10.0.0.1/8": "10.255.255.255", "127.0.0.1/8": "127.255.255.255",
		"172.16.5.4/20": "172.16.15.255", "10.0.0.1/30": "10.0.0.3", "10.0.0.1/31": "", "10.0.0.1/32": "",
		"fe80::1/64": "",
	} {
		got, ok := BroadcastOf(netip.MustParsePrefix(in))
		if (want == "") == ok || ok && got.String() != want {
			t.Errorf("BroadcastOf(%s) = %v, %v; want %q", in, got, ok, want)
		}
	}
}

func testIfaces() []ifaceInfo {
	p := netip.MustParsePrefix
	return []ifaceInfo{
		{Name: "lo", Index: 1, Up: true, Loopback: true, Prefixes: []netip.Prefix{p("127.0.0.1/8"), p("::1/128")}},
		{Name: "eth0", Index: 2, Up: true, Bcast: true, Mcast: true, Prefixes: []netip.Prefix{p("192.168.1.7/24"), p("fe80::1/64")}},
		{Name: "eth1", Index: 3, Up: true, Bcast: true, Mcast: true, Prefixes: []netip.Prefix{p("10.0.0.2/16"), p("10.1.0.2/24")}},
		{Name: "v6only", Index: 4, Up: true, Mcast: true, Prefixes: []netip.Prefix{p("fe80::4/64"), p("fd00::4/64")}},
		{Name: "down0", Index: 5, Bcast: true, Prefixes: []netip.Prefix{p("172.16.0.1/24")}},
		{Name: "ptp0", Index: 6, Up: true, Prefixes: []netip.Prefix{p("100.64.0.1/32")}},
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name  string
		iface string
		addr  string
		want  []string
	}{
		{"every interface", "", "", []string{"192.168.1.255:9", "10.0.255.255:9", "10.1.0.255:9", "[ff12::6c63:6174%v6only]:9"}},
		{"pinned interface", "eth1", "", []string{"10.0.255.255:9", "10.1.0.255:9"}},
		{"pinned loopback", "lo", "", []string{"127.255.255.255:9"}},
		{"pinned down interface", "down0", "", nil},
		{"pinned address wins", "eth0", "127.255.255.255", []string{"127.255.255.255:9"}},
		{"pinned IPv6 group", "", "ff12::6c63:6174%eth0", []string{"[ff12::6c63:6174%eth0]:9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pin netip.Addr
			if tc.addr != "" {
				pin = netip.MustParseAddr(tc.addr)
			}
			var got []string
			for _, a := range targets(testIfaces(), tc.iface, pin, 9) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("targets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLocalNets(t *testing.T) {
	tests := []struct {
		name   string
		iface  string
		addr   string
		accept []string
		refuse []string
	}{
		{"all interfaces", "", "",
			[]string{"192.168.1.200", "10.0.9.9", "127.0.0.1", "fe80::9%eth0", "fd00::77", "::ffff:192.168.1.3"},
			[]string{"192.168.2.1", "172.16.0.2", "8.8.8.8", "fe80::9%nowhere", "fe80::9", "2001:db8::1"}},
		{"pinned to loopback broadcast", "", "127.255.255.255",
			[]string{"127.0.0.1", "127.0.0.2"},
			[]string{"192.168.1.200", "10.0.9.9", "fe80::9%eth0"}},
		{"pinned to eth0's broadcast", "", "192.168.1.255",
			[]string{"192.168.1.200", "fe80::9%eth0"},
			[]string{"127.0.0.1", "10.0.9.9"}},
		{"pinned interface", "eth1", "",
			[]string{"10.0.9.9", "10.1.0.77"},
			[]string{"192.168.1.200", "127.0.0.1", "fe80::9%eth0"}},
		{"pinned limited broadcast: every subnet", "", "255.255.255.255",
			[]string{"192.168.1.200", "10.0.9.9", "127.0.0.1"},
			[]string{"8.8.8.8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pin netip.Addr
			if tc.addr != "" {
				pin = netip.MustParseAddr(tc.addr)
			}
			ln := newLocalNets(testIfaces(), tc.iface, pin)
			for _, a := range tc.accept {
				if !ln.contains(netip.MustParseAddr(a)) {
					t.Errorf("%s refused", a)
				}
			}
			for _, a := range tc.refuse {
				if ln.contains(netip.MustParseAddr(a)) {
					t.Errorf("%s accepted", a)
				}
			}
		})
	}
}

// The real interface list of this host has loopback, and loopback sources
// are on-link when pinned to the loopback broadcast address.
func TestSystemInterfacesHaveLoopback(t *testing.T) {
	ifs, err := systemInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	ln := newLocalNets(ifs, "", netip.MustParseAddr("127.255.255.255"))
	if !ln.contains(netip.MustParseAddr("127.0.0.1")) {
		t.Fatalf("127.0.0.1 not on-link; interfaces %+v", ifs)
	}
}
