//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mdns

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// shareSocket is a net.ListenConfig.Control function: SO_REUSEADDR and
// SO_REUSEPORT, so port 5353 is shared with Avahi, mDNSResponder and other
// lanchat nodes, plus what multicastOnlyJoined sets on this platform.
func shareSocket(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		for _, o := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o, 1); serr != nil {
				return
			}
		}
		serr = multicastOnlyJoined(int(fd))
	})
	if err != nil {
		return err
	}
	return serr
}
