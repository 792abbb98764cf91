//go:build linux

package lab

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Scenario: a room of hosts on one LAN splits into two halves (the switch
// drops every frame between them), both halves talk, the network heals;
// every host ends with every message, in one order. make test runs it on
// 8 hosts; lanchat-bench times it on 32 (BenchmarkPartitionHeal32Hosts).
func TestPartitionHalvesHealToOneHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("lab: lanchat scenarios take seconds each; skipped with -short")
	}
	if _, err := partitionHeal(t, 8); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPartitionHeal32Hosts reports the time from the heal until each
// of 32 hosts has every message of both halves (s-to-converge). It runs the
// scenario once whatever b.N is: run it with -benchtime 1x.
func BenchmarkPartitionHeal32Hosts(b *testing.B) {
	var res partitionTimes
	for range b.N {
		var err error
		if res, err = partitionHeal(b, 32); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.converge.Seconds(), "s-to-converge")
	b.ReportMetric(res.mesh.Seconds(), "s-to-link")
	b.ReportMetric(res.split.Seconds(), "s-to-split")
}

// partitionTimes are what one run of the scenario took.
type partitionTimes struct {
	mesh     time.Duration // from the start of the nodes until every pair is linked
	split    time.Duration // from the partition until no link crosses it
	converge time.Duration // from the heal until every host has every message
}

// partitionHeal runs the scenario on hosts hosts (at least 4): a full mesh,
// messages before the split, three senders on each side during it, the
// heal; it checks that every history is the same and complete.
func partitionHeal(tb testing.TB, hosts int) (partitionTimes, error) {
	var res partitionTimes
	l := New(tb)
	br := l.Bridge()
	nodes := make([]*Node, hosts)
	for i := range nodes {
		name := fmt.Sprintf("h%d", i)
		nodes[i] = NewNode(tb, l.Host(name, br), name)
	}
	if err := TrustEachOther(nodes...); err != nil {
		return res, err
	}
	start := time.Now()
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	wait := linkWait + time.Duration(hosts)*time.Second // a 32-host mesh is 496 handshakes on a shared machine
	if err := meshed(nodes, wait); err != nil {
		return res, err
	}
	res.mesh = time.Since(start)
	all := bodies("before", 3)
	if err := sayAll(nodes[0], all, wait); err != nil {
		return res, err
	}
	if err := haveAll(nodes, all, wait); err != nil {
		return res, err
	}

	left, right := nodes[:hosts/2], nodes[hosts/2:]
	start = time.Now()
	heal, err := l.Partition(hostsOf(left), hostsOf(right))
	if errors.Is(err, ErrNoNft) {
		tb.Skip(err)
	}
	if err != nil {
		return res, err
	}
	for i, side := range [][]*Node{left, right} {
		other := [][]*Node{right, left}[i]
		for _, n := range side {
			if err := n.WaitFor("its links across the split to end", wait, func() bool { return !linkedToAny(n, other) }); err != nil {
				return res, err
			}
		}
	}
	res.split = time.Since(start)
	var sides [2][]string
	for i, side := range [][]*Node{left, right} {
		for _, n := range side[:3] {
			b := bodies("split-"+n.Nick, 3)
			if err := sayAll(n, b, wait); err != nil {
				return res, err
			}
			sides[i] = append(sides[i], b...)
		}
	}
	if err := haveAll(left, sides[0], wait); err != nil {
		return res, err
	}
	if err := haveAll(right, sides[1], wait); err != nil {
		return res, err
	}
	for i, side := range [][]*Node{left, right} {
		for _, n := range side {
			if n.HasBodies(sides[1-i][0]) {
				return res, fmt.Errorf("%s got a message from across the split: the partition did not hold", n.Nick)
			}
		}
	}
	all = append(append(all, sides[0]...), sides[1]...)

	start = time.Now()
	if err := heal(); err != nil {
		return res, err
	}
	if err := haveAll(nodes, all, wait); err != nil {
		return res, err
	}
	res.converge = time.Since(start)
	tb.Logf("%d hosts: linked in %v, split in %v, converged %v after the heal", hosts,
		res.mesh.Round(time.Millisecond), res.split.Round(time.Millisecond), res.converge.Round(time.Millisecond))
	for _, n := range nodes {
		if err := n.Stop(); err != nil {
			return res, err
		}
	}
	return res, oneHistory(nodes, all)
}

func hostsOf(nodes []*Node) []*Host {
	out := make([]*Host, len(nodes))
	for i, n := range nodes {
		out[i] = n.Host
	}
	return out
}

func linkedToAny(n *Node, others []*Node) bool {
	linked := n.Linked()
	for _, o := range others {
		if linked[o.Fingerprint()] {
			return true
		}
	}
	return false
}

// meshed waits until every node is linked to every other one.
func meshed(nodes []*Node, within time.Duration) error {
	for _, n := range nodes {
		peers := others(n, nodes)
		if err := n.WaitFor(fmt.Sprintf("links to %d peers", len(peers)), within, func() bool { return n.LinkedTo(peers...) }); err != nil {
			return fmt.Errorf("%w\n%s", err, linkTable(nodes))
		}
	}
	return nil
}

// sayAll sends bodies from n and waits until it shows each as its own.
func sayAll(n *Node, bodies []string, within time.Duration) error {
	for _, b := range bodies {
		if err := n.Send(b); err != nil {
			return err
		}
	}
	for _, b := range bodies {
		if err := n.WaitFor("its own message "+b, within, func() bool { return n.Acked(b) }); err != nil {
			return err
		}
	}
	return nil
}

// haveAll waits until every node has shown every body.
func haveAll(nodes []*Node, bodies []string, within time.Duration) error {
	for _, n := range nodes {
		if err := n.WaitFor(fmt.Sprintf("%d messages", len(bodies)), within, func() bool { return n.HasBodies(bodies...) }); err != nil {
			return err
		}
	}
	return nil
}

// oneHistory reads every (stopped) node's history and fails unless all are
// the same messages in the same order, and exactly want.
func oneHistory(nodes []*Node, want []string) error {
	var first []Message
	for i, n := range nodes {
		h, err := n.History(room)
		if err != nil {
			return err
		}
		if i == 0 {
			first = h
			got := make([]string, len(h))
			for j, m := range h {
				got[j] = m.Body
			}
			slices.Sort(got)
			w := slices.Clone(want)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				return fmt.Errorf("%s's history holds %d messages %q, want %d %q", n.Nick, len(got), got, len(w), w)
			}
			continue
		}
		if !slices.Equal(ids(h), ids(first)) {
			return fmt.Errorf("history of %s differs from %s's:\n%s\n---\n%s", n.Nick, nodes[0].Nick, render(h), render(first))
		}
	}
	return nil
}
