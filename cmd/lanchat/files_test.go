package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
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

// writeRandom writes size random bytes to path and returns their SHA-256.
func writeRandom(t *testing.T, path string, size int64) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func hashFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
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

// Two `lanchat up` nodes on loopback, a 200 MB file. Bob's fetch gets half of the file
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
		// After a SIGKILL the old socket file is still there: wait for
		// the new node to answer on it.
		eventually(t, name+"'s node to answer", func() bool {
			r := c.run("", "id", "--json", "--data-dir", dir)
			var id control.Identity
			return r.code == 0 && json.Unmarshal([]byte(r.stdout), &id) == nil && id.Node != nil && id.Node.PID == p.cmd.Process.Pid
		})
		return p
	}
	a, b := up("alice", adir), up("bob", bdir)

	r := c.must(1, "fetch", "0123456789", "--data-dir", bdir)
	wantContains(t, "fetch of an unknown id", r.stderr, "no file offer with id", "lanchat files")
	// 200 MB, hashed as it is written: no copy of it in memory.
	const size = 200 << 20
	path := filepath.Join(t.TempDir(), "video.mkv")
	sum := writeRandom(t, path, size)
	offer := decodeAll[control.FileView](t, c.must(0, "send-file", path, "--json", "--data-dir", adir).stdout)[0]
	if offer.Name != "video.mkv" || offer.Size != size {
		t.Fatalf("offer %+v", offer)
	}
	eventually(t, "bob to hold the offer", func() bool { return c.filesOf(bdir)[offer.ID] != nil })
	copyFile(t, path, path+".orig")
	const half = size / 2
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt(make([]byte, half), half)
	f.Close()
	out := t.TempDir()
	c.must(0, "fetch", offer.ID[:10], "--out", out, "--no-wait", "--data-dir", bdir)
	eventually(t, "bob to hold half", func() bool { return c.filesOf(bdir)[offer.ID].Have == uint64(half) })
	b.kill()
	a.kill()
	if _, err := os.Stat(filepath.Join(out, "video.mkv")); !os.IsNotExist(err) {
		t.Fatalf("the final name exists before the file is whole: %v", err)
	}
	if err := os.Rename(path+".orig", path); err != nil {
		t.Fatal(err)
	}
	a, b = up("alice", adir), up("bob", bdir)
	events := decodeAll[control.FileView](t, c.must(0, "fetch", offer.ID[:10], "--out", out, "--json", "--data-dir", bdir).stdout)
	last := events[len(events)-1]
	if last.State != control.FileDone || last.Path != filepath.Join(out, "video.mkv") {
		t.Fatalf("fetch ended with %+v", last)
	}
	if got := hashFile(t, last.Path); !bytes.Equal(got, sum) {
		t.Fatal("the fetched file differs from the offered one")
	}
	if last.Fetched > size-half {
		t.Fatalf("after the restart bob fetched %d bytes again; he lacked %d of %d", last.Fetched, size-half, size)
	}
	t.Logf("after SIGKILL at half: %d of %d bytes fetched again", last.Fetched, size)
	listing := c.must(0, "files", "--data-dir", bdir).stdout
	wantContains(t, "files", listing, offer.ID[:12], "done", "video.mkv", "alice(")
	b.stop()
	a.stop()
}
