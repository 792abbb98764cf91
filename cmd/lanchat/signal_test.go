package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readingStdin reports whether a thread of process pid is blocked in
// read(0, ...) (Linux: /proc/PID/task/*/syscall starts "0 0x0 ").
func readingStdin(pid int) (bool, error) {
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "syscall"))
	if err != nil || len(tasks) == 0 {
		return false, errors.New("no /proc task files")
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err == nil && strings.HasPrefix(string(b), "0 0x0 ") {
			return true, nil
		}
	}
	return false, nil
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not waiting out a delay
	}
}

// TestSendEndsOnSignal: `sleep 30 | lanchat send` — stdin a pipe that stays
// open — ends promptly on SIGTERM and on SIGINT, saying it was interrupted.
func TestSendEndsOnSignal(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc to see that lanchat is waiting on stdin")
	}
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close() // held open: the sender never finishes
			cmd := exec.Command(lanchatBin, "send", "--no-discovery", "--peer", "127.0.0.1:9", "--data-dir", dir)
			cmd.Env = c.env
			cmd.Stdin = pr
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { // never leave it running
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-exited
				}
			}()
			waitFor(t, "lanchat to wait on stdin", func() bool {
				ok, err := readingStdin(cmd.Process.Pid)
				if err != nil {
					t.Skip(err)
				}
				return ok
			})
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
					t.Errorf("exit: %v, want status 1\n%s", err, stderr.String())
				}
				wantContains(t, "stderr", stderr.String(), "lanchat: interrupted")
			case <-time.After(10 * time.Second): // a bound, not a timing claim: before the fix it waited for EOF
				t.Fatalf("lanchat send did not end within 10 s of %v", sig)
			}
		})
	}
}
