//go:build linux

package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ipTimeout bounds one run of the ip command.
const ipTimeout = 20 * time.Second

// ipCmd runs "ip args..." and returns its standard output; the error names
// the command and carries what it printed on standard error.
func ipCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ipIn runs "ip -n ns args...": an ip command inside namespace ns.
func ipIn(ns string, args ...string) error {
	_, err := ipCmd(append([]string{"-n", ns}, args...)...)
	return err
}
