//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

var errNoIdentity = errors.New("no fingerprint in lanchat id --json")

// CLI runs "lanchat --data-dir DIR args..." on the node's host and returns
// its standard output; the error carries its standard error.
func (n *Node) CLI(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := n.Host.Command(ctx, n.bin, append([]string{"--data-dir", n.Dir}, args...)...)
	cmd.Env = n.env()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: lanchat %s: %w\n%s", n.Nick, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// env is the environment of the node's processes: nothing from the test's.
func (n *Node) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + n.Dir, "GORACE=atexit_sleep_ms=50"}
}

// History returns the room's stored messages in lanchat's total order
// ("lanchat history --room ROOM --json").
func (n *Node) History(room string) ([]Message, error) {
	out, err := n.CLI("history", "--room", room, "--json")
	if err != nil {
		return nil, err
	}
	var msgs []Message
	if err := json.Unmarshal(out, &msgs); err != nil {
		return nil, fmt.Errorf("%s: history --json: %w: %.200q", n.Nick, err, out)
	}
	return msgs, nil
}

// readFingerprint reads the node's fingerprint from "lanchat id --json".
func (n *Node) readFingerprint() (string, error) {
	out, err := n.CLI("id", "--json")
	if err != nil {
		return "", err
	}
	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(out, &id); err != nil {
		return "", fmt.Errorf("%s: id --json: %w", n.Nick, err)
	}
	if id.Fingerprint == "" {
		return "", fmt.Errorf("%s: %w", n.Nick, errNoIdentity)
	}
	return id.Fingerprint, nil
}

// Trust makes the node trust each of the others ("lanchat trust FP --name").
func (n *Node) Trust(others ...*Node) error {
	for _, o := range others {
		if _, err := n.CLI("trust", o.fp, "--name", o.Nick); err != nil {
			return err
		}
	}
	return nil
}

// TrustEachOther makes every node trust every other one.
func TrustEachOther(nodes ...*Node) error {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				if err := a.Trust(b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
