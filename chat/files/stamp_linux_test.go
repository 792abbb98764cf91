package files

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// builtSource builds path and serves it with the stamps taken while it was
// hashed.
func builtSource(t *testing.T, path string, b *Built) *Source {
	t.Helper()
	s, err := NewSource(path, b.Folder, b.Manifest, b.Stamps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readSource reads every chunk of s; it returns the bytes, or the first error.
func readSource(s *Source) ([]byte, error) {
	buf := make([]byte, s.m.ChunkSize)
	var out []byte
	for i := 0; i < s.m.Chunks(); i++ {
		data, err := s.ReadChunk(i, buf)
		if err != nil {
			return out, err
		}
		out = append(out, data...)
	}
	return out, nil
}

func TestSourceServesByStampUntilTheFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.bin")
	content := random(t, 6*MinChunkSize+99)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Build(context.Background(), path, MinChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Stamps) != 1 || !b.Stamps[0].valid() {
		t.Fatalf("stamps %+v, want one for the file", b.Stamps)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mtime := fi.ModTime()

	s := builtSource(t, path, b)
	if got, err := readSource(s); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("served %d bytes, %v", len(got), err)
	}
	if s.Trusted() != 1 {
		t.Fatal("an unchanged file is not served by its stamp")
	}

	// Touched, same bytes: still served, every chunk hashed from now on.
	if err := os.Chtimes(path, time.Time{}, mtime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := readSource(s); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("touched file: served %d bytes, %v", len(got), err)
	}
	if s.Trusted() != 0 {
		t.Fatal("a touched file is still served by its old stamp")
	}

	// Edited in place with its modification time put back: the change
	// time gives it away, and the edited chunk is not served.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{content[3*MinChunkSize] ^ 0xff}, 3*MinChunkSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, time.Time{}, mtime); err != nil {
		t.Fatal(err)
	}
	s2 := builtSource(t, path, b)
	got, err := readSource(s2)
	if !errors.Is(err, ErrChanged) || len(got) != 3*MinChunkSize {
		t.Fatalf("edited file: served %d bytes then %v; want the 3 chunks before the edit, then ErrChanged", len(got), err)
	}

	// Replaced by another file under the same name: not served.
	other := filepath.Join(dir, "other.bin")
	if err := os.WriteFile(other, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(other, time.Time{}, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	s3 := builtSource(t, path, b)
	if got, err := readSource(s3); err != nil || !bytes.Equal(got, content) || s3.Trusted() != 0 {
		t.Fatalf("same bytes in a new file: served %d bytes, %v, trusted %d; want all of it, hashed", len(got), err, s3.Trusted())
	}

	// Cut short: not served past the cut.
	if err := os.Truncate(path, 2*MinChunkSize); err != nil {
		t.Fatal(err)
	}
	s4 := builtSource(t, path, b)
	if _, err := readSource(s4); !errors.Is(err, ErrChanged) {
		t.Fatalf("truncated file: %v, want ErrChanged", err)
	}

	// Gone.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s5 := builtSource(t, path, b)
	if _, err := readSource(s5); !errors.Is(err, ErrChanged) {
		t.Fatalf("removed file: %v, want ErrChanged", err)
	}
}

func TestReceivedCopyIsServedByItsStamps(t *testing.T) {
	src := filepath.Join(t.TempDir(), "holiday")
	tree := map[string][]byte{"a.txt": []byte("alpha"), "sub/b.bin": random(t, 3*MinChunkSize+5), "sub/empty": nil}
	writeTree(t, src, tree)
	o, m := offerOf(t, src)
	s, err := NewSource(src, true, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	final, _ := receive(t, t.TempDir(), o, m, s)
	stamps := Stamps(final, true, m)
	copySrc, err := NewSource(final, true, m, stamps)
	if err != nil {
		t.Fatal(err)
	}
	defer copySrc.Close()
	if copySrc.Trusted() != m.FileCount() {
		t.Fatalf("%d of %d files of the verified copy have a stamp", copySrc.Trusted(), m.FileCount())
	}
	want, err := readSource(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readSource(copySrc); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the copy served %d bytes, %v", len(got), err)
	}
	// A file of the copy rewritten by its user: not served.
	if err := os.WriteFile(filepath.Join(final, "sub", "b.bin"), random(t, 3*MinChunkSize+5), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSource(copySrc); !errors.Is(err, ErrChanged) {
		t.Fatalf("rewritten copy: %v, want ErrChanged", err)
	}
}
