package main

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// TestNoInterfaceToBeaconOn runs send in a network namespace of its own,
// where only a loopback interface (down) exists: it warns that nobody
// will find it.
func TestNoInterfaceToBeaconOn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: runs lanchat in a new network namespace")
	}
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	cmd := exec.Command(lanchatBin, "send", "--port", "0", "--timeout", "0", "--data-dir", dir, "hi")
	cmd.Env = append(c.env, envDiscoveryAddr+"=") // the default: every interface (there are none)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	wantContains(t, "stderr", stderr.String(), "lanchat: warning: no network interface here can send beacons", "\nlanchat: hint: connect to a network, or link directly with --peer")
}
