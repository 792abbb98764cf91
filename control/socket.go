package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Errors of Listen, for errors.Is.
var (
	// ErrInUse: a live node already answers on the control socket.
	ErrInUse = errors.New("another lanchat node is running on this data dir")
	// ErrUnsafe: the socket's directory is open to other users.
	ErrUnsafe = errors.New("the data dir is open to other users")
	// ErrPathTooLong: the socket's path does not fit in a sockaddr.
	ErrPathTooLong = errors.New("the control socket's path is too long")
)

// maxSocketPath is the longest unix socket path (sun_path holds 108 bytes
// on Linux, 104 on the BSDs, a terminating NUL included).
const maxSocketPath = 103

// staleProbeTimeout bounds the dial that tells a live socket from a stale one.
const staleProbeTimeout = time.Second

// listenUnix makes the control socket at path, mode 0600.
func listenUnix(path string) (*net.UnixListener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("%w: %s is over %d bytes (use a shorter data dir)", ErrPathTooLong, path, maxSocketPath)
	}
	if err := checkSocketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	// The directory is not writable by others and (on Linux) every client's
	// uid is checked, so the moment before chmod exposes nothing.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// checkSocketDir refuses a directory that another user could write to (and
// so replace the socket) or that another user owns.
func checkSocketDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrUnsafe, dir, perm)
	}
	if !ownedByMe(info) {
		return fmt.Errorf("%w: %s belongs to another user", ErrUnsafe, dir)
	}
	return nil
}

// removeStaleSocket removes a socket that nobody answers on (its node
// crashed); it refuses a live one and anything that is not a socket.
func removeStaleSocket(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if info.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("control socket %s: the file exists and is not a socket; lanchat leaves it alone", path)
	}
	conn, err := net.DialTimeout("unix", path, staleProbeTimeout)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w (its control socket %s answers)", ErrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket %s: cannot tell whether a node is running: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket: removing the stale %s: %w", path, err)
	}
	return nil
}
