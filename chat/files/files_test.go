package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckPathRefusesTraversal(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", `a\..\b`, "C:x", "a/\x00b", "a/\u202eb", "..", "."} {
		if err := CheckPath(p); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("CheckPath(%q) = %v, want ErrUnsafePath", p, err)
		}
	}
	for _, p := range []string{"a", "a/b/c.txt", "ünï/cödé", "..a", "a..", ".hidden"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q) = %v", p, err)
		}
	}
}

// writeTree makes files under dir: path → content.
func writeTree(t *testing.T, dir string, tree map[string][]byte) {
	t.Helper()
	for p, b := range tree {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// offerOf builds path's manifest and offer, round-tripped through their
// encodings as a receiver gets them.
func offerOf(t *testing.T, path string) (*Offer, *Manifest) {
	t.Helper()
	b, err := Build(context.Background(), path, MinChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	enc := b.Manifest.Encode()
	o := &Offer{Name: b.Name, Folder: b.Folder, Size: b.Manifest.Size(), Files: uint32(b.Manifest.FileCount()),
		ChunkSize: b.Manifest.ChunkSize, ManifestSize: uint32(len(enc)), Root: Root(enc), MIME: "application/pdf"}
	got, err := ParseBody("hello\n" + o.Body())
	if err != nil || got == nil || *got != *o {
		t.Fatalf("offer round trip: %+v, %v", got, err)
	}
	m, err := DecodeManifest(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Encode(), enc) {
		t.Fatal("manifest does not re-encode to the same bytes")
	}
	if err := o.Matches(m); err != nil {
		t.Fatal(err)
	}
	return o, m
}

// receive copies every chunk from src into a partial in out, skipping those
// already verified; it returns the final path and the chunks written.
func receive(t *testing.T, out string, o *Offer, m *Manifest, src *Source) (string, int) {
	t.Helper()
	p, err := OpenPartial(out, o, m)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, m.ChunkSize)
	wrote := 0
	for i := 0; i < m.Chunks(); i++ {
		if p.Have(i) {
			continue
		}
		data, err := src.ReadChunk(i, buf)
		if err != nil {
			t.Fatalf("source cannot read chunk %d: %v", i, err)
		}
		if err := p.Write(i, data); err != nil {
			t.Fatal(err)
		}
		wrote++
	}
	final, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return final, wrote
}

func TestFolderArrivesWhole(t *testing.T) {
	src := filepath.Join(t.TempDir(), "holiday")
	tree := map[string][]byte{"a.txt": []byte("alpha"), "sub/b.bin": random(t, 3*MinChunkSize+5), "sub/deep/empty": nil}
	writeTree(t, src, tree)
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	b, err := Build(context.Background(), src, MinChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Skipped) != 1 || b.Skipped[0] != "link" {
		t.Fatalf("skipped %v, want the symlink", b.Skipped)
	}
	o, m := offerOf(t, src)
	s, err := NewSource(src, true, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := t.TempDir()
	final, _ := receive(t, out, o, m, s)
	if final != filepath.Join(out, "holiday") {
		t.Fatalf("final %s", final)
	}
	for p, want := range tree {
		full := filepath.Join(final, filepath.FromSlash(p))
		got, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, %v", p, len(got), err)
		}
		if fi, _ := os.Stat(full); fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("%s is executable: %v", p, fi.Mode())
		}
	}
	// A second copy never overwrites the first.
	final2, _ := receive(t, out, o, m, s)
	if final2 != filepath.Join(out, "holiday (1)") {
		t.Fatalf("second copy at %s", final2)
	}
}

func TestPartialRejectsBadChunkAndResumes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big.pdf")
	content := random(t, 10*MinChunkSize+123)
	writeTree(t, dir, map[string][]byte{"big.pdf": content})
	o, m := offerOf(t, src)
	s, err := NewSource(src, false, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := t.TempDir()
	p, err := OpenPartial(out, o, m)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(content[:MinChunkSize])
	bad[7] ^= 1
	if err := p.Write(0, bad); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("tampered chunk: %v", err)
	}
	buf := make([]byte, m.ChunkSize)
	for i := 0; i < 5; i++ {
		data, err := s.ReadChunk(i, buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Write(i, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Finish(); err == nil {
		t.Fatal("Finish with chunks missing")
	}
	p.Close()
	if _, err := os.Stat(filepath.Join(out, "big.pdf")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final name exists before the file verified: %v", err)
	}
	// Damage chunk 3 on disk: the resume refetches it and the rest.
	f, err := os.OpenFile(filepath.Join(out, "big.pdf"+PartialSuffix), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, 3*MinChunkSize+1)
	f.Close()
	final, wrote := receive(t, out, o, m, s)
	if wrote != m.Chunks()-4 {
		t.Fatalf("resume wrote %d chunks, want %d (4 kept)", wrote, m.Chunks()-4)
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	// The sender's file changes: it serves nothing that no longer verifies.
	writeTree(t, dir, map[string][]byte{"big.pdf": random(t, len(content))})
	if _, err := s.ReadChunk(2, buf); !errors.Is(err, ErrChanged) {
		t.Fatalf("served a chunk that no longer matches the offer: %v", err)
	}
}

func TestDecodeManifestRefuses(t *testing.T) {
	good := &Manifest{ChunkSize: MinChunkSize, Entries: []Entry{{Path: "a", Size: 1}}, Hashes: make([][HashSize]byte, 1)}
	cases := map[string]*Manifest{
		"traversal":      {ChunkSize: MinChunkSize, Entries: []Entry{{Path: "../a", Size: 0}}},
		"absolute":       {ChunkSize: MinChunkSize, Entries: []Entry{{Path: "/etc/x"}}},
		"duplicate":      {ChunkSize: MinChunkSize, Entries: []Entry{{Path: "a"}, {Path: "a"}}},
		"inside a file":  {ChunkSize: MinChunkSize, Entries: []Entry{{Path: "a"}, {Path: "a/b"}}},
		"chunk size":     {ChunkSize: 1, Entries: []Entry{{Path: "a"}}},
		"hashes missing": {ChunkSize: MinChunkSize, Entries: []Entry{{Path: "a", Size: 5}}},
	}
	if _, err := DecodeManifest(good.Encode()); err != nil {
		t.Fatal(err)
	}
	for name, m := range cases {
		if _, err := DecodeManifest(m.Encode()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeManifest(append(good.Encode(), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

func TestNumbered(t *testing.T) {
	for _, c := range []struct {
		name   string
		folder bool
		k      int
		want   string
	}{{"a.pdf", false, 0, "a.pdf"}, {"a.pdf", false, 2, "a (2).pdf"}, {"a.b", true, 1, "a.b (1)"}, {".rc", false, 1, ".rc (1)"}} {
		if got := Numbered(c.name, c.folder, c.k); got != c.want {
			t.Errorf("Numbered(%q,%v,%d) = %q, want %q", c.name, c.folder, c.k, got, c.want)
		}
	}
}

// A symlink planted inside the partial folder does not lead the writer out
// of the output folder.
func TestPartialDoesNotFollowSymlinksOut(t *testing.T) {
	src := filepath.Join(t.TempDir(), "holiday")
	writeTree(t, src, map[string][]byte{"sub/b.txt": []byte("world!")})
	o, m := offerOf(t, src)
	out, elsewhere := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(out, "holiday"+PartialSuffix), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(out, "holiday"+PartialSuffix, "sub")); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPartial(out, o, m)
	if err == nil {
		err = p.Write(0, []byte("world!"))
		p.Close()
	}
	if err == nil {
		t.Fatal("wrote through a symlink that leads out of the output folder")
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("wrote %v outside the output folder", ents)
	}
}

// Offsets past 4 GiB and folders of 10,000 files fit the formats.
func TestLargeFilesAndManyFiles(t *testing.T) {
	const size = 5<<30 + 123
	m := &Manifest{ChunkSize: DefaultChunkSize, Entries: []Entry{{Path: "big.iso", Size: size}}}
	m.Hashes = make([][HashSize]byte, (size+DefaultChunkSize-1)/DefaultChunkSize)
	m2, err := DecodeManifest(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	last := m2.Locate(m2.Chunks() - 1)
	if last.Offset != int64(m2.Chunks()-1)*DefaultChunkSize || last.Len != size%DefaultChunkSize || last.Offset < 4<<30 {
		t.Fatalf("last chunk at %+v", last)
	}
	dir := filepath.Join(t.TempDir(), "many")
	for i := range 10000 {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%05d", i))
		if i%50 == i {
			os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err := os.WriteFile(p, []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Build(context.Background(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.FileCount() != 10000 || b.Manifest.Chunks() != 10000 {
		t.Fatalf("%d files, %d chunks", b.Manifest.FileCount(), b.Manifest.Chunks())
	}
	enc := b.Manifest.Encode()
	if _, err := DecodeManifest(enc); err != nil {
		t.Fatal(err)
	}
	t.Logf("manifest of 10,000 files: %d bytes (%d pieces)", len(enc), ManifestPieces(uint32(len(enc))))
}
