//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package discovery

import (
	"errors"
	"net/netip"
	"syscall"
)

// shareSocket does nothing on this platform: only one lanchat node per host
// can listen for beacons here.
func shareSocket(string, string, syscall.RawConn) error { return nil }

func joinGroupFD(uintptr, netip.Addr, int) error {
	return errors.New("IPv6 multicast beacons are not supported on this platform")
}
