//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mdns

import "syscall"

// shareSocket does nothing on this platform: the socket is not shared, so
// a running mDNS responder may keep lanchat from binding port 5353 (then
// lanchat goes on without mDNS and says so).
func shareSocket(string, string, syscall.RawConn) error { return nil }
