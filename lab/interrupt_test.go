//go:build linux

package lab

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// envHelper makes this test binary a lab that waits to be signalled.
const envHelper = "LANCHAT_LAB_HELPER"

// TestHelperLab is not a test: run with envHelper set, it builds a small lab,
// prints its namespaces, and waits to be interrupted or killed (or for its
// standard input to close, if the parent dies first).
func TestHelperLab(t *testing.T) {
	if os.Getenv(envHelper) == "" {
		t.Skip("helper process for TestInterruptedRunCleansUp")
	}
	l := New(t)
	br := l.Bridge()
	l.Host("a", br)
	l.Host("b", br)
	os.Stdout.WriteString(strings.Join(l.Namespaces(), " ") + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startHelper runs TestHelperLab in a child process and returns it with the
// namespaces it made.
func startHelper(t *testing.T) (*exec.Cmd, []string) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("lab: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLab$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil { // held open until the helper ends
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	spaces := strings.Fields(line)
	if err != nil || len(spaces) != 3 {
		t.Fatalf("helper printed %q, %v", line, err)
	}
	return cmd, spaces
}

func assertGone(t *testing.T, spaces []string) {
	t.Helper()
	names, err := listNetns()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range spaces {
		if slices.Contains(names, ns) {
			t.Errorf("namespace %s is still there", ns)
		}
	}
}

func TestInterruptedRunCleansUp(t *testing.T) {
	cmd, spaces := startHelper(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	assertGone(t, spaces)
}

func TestKilledRunIsSweptByTheNext(t *testing.T) {
	cmd, spaces := startHelper(t)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	names, err := listNetns()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range spaces {
		if !slices.Contains(names, ns) {
			t.Fatalf("namespace %s vanished without a sweep; the test proves nothing", ns)
		}
	}
	if _, err := SweepLeftovers(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, spaces)
}
