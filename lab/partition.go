//go:build linux

package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// partitionTable is the nftables table (bridge family, in the lab's switch
// namespace) that holds a partition's drop rules.
const partitionTable = "lab_partition"

// ErrNoNft: a partition needs the nft command (nftables).
var ErrNoNft = errors.New("lab: partitions need nft (Debian package nftables; make tools installs it)")

// Partition splits the lab's bridges between two groups of hosts: the
// switch drops every frame from a port of one group to a port of the other
// (broadcast included), while each group still talks within itself. Heal
// (the returned function) removes the rules. One partition at a time.
func (l *Lab) Partition(a, b []*Host) (heal func() error, err error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, ErrNoNft
	}
	if len(a) == 0 || len(b) == 0 {
		return nil, errors.New("lab: a partition needs a host on each side")
	}
	pa, pb := ports(a), ports(b)
	ruleset := fmt.Sprintf(`table bridge %s {
	chain forward {
		type filter hook forward priority 0; policy accept;
		iifname { %s } oifname { %s } drop
		iifname { %s } oifname { %s } drop
	}
}
`, partitionTable, pa, pb, pb, pa)
	if err := l.nft(ruleset); err != nil {
		return nil, fmt.Errorf("lab: partitioning: %w", err)
	}
	return func() error {
		if err := l.nft("delete table bridge " + partitionTable + "\n"); err != nil {
			return fmt.Errorf("lab: healing the partition: %w", err)
		}
		return nil
	}, nil
}

// ports lists the switch ends of the hosts' interfaces as an nft set body.
func ports(hosts []*Host) string {
	var names []string
	for _, h := range hosts {
		for _, ifc := range h.Ifaces {
			names = append(names, fmt.Sprintf("%q", ifc.Port))
		}
	}
	return strings.Join(names, ", ")
}

// nft loads ruleset into the lab's switch namespace.
func (l *Lab) nft(ruleset string) error {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.sw, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s", l.sw, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
