// Package discoverytest helps tests run discovery on loopback only: a free
// UDP port per test and the loopback broadcast address, so parallel tests
// never hear each other and nothing leaves the host. Pin a config with
//
//	cfg.Addr, cfg.Port = discoverytest.LoopbackBroadcast, discoverytest.FreePort(t)
package discoverytest

import (
	"net"
	"testing"
)

// LoopbackBroadcast is the broadcast address of 127.0.0.0/8: every socket
// on the host bound to the beacon port hears it, nothing else does.
const LoopbackBroadcast = "127.255.255.255"

// FreePort returns a UDP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatalf("finding a free UDP port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
