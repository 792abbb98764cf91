//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// runLabPartition: 32 real lanchat processes in network namespaces on one
// bridge, in one room, split into two halves by the switch and healed
// (lab/partition_test.go, BenchmarkPartitionHeal32Hosts): the time from the
// heal until every host has every message. It needs root (the lab skips
// otherwise, and so does this row).
func runLabPartition(ctx context.Context, b *bench) ([]row, error) {
	const name = "BenchmarkPartitionHeal32Hosts"
	const fig = "lab, 32 hosts in one room (real binaries, namespaces), split in two halves and healed"
	res, skipped, err := labBench(ctx, b, name, "15m", "network namespaces")
	if err != nil || skipped != "" {
		return skippedRow(fig, skipped), err
	}
	var v [3]float64
	for i, unit := range []string{"s-to-converge", "s-to-link", "s-to-split"} {
		var err error
		if v[i], err = metric(res, name, unit); err != nil {
			return nil, err
		}
	}
	return []row{
		compared(fig+": heal → every host has every message", measure{v[0], "s", ""},
			measure{v[2], "s", "the split: until no link crosses it (dead-link timeout)"}, "—", nil),
		alone(fig+": start → every pair of the 32 linked (496 links)", measure{v[1], "s", ""}, "—", nil),
	}, nil
}

// runLabSwarm: five real lanchat processes in network namespaces whose
// cables each carry at most 200 Mbit/s out (lab/files_test.go,
// BenchmarkSwarmShaped5Hosts): four members fetching one 32 MiB file at
// once (serving each other) against four transfers from the sender, on a
// LAN where the sender's uplink is the limit, not this machine's CPU. It
// needs root, as runLabPartition does.
func runLabSwarm(ctx context.Context, b *bench) ([]row, error) {
	const name = "BenchmarkSwarmShaped5Hosts"
	const fig = "lab, 5 hosts sending at most 200 Mbit/s each (tc), a 32 MiB file"
	res, skipped, err := labBench(ctx, b, name, "10m", "network namespaces, tc")
	if err != nil || skipped != "" {
		return skippedRow(fig, skipped), err
	}
	var v [4]float64
	for i, unit := range []string{"s-at-once", "s-in-turn", "s-first-alone", "s-uplink"} {
		var err error
		if v[i], err = metric(res, name, unit); err != nil {
			return nil, err
		}
	}
	fromSender := measure{4 * v[2], "s", "4 transfers from the sender (4 × the first fetch below)"}
	return []row{
		compared(fig+": 4 members fetch it at once (they serve each other)", measure{v[0], "s", ""}, fromSender,
			"< 1×", func(l, b float64) bool { return l < b }),
		compared(fig+": 4 members fetch it one after the other", measure{v[1], "s", ""}, fromSender, "—", nil),
		compared(fig+": one fetch from the sender alone", measure{v[2], "s", ""},
			measure{v[3], "s", "32 MiB at 200 Mbit/s"}, "—", nil),
	}, nil
}

// labBench runs the lab benchmark name once (go test -bench, as root: the
// lab skips otherwise) and returns its results by name, or why it was
// skipped. needs says what it needs, for the note.
func labBench(ctx context.Context, b *bench, name, timeout, needs string) (map[string]goBench, string, error) {
	args := []string{"test", "-run", "^$", "-bench", "^" + name + "$", "-benchtime", "1x", "-count", "1", "-timeout", timeout, "./lab/"}
	b.note("go " + strings.Join(quoteArgs(args), " ") + "   # as root: " + needs)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("go test -bench %s: %w\n%s%s", name, err, lastLines(out.String(), 15), lastLines(errOut.String(), 15))
	}
	res := map[string]goBench{}
	for _, r := range parseBench(out.Bytes()) {
		res[r.name] = r
	}
	if _, ok := res[name]; ok {
		return res, "", nil
	}
	why := "skipped"
	if i := strings.Index(out.String(), "lab: skipped"); i >= 0 {
		why = strings.SplitN(out.String()[i:], "\n", 2)[0]
	}
	return nil, why, nil
}

// skippedRow is the row of a lab figure that did not run, saying why (nil
// if it ran).
func skippedRow(fig, why string) []row {
	if why == "" {
		return nil
	}
	return []row{alone(fig, measure{0, "", why}, "—", nil)}
}
