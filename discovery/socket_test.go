package discovery

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lanchat/lanchat/discovery/discoverytest"
)

// Several nodes on one host share the beacon port: one broadcast must reach
// every socket, not just one (SO_REUSEPORT balances unicast only).
func TestBroadcastReachesEverySocket(t *testing.T) {
	port := discoverytest.FreePort(t)
	addr := netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)).String()
	var socks []*net.UDPConn
	for range 4 {
		c, err := listenUDP(context.Background(), "udp4", addr)
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		socks = append(socks, c)
	}
	dst := netip.AddrPortFrom(netip.MustParseAddr(discoverytest.LoopbackBroadcast), uint16(port))
	msg := []byte("hello, everyone")
	if _, err := socks[0].WriteToUDPAddrPort(msg, dst); err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	for i, c := range socks {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("socket %d did not get the broadcast: %v", i, err)
		}
		if string(buf[:n]) != string(msg) {
			t.Fatalf("socket %d got %q", i, buf[:n])
		}
	}
}
