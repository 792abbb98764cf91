package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A first init that fails (here: no passphrase and no terminal) leaves no
// empty database behind to confuse the next command.
func TestFailedFirstInitLeavesNothing(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "lanchat")
	r := c.run("", "init", "--data-dir", dir, "--name", "alice")
	if r.code != exitFailure {
		t.Fatalf("init without a passphrase source: exit %d, want %d\n%s", r.code, exitFailure, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); !os.IsNotExist(err) {
		t.Fatalf("a failed init left %s behind (%v)", dbFile, err)
	}
	c.must(0, "init", "--data-dir", dir, "--name", "alice", "--no-passphrase")
}
