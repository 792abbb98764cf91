//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package mdns

// multicastOnlyJoined: on BSD systems a socket receives only the groups it
// joined; nothing to do.
func multicastOnlyJoined(int) error { return nil }
