//go:build linux

package mdns

import "golang.org/x/sys/unix"

// multicastOnlyJoined turns IP_MULTICAST_ALL off: the socket receives the
// group only on the interfaces it joined itself, not on every interface
// where another program (Avahi) joined it.
func multicastOnlyJoined(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
}
