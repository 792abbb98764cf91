package chat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat/files"
)

// trustedFiles returns how many files of what tn serves for fv are served
// by their stamp (without hashing each chunk again).
func trustedFiles(t *testing.T, tn *testNode, fv *FileView) int {
	t.Helper()
	s := tn.node.servableFor(rootOf(t, fv.Root))
	if s == nil || s.src == nil {
		t.Fatalf("%s does not serve %s whole", tn.name, fv.Name)
	}
	return s.src.Trusted()
}

// The sender serves an unchanged file by its stamp, and so does a member
// that fetched it; once the file is edited after the offer (its time put
// back), the sender finds out, serves only what still matches, and says
// so: an event and the offer's view name the file and what to do, and no
// chunk that does not match is ever sent.
func TestChangedFileIsNoticedAndNotServed(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)

	dir := t.TempDir()
	path := filepath.Join(dir, "plans.bin")
	const chunks = 8
	content := randomBytes(t, chunks*files.DefaultChunkSize)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	fv := alice.offer(t, path, bob)
	if _, err := bob.node.Fetch(context.Background(), fv.ID, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	done := bob.waitFile(t, fv.ID, FileDone)
	sameFile(t, done.Path, content)
	if trustedFiles(t, alice, fv) != 1 || trustedFiles(t, bob, done) != 1 {
		t.Fatal("an unchanged file is hashed again as it is served")
	}

	// Alice edits chunk 5 in place and puts the modification time back.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("edited"), 5*files.DefaultChunkSize+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	carol := c.add("carol")
	c.trustAll(alice, bob, carol)
	c.stop(bob) // carol may only fetch from alice
	c.start(carol)
	c.waitLinked(alice, carol)
	waitFor(t, "carol to hold the offer", func() bool { return carol.fileState(t, fv.ID) != nil })
	if _, err := carol.node.Fetch(context.Background(), fv.ID, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var notice *FileView
	waitFor(t, "alice's notice that plans.bin changed", func() bool {
		for {
			select {
			case ev := <-alice.events:
				if ev.Kind == EventFile && ev.File != nil && ev.File.ID == fv.ID && ev.File.Own {
					notice = ev.File
					return true
				}
			default:
				return false
			}
		}
	})
	for _, want := range []string{"plans.bin", "chunk 5 does not match the offer", "offer it again"} {
		if !strings.Contains(notice.Error, want) {
			t.Errorf("notice %q does not say %q", notice.Error, want)
		}
	}
	if v := alice.fileState(t, fv.ID); v.Error != notice.Error {
		t.Errorf("alice's files view says %q, the notice %q", v.Error, notice.Error)
	}
	waitFor(t, "carol to hold all but the edited chunk", func() bool {
		v := carol.fileState(t, fv.ID)
		return v.State == FilePaused && v.Have == uint64((chunks-1)*files.DefaultChunkSize)
	})
	if r := carol.node.Stats().FileChunksRejected; r != 0 {
		t.Fatalf("alice sent %d chunks that did not match the offer", r)
	}
}
