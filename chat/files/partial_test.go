package files

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
)

// WriteHashed checks the caller's sum against the manifest, and a sum is
// only ever of the bytes given: a wrong sum, or bad bytes with their own
// sum, write nothing.
func TestWriteHashedChecksTheSum(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.bin")
	content := random(t, 3*MinChunkSize)
	writeTree(t, dir, map[string][]byte{"a.bin": content})
	o, m := offerOf(t, src)
	out := t.TempDir()
	p, err := OpenPartial(out, o, m)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	good := content[:MinChunkSize]
	bad := bytes.Clone(good)
	bad[0] ^= 1
	if err := p.WriteHashed(0, good, sha256.Sum256(bad)); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("wrong sum: %v", err)
	}
	if err := p.WriteHashed(0, bad, sha256.Sum256(bad)); !errors.Is(err, ErrBadChunk) {
		t.Fatalf("bad chunk with its own sum: %v", err)
	}
	if p.Have(0) || p.Missing() != 3 {
		t.Fatal("a refused chunk counts")
	}
	if err := p.WriteHashed(0, good, sha256.Sum256(good)); err != nil || !p.Have(0) {
		t.Fatalf("good chunk: %v", err)
	}
}
