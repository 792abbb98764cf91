package storage

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The process that has the database open for writing keeps its pid in
// "<database>.pid", so that another process that finds the file locked can
// say who holds it. The lock itself is bbolt's flock on the database; the pid
// file is only a label, and a stale one (left by a crash) is overwritten by
// the next writer and ignored when its process is gone.

func pidPath(dbPath string) string { return dbPath + ".pid" }

// writePIDFile records this process's pid, atomically: a reader never sees
// half a file.
func writePIDFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		_ = os.Remove(tmp) // a full disk leaves it empty
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func removePIDFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}

// readPIDFile returns the pid in the file, or 0 when there is none, it is
// unreadable, or that process no longer exists.
func readPIDFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 32 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !processExists(pid) {
		return 0
	}
	return pid
}

// Holder returns the pid of the live process that has the database at
// dbPath open for writing, or 0 if none does.
func Holder(dbPath string) int { return readPIDFile(pidPath(dbPath)) }
