package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
)

// decodeAll reads every JSON value of out into a list of T.
func decodeAll[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return list
		} else if err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		list = append(list, v)
	}
}

// filesOf is `lanchat files --json` on dir, by offer id.
func (c *cli) filesOf(dir string) map[string]*control.FileView {
	c.t.Helper()
	out := map[string]*control.FileView{}
	for _, f := range decodeAll[[]*control.FileView](c.t, c.must(0, "files", "--json", "--data-dir", dir).stdout)[0] {
		out[f.ID] = f
	}
	return out
}

// Two `lanchat up` nodes on loopback. Bob's fetch gets half of the file
// (alice's copy is damaged past the half, so she serves only the first),
// then both are SIGKILLed; after the restart bob's node goes on by itself
// and fetches only the half it lacked; the file arrives verified.
func TestSendFileFetchResumesAfterSIGKILL(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	adir, alice := c.initNode("alice", "--no-passphrase")
	bdir, bob := c.initNode("bob", "--no-passphrase")
	c.must(0, "trust", bob.String(), "--name", "bob", "--data-dir", adir)
	c.must(0, "trust", alice.String(), "--name", "alice", "--data-dir", bdir)
	up := func(name, dir string) *chatProc {
		p := c.startProc(name, append([]string{"up", "--data-dir", dir}, loopbackFlags(port)...))
		waitForSocket(t, p, dir)
		return p
	}
	a, b := up("alice", adir), up("bob", bdir)

	r := c.must(1, "fetch", "0123456789", "--data-dir", bdir)
	wantContains(t, "fetch of an unknown id", r.stderr, "no file offer with id", "lanchat files")
	path := filepath.Join(t.TempDir(), "video.mkv")
	content := make([]byte, 32*256<<10)
	rand.Read(content)
	os.WriteFile(path, content, 0o644)
	offer := decodeAll[control.FileView](t, c.must(0, "send-file", path, "--json", "--data-dir", adir).stdout)[0]
	if offer.Name != "video.mkv" || offer.Size != uint64(len(content)) {
		t.Fatalf("offer %+v", offer)
	}
	eventually(t, "bob to hold the offer", func() bool { return c.filesOf(bdir)[offer.ID] != nil })
	half := len(content) / 2
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt(make([]byte, half), int64(half))
	f.Close()
	out := t.TempDir()
	c.must(0, "fetch", offer.ID[:10], "--out", out, "--no-wait", "--data-dir", bdir)
	eventually(t, "bob to hold half", func() bool { return c.filesOf(bdir)[offer.ID].Have == uint64(half) })
	b.kill()
	a.kill()
	if _, err := os.Stat(filepath.Join(out, "video.mkv")); !os.IsNotExist(err) {
		t.Fatalf("the final name exists before the file is whole: %v", err)
	}
	os.WriteFile(path, content, 0o644)
	a, b = up("alice", adir), up("bob", bdir)
	events := decodeAll[control.FileView](t, c.must(0, "fetch", offer.ID[:10], "--out", out, "--json", "--data-dir", bdir).stdout)
	last := events[len(events)-1]
	if last.State != control.FileDone || last.Path != filepath.Join(out, "video.mkv") {
		t.Fatalf("fetch ended with %+v", last)
	}
	got, err := os.ReadFile(last.Path)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the fetched file differs (%d bytes, %v)", len(got), err)
	}
	if last.Fetched > uint64(len(content)-half) {
		t.Fatalf("after the restart bob fetched %d bytes again; he lacked %d of %d", last.Fetched, len(content)-half, len(content))
	}
	t.Logf("after SIGKILL at half: %d of %d bytes fetched again", last.Fetched, len(content))
	listing := c.must(0, "files", "--data-dir", bdir).stdout
	wantContains(t, "files", listing, offer.ID[:12], "done", "video.mkv", "alice(")
	b.stop()
	a.stop()
}
