package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInitOnAFullDiskLeavesNothing runs lanchat init on a 64 KiB tmpfs,
// mounted in a mount namespace of the test's own, filled to several levels:
// each init either succeeds or fails with "no space left" and a hint, and
// leaves no lanchat.db (not even an empty one), pid file or data dir.
func TestInitOnAFullDiskLeavesNothing(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: mounts a small tmpfs in a private mount namespace")
	}
	for _, tool := range []string{"sh", "mount", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	mnt := t.TempDir()
	// In its own mount namespace (private, so nothing propagates out): a
	// 64 KiB tmpfs, a filler file of $FILL bytes, then lanchat init; "--"
	// then the files left on the tmpfs.
	script := `set -u
mount --make-rprivate / && mount -t tmpfs -o size=64k tmpfs "$MNT" || exit 100
head -c "$FILL" /dev/zero > "$MNT/filler" 2>/dev/null
"$BIN" init --no-passphrase --name alice --data-dir "$MNT/lanchat"
echo "exit=$?" >&2
echo -- >&2
cd "$MNT" && find . -mindepth 1 ! -name filler >&2`
	failed := 0
	for _, fill := range []int{65536, 61440, 57344, 53248, 49152, 40960} {
		t.Run(fmt.Sprint(fill), func(t *testing.T) {
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = append(newCLI(t).env, "MNT="+mnt, "BIN="+lanchatBin, "FILL="+fmt.Sprint(fill))
			cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 100 {
					t.Skipf("cannot mount a tmpfs here:\n%s", stderr.String())
				}
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			out, left, _ := strings.Cut(stderr.String(), "--\n")
			switch {
			case strings.Contains(out, "exit=0"):
				if !strings.Contains(left, "./lanchat/"+dbFile) {
					t.Errorf("init succeeded but left no database: %q", left)
				}
			case strings.Contains(out, "exit=1"):
				failed++
				wantContains(t, "init on a full disk", out, "no space left on device", "lanchat: hint: the disk that holds "+filepath.Join(mnt, "lanchat")+" is full")
				if left != "" {
					t.Errorf("a failed init left files behind:\n%s\n(stderr: %s)", left, out)
				}
			default:
				t.Errorf("init neither succeeded nor failed cleanly:\n%s", out)
			}
		})
	}
	if failed == 0 {
		t.Error("no fill level made init fail: the disk was never full")
	}
}
