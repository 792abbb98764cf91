//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// otherUser runs the binary as a user the file modes apply to: as root,
// as nobody (65534) from a copy of the binary that nobody may run; else as
// this user.
type otherUser struct {
	t   *testing.T
	bin string
	env []string
}

func newOtherUser(t *testing.T) *otherUser {
	t.Helper()
	u := &otherUser{t: t, bin: lanchatBin, env: newCLI(t).env}
	if os.Getuid() != 0 {
		return u
	}
	dir, err := os.MkdirTemp("", "lanchat-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(lanchatBin)
	if err != nil {
		t.Fatal(err)
	}
	u.bin = filepath.Join(dir, "lanchat")
	if err := os.WriteFile(u.bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *otherUser) run(args ...string) result {
	u.t.Helper()
	cmd := exec.Command(u.bin, args...)
	cmd.Env = u.env
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		u.t.Fatalf("lanchat %v: %v", args, err)
	}
	return r
}

// TestUnusablePlacesSayItOnce: a data dir this user may not enter, one it
// may only read, and one it may not create each give one error naming the
// path once, and a hint.
func TestUnusablePlacesSayItOnce(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	path := filepath.Join(dir, dbFile)
	chmod := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// Everything up to the data dir may be entered by anyone.
	for p := filepath.Dir(dir); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		chmod(p, 0o755)
	}
	t.Cleanup(func() { chmod(dir, 0o700) }) // so the test can remove it
	u := newOtherUser(t)
	check := func(name string, r result, wants ...string) {
		t.Helper()
		if r.code != 1 {
			t.Fatalf("%s: exit %d, want 1\n%s", name, r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "lanchat: hint: ") {
			t.Errorf("%s: want an error and a hint, got:\n%s", name, r.stderr)
		}
		if n := strings.Count(lines[0], dir); n != 1 {
			t.Errorf("%s: the error names the data dir %d times:\n%s", name, n, r.stderr)
		}
		wantContains(t, name, r.stderr, wants...)
	}

	chmod(dir, 0o000)
	check("id in a forbidden data dir", u.run("id", "--data-dir", dir), "lanchat: open "+path+": permission denied", "ls -la "+dir)
	check("init under a forbidden data dir", u.run("init", "--no-passphrase", "--name", "x", "--data-dir", filepath.Join(dir, "sub")),
		"permission denied", "lanchat: hint: ")

	chmod(dir, 0o555)
	chmod(path, 0o444)
	if r := u.run("id", "--data-dir", dir); r.code != 0 {
		t.Errorf("id in a read-only data dir: exit %d\n%s", r.code, r.stderr)
	}
	check("trust in a read-only data dir", u.run("trust", bob.String(), "--data-dir", dir), "lanchat: open "+path+": permission denied", "ls -la "+dir)
}
