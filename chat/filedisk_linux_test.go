package chat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lanchat/lanchat/chat/files"
)

// A full disk pauses the fetch with a notice saying what to do; nothing
// is under the final name meanwhile; once space is freed it goes on by
// itself and the file arrives whole.
func TestFullDiskPausesThenResumes(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: mounts a small tmpfs")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
		}
	})
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	path := filepath.Join(t.TempDir(), "dump.tar")
	content := randomBytes(t, 12*files.DefaultChunkSize)
	os.WriteFile(path, content, 0o644)
	fv := alice.offer(t, path, bob)
	if _, err := bob.node.Fetch(context.Background(), fv.ID, mnt); err != nil {
		t.Fatal(err)
	}
	v := bob.waitFile(t, fv.ID, FilePaused)
	if !strings.Contains(v.Error, "the disk is full") || !strings.Contains(v.Error, "free some space in "+mnt) {
		t.Fatalf("paused with %q", v.Error)
	}
	if _, err := os.Stat(filepath.Join(mnt, "dump.tar")); !os.IsNotExist(err) {
		t.Fatalf("a file is under the final name while the disk is full: %v", err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=16m"); err != nil {
		t.Fatal(err)
	}
	done := bob.waitFile(t, fv.ID, FileDone)
	sameFile(t, done.Path, content)
}
