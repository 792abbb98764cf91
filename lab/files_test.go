//go:build linux

package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fileObject is what lanchat files/fetch --json print of an offer.
type fileObject struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Have    uint64 `json:"have"`
	Fetched uint64 `json:"fetched"`
	Path    string `json:"path"`
	Error   string `json:"error"`
}

// Scenario: a fetch across a cable that is pulled and plugged back in. Bob
// holds half of alice's file (she serves only that half), his link goes
// down and comes back; the fetch goes on from the verified half and the
// file arrives whole, without a chunk fetched twice.
func TestFetchSurvivesALinkDrop(t *testing.T) {
	l := scenario(t)
	nodes := trustedMesh(t, l, l.Bridge(), "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	const chunk, size = 256 << 10, 64 * 256 << 10
	content := make([]byte, size)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dump.tar")
	must(t, os.WriteFile(path, content, 0o644))
	out, err := alice.CLI("send-file", path, "--json")
	must(t, err)
	var offer fileObject
	must(t, json.Unmarshal(out, &offer))
	bobSees := func() *fileObject { return fileOf(bob, offer.ID) }
	must(t, bob.WaitFor("the offer", linkWait, func() bool { return bobSees() != nil }))
	// Alice's copy past the half no longer matches: she serves the first half only.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	_, err = f.WriteAt(make([]byte, size/2), size/2)
	f.Close()
	must(t, err)
	dir := t.TempDir()
	_, err = bob.CLI("fetch", offer.ID[:12], "--out", dir, "--no-wait")
	must(t, err)
	must(t, bob.WaitFor("half of the file", linkWait, func() bool { v := bobSees(); return v != nil && v.Have == size/2 }))

	must(t, bob.Host.LinkDown())
	waitUnlinked(t, bob, alice)
	waitUnlinked(t, alice, bob)
	must(t, os.WriteFile(path, content, 0o644))
	must(t, bob.Host.LinkUp())
	waitMesh(t, alice, bob)
	start := time.Now()
	out, err = bob.CLI("fetch", offer.ID[:12], "--out", dir, "--json")
	must(t, err)
	var last fileObject
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var v fileObject
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("fetch --json: %v: %q", err, out)
		}
		last = v
	}
	t.Logf("done %v after the link came back: %+v", since(start), last)
	if last.State != "done" || last.Path != filepath.Join(dir, "dump.tar") {
		t.Fatalf("fetch ended %+v", last)
	}
	got, err := os.ReadFile(last.Path)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the file differs (%d bytes, %v)", len(got), err)
	}
	if last.Fetched > size+16*chunk {
		t.Fatalf("bob received %d chunk bytes for a %d-byte file: verified chunks were fetched again", last.Fetched, size)
	}
}

// swarmRate is what each host of the swarm benchmark sends at most: a LAN
// where the sender's uplink, not the CPU, is what limits a transfer.
const swarmRate, swarmRateBytes = "200mbit", 25e6

// BenchmarkSwarmShaped5Hosts: real lanchat processes on five hosts whose
// cables each carry at most 200 Mbit/s out (tc tbf). Alice offers a
// 32 MiB file and the four others fetch it at once (they serve each
// other); then another file, fetched by one after the other. It reports
// both times, the first fetch of the second (from alice alone), and the
// least time alice's uplink allows for one copy.
func BenchmarkSwarmShaped5Hosts(b *testing.B) {
	var res swarmTimes
	for range b.N {
		var err error
		if res, err = swarmShaped(b, 4, 32<<20); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.atOnce.Seconds(), "s-at-once")
	b.ReportMetric(res.inTurn.Seconds(), "s-in-turn")
	b.ReportMetric(res.first.Seconds(), "s-first-alone")
	b.ReportMetric(res.uplink.Seconds(), "s-uplink")
}

// swarmTimes are what one run of the swarm scenario took.
type swarmTimes struct {
	atOnce, inTurn, first, uplink time.Duration
}

// swarmShaped runs the scenario with receivers members fetching a file of
// size bytes from alice, every host shaped to swarmRate.
func swarmShaped(tb testing.TB, receivers, size int) (swarmTimes, error) {
	var res swarmTimes
	l := New(tb)
	br := l.Bridge()
	nodes := make([]*Node, receivers+1)
	for i := range nodes {
		name := fmt.Sprintf("h%d", i)
		h := l.Host(name, br)
		if err := h.Shape(swarmRate); err != nil {
			return res, err
		}
		nodes[i] = NewNode(tb, h, name)
	}
	if err := TrustEachOther(nodes...); err != nil {
		return res, err
	}
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	if err := meshed(nodes, linkWait); err != nil {
		return res, err
	}
	alice, members := nodes[0], nodes[1:]
	res.uplink = time.Duration(float64(size) / swarmRateBytes * float64(time.Second))
	offer := func(name string) (string, error) {
		content := make([]byte, size)
		if _, err := rand.Read(content); err != nil {
			return "", err
		}
		path := filepath.Join(tb.TempDir(), name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return "", err
		}
		out, err := alice.CLI("send-file", path, "--json")
		if err != nil {
			return "", err
		}
		var o fileObject
		if err := json.Unmarshal(out, &o); err != nil {
			return "", fmt.Errorf("send-file --json: %w: %q", err, out)
		}
		for _, m := range members {
			if err := m.WaitFor("the offer", linkWait, func() bool { return fileOf(m, o.ID) != nil }); err != nil {
				return "", err
			}
		}
		return o.ID, nil
	}
	done := func(m *Node, id string) error {
		return m.WaitFor("the fetch", 5*time.Minute, func() bool {
			f := fileOf(m, id)
			return f != nil && f.State == "done"
		})
	}
	id, err := offer("at-once.bin")
	if err != nil {
		return res, err
	}
	start := time.Now()
	for _, m := range members {
		if _, err := m.CLI("fetch", id[:12], "--out", tb.TempDir(), "--no-wait"); err != nil {
			return res, err
		}
	}
	for _, m := range members {
		if err := done(m, id); err != nil {
			return res, err
		}
	}
	res.atOnce = time.Since(start)
	if id, err = offer("in-turn.bin"); err != nil {
		return res, err
	}
	for k, m := range members {
		start := time.Now()
		if _, err := m.CLI("fetch", id[:12], "--out", tb.TempDir(), "--no-wait"); err != nil {
			return res, err
		}
		if err := done(m, id); err != nil {
			return res, err
		}
		if k == 0 {
			res.first = time.Since(start)
		}
		res.inTurn += time.Since(start)
	}
	return res, nil
}

// fileOf returns what n's files --json says of offer id (nil if nothing).
func fileOf(n *Node, id string) *fileObject {
	out, err := n.CLI("files", "--json")
	if err != nil {
		return nil
	}
	var list []fileObject
	if json.Unmarshal(out, &list) != nil {
		return nil
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}
