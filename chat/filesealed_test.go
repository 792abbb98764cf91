package chat

import (
	"bytes"
	"context"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/chat/files"
)

// fileMarker is a unique string a scan cannot find by chance.
func fileMarker(t *testing.T, what string) string {
	t.Helper()
	return "M" + what + hex.EncodeToString(randomBytes(t, 8))
}

// dataDirHolds returns the files under dir whose name or content holds m.
func dataDirHolds(t *testing.T, dir, m string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), m) {
			hits = append(hits, p+" (name)")
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(m)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestFileRecordsSealedAtRest: with a folder and a file offered by alice
// and fetched by bob, no file of either node's data (databases and
// whatever else they keep) holds a file or folder name or a path, by name
// or content; after a restart the records still say where the fetch went.
func TestFileRecordsSealedAtRest(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)

	folderName, inner, fileName, parent := fileMarker(t, "folder"), fileMarker(t, "inner"), fileMarker(t, "file"), fileMarker(t, "parent")
	src := filepath.Join(t.TempDir(), parent)
	os.MkdirAll(filepath.Join(src, folderName, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, folderName, "sub", inner+".txt"), randomBytes(t, 1000), 0o644)
	content := randomBytes(t, 2*files.DefaultChunkSize+5)
	os.WriteFile(filepath.Join(src, fileName+".bin"), content, 0o644)

	outParent := fileMarker(t, "out")
	out := filepath.Join(t.TempDir(), outParent)
	os.Mkdir(out, 0o755)
	var ids []string
	for _, p := range []string{filepath.Join(src, folderName), filepath.Join(src, fileName+".bin")} {
		fv := alice.offer(t, p, bob)
		if _, err := bob.node.Fetch(context.Background(), fv.ID, out); err != nil {
			t.Fatal(err)
		}
		bob.waitFile(t, fv.ID, FileDone)
		ids = append(ids, fv.ID)
	}
	sameFile(t, filepath.Join(out, fileName+".bin"), content)
	c.stop(bob)
	c.stop(alice)

	markers := []string{folderName, inner, fileName, parent, outParent}
	if hits := dataDirHolds(t, out, fileName); len(hits) != 1 {
		t.Fatalf("the scan does not find the fetched file's name in its folder: %v", hits) // the scan works
	}
	for _, m := range markers {
		if hits := dataDirHolds(t, c.dataRoot, m); len(hits) > 0 {
			t.Errorf("the data holds %q in the clear: %v", m, hits)
		}
	}
	for _, tn := range []*testNode{alice, bob} {
		if _, err := os.Stat(filepath.Join(c.dataRoot, tn.name+"-files")); err == nil {
			t.Errorf("%s has a files folder", tn.name)
		}
	}

	c.start(bob)
	c.start(alice)
	for i, want := range []string{filepath.Join(out, folderName), filepath.Join(out, fileName+".bin")} {
		if got := bob.waitFile(t, ids[i], FileDone); got.Path != want {
			t.Errorf("after a restart bob's fetch %d is at %q, want %q", i, got.Path, want)
		}
	}
	if got := alice.fileState(t, ids[1]); got == nil || got.Path != filepath.Join(src, fileName+".bin") {
		t.Errorf("after a restart alice's share is %+v", got)
	}
}
