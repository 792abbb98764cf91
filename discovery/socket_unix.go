//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package discovery

import (
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// shareSocket is a net.ListenConfig.Control function: SO_REUSEADDR,
// SO_REUSEPORT and, for IPv4, SO_BROADCAST.
func shareSocket(network, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		opts := []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT}
		if network == "udp4" {
			opts = append(opts, unix.SO_BROADCAST)
		}
		for _, o := range opts {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 1); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func joinGroupFD(fd uintptr, group netip.Addr, ifIndex int) error {
	mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifIndex)}
	return unix.SetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq)
}
