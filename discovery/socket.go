package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// listenUDP opens a beacon socket on addr that shares its port with every
// other lanchat node on the host (SO_REUSEADDR and SO_REUSEPORT: broadcast
// and multicast datagrams reach each of them) and may send broadcasts.
func listenUDP(ctx context.Context, network, addr string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: shareSocket}
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("beacon socket %s %s: %w", network, addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// joinGroup joins the IPv6 beacon group on the interface with index ifIndex.
func joinGroup(c *net.UDPConn, group netip.Addr, ifIndex int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("joining %v: %w", group, err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = joinGroupFD(fd, group, ifIndex) }); err != nil {
		return fmt.Errorf("joining %v: %w", group, err)
	}
	if serr != nil {
		return fmt.Errorf("joining %v on interface %d: %w", group, ifIndex, serr)
	}
	return nil
}
