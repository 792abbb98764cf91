//go:build unix

package storage

import (
	"errors"
	"syscall"
)

// processExists asks the kernel with signal 0, which checks without
// delivering anything. EPERM means it exists but belongs to someone else.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
