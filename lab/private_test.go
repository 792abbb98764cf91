//go:build linux

package lab

import (
	"encoding/json"
	"slices"
	"testing"
)

// privateMembers returns the fingerprints of a private room's members as n
// holds them ("lanchat room members ROOM --json"); nil if n holds no such
// room.
func privateMembers(n *Node, room string) []string {
	out, err := n.CLI("room", "members", room, "--json")
	if err != nil {
		return nil
	}
	var pr struct {
		Members []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"members"`
	}
	if json.Unmarshal(out, &pr) != nil {
		return nil
	}
	fps := []string{}
	for _, m := range pr.Members {
		fps = append(fps, m.Fingerprint)
	}
	slices.Sort(fps)
	return fps
}

func fingerprints(nodes ...*Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Fingerprint())
	}
	slices.Sort(out)
	return out
}

func historyBodies(t *testing.T, n *Node, room string) []string {
	t.Helper()
	msgs, err := n.History(room)
	must(t, err)
	var out []string
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

// Scenario: a private room on a real LAN. mallory is removed by alice, the
// admin, while alice's cable is out, and keeps talking with bob and carol
// on the other side; after the heal every node agrees on the membership, the remaining
// members' histories are identical and hold none of what mallory wrote
// after her removal, and mallory holds nothing alice wrote after it.
func TestPrivateRoomRemovalAcrossARealPartition(t *testing.T) {
	l := scenario(t)
	nodes := trustedMesh(t, l, l.Bridge(), "alice", "bob", "carol", "mallory")
	alice, bob, carol, mallory := nodes[0], nodes[1], nodes[2], nodes[3]
	out, err := alice.CLI("room", "create", "ops", "--json")
	must(t, err)
	var pr struct {
		ID string `json:"id"`
	}
	must(t, json.Unmarshal(out, &pr))
	room := pr.ID
	for _, n := range []*Node{bob, carol, mallory} {
		_, err := alice.CLI("room", "invite", room, n.Fingerprint())
		must(t, err)
	}
	for _, n := range nodes {
		must(t, n.WaitFor("four members", syncWait, func() bool { return slices.Equal(privateMembers(n, room), fingerprints(nodes...)) }))
	}
	_, err = mallory.CLI("send", "--room", room, "mallory-before")
	must(t, err)
	for _, n := range nodes {
		must(t, n.WaitFor("mallory's first message", syncWait, func() bool { return slices.Contains(historyBodies(t, n, room), "mallory-before") }))
	}

	// The partition: alice's cable out; bob, carol and mallory go on.
	must(t, alice.Host.LinkDown())
	waitUnlinked(t, alice, bob, carol, mallory)
	for _, n := range []*Node{bob, carol, mallory} {
		waitUnlinked(t, n, alice)
	}
	_, err = alice.CLI("room", "remove", room, mallory.Fingerprint())
	must(t, err)
	_, err = alice.CLI("send", "--room", room, "alice-after-removal")
	must(t, err)
	_, err = mallory.CLI("send", "--room", room, "mallory-during-partition")
	must(t, err)
	for _, n := range []*Node{bob, carol} {
		must(t, n.WaitFor("mallory's message during the partition", syncWait, func() bool { return n.HasBodies("mallory-during-partition") }))
	}

	must(t, alice.Host.LinkUp())
	waitMesh(t, nodes...)
	remaining := []*Node{alice, bob, carol}
	want := fingerprints(remaining...)
	for _, n := range nodes {
		must(t, n.WaitFor("the membership without mallory", syncWait, func() bool { return slices.Equal(privateMembers(n, room), want) }))
	}
	must(t, carol.WaitFor("alice's message after the removal", syncWait, func() bool {
		return slices.Contains(historyBodies(t, carol, room), "alice-after-removal")
	}))
	first := historyBodies(t, alice, room)
	for _, n := range remaining[1:] {
		must(t, n.WaitFor("the same history as alice's", syncWait, func() bool { return slices.Equal(historyBodies(t, n, room), first) }))
	}
	if slices.Contains(first, "mallory-during-partition") || !slices.Contains(first, "mallory-before") {
		t.Errorf("the room's history after the heal: %q", first)
	}
	if slices.Contains(historyBodies(t, mallory, room), "alice-after-removal") || mallory.HasBodies("alice-after-removal") {
		t.Error("mallory, removed, got alice's message written after the removal")
	}
	stopAll(t, nodes...)
}
