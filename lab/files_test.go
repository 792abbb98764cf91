//go:build linux

package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
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
	bobSees := func() *fileObject {
		out, err := bob.CLI("files", "--json")
		if err != nil {
			return nil
		}
		var list []fileObject
		if json.Unmarshal(out, &list) != nil {
			return nil
		}
		for i := range list {
			if list[i].ID == offer.ID {
				return &list[i]
			}
		}
		return nil
	}
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
