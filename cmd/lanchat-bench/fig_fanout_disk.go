//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lanchat/lanchat/storage"
)

// tmpfsMagic is the f_type statfs reports for a tmpfs (linux/magic.h).
const tmpfsMagic = 0x01021994

// memStoreDir returns a new directory on a memory file system for the
// stores of the fan-out figure's memfs run, and how to remove it: under
// /dev/shm when that is a tmpfs, else on a tmpfs the bench mounts (as
// root) under its own temporary directory and unmounts afterwards. The
// error says why neither was possible; the figure then skips that run.
func memStoreDir(b *bench, name string) (string, func(), error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic {
		d, err := os.MkdirTemp("/dev/shm", "lanchat-bench-"+name+"-")
		if err == nil {
			return d, func() { _ = os.RemoveAll(d) }, nil
		}
	}
	if os.Geteuid() != 0 {
		return "", nil, errors.New("/dev/shm is not a tmpfs and mounting one needs root")
	}
	d, err := b.dir(name + "-tmpfs")
	if err != nil {
		return "", nil, err
	}
	if err := syscall.Mount("tmpfs", d, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1g,mode=0700"); err != nil {
		return "", nil, fmt.Errorf("mounting a tmpfs on %s: %w", d, err)
	}
	return d, func() { _ = syscall.Unmount(d, 0) }, nil
}

// commitSamples is what commitLatency measured: a committer's group
// commit of one message, and a bare fdatasync of one 4 KiB page, each
// timed n times on the disk of dir.
type commitSamples struct {
	commit, fsync []time.Duration
}

// commitLatency times n group commits of one message each (one writer
// blocking in storage.Committer.Add, a new message every time, 250 bytes
// like a chat frame's) in a new store under dir, and n bare fdatasyncs of
// a 4 KiB page rewritten in place in a file beside it.
func commitLatency(ctx context.Context, dir string, n int) (commitSamples, error) {
	var s commitSamples
	db, err := storage.Open(filepath.Join(dir, "commit.db"), storage.DefaultOptions())
	if err != nil {
		return s, err
	}
	defer db.Close()
	c := storage.NewCommitter(db, 0)
	defer c.Close()
	raw := make([]byte, 250)
	for i := range n {
		m := storage.StoredMessage{Room: "lobby", Author: [storage.AuthorKeySize]byte{1}, Seq: uint64(i + 1), Clock: uint64(i + 1), Raw: raw}
		t0 := time.Now()
		if _, err := c.Add(ctx, m); err != nil {
			return s, fmt.Errorf("group commit: %w", err)
		}
		s.commit = append(s.commit, time.Since(t0))
	}
	f, err := os.Create(filepath.Join(dir, "fsync"))
	if err != nil {
		return s, fmt.Errorf("fsync baseline: %w", err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	for range n {
		t0 := time.Now()
		if _, err := f.WriteAt(page, 0); err != nil {
			return s, fmt.Errorf("fsync baseline: %w", err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return s, fmt.Errorf("fsync baseline: %w", err)
		}
		s.fsync = append(s.fsync, time.Since(t0))
	}
	return s, nil
}
