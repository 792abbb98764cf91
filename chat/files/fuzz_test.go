package files

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seeds returns the committed corpus testdata/fuzz/<name>/ at the
// repository root, failing if it is empty.
func seeds(f *testing.F, name string) {
	f.Helper()
	dir := filepath.Join("..", "..", "testdata", "fuzz", name)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		f.Fatalf("seed corpus %s: %v (%d files)", dir, err, len(ents))
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzFileOffer decodes offers and manifests from the network: never a
// panic, and what decodes re-encodes to the same bytes.
func FuzzFileOffer(f *testing.F) {
	seeds(f, "FuzzFileOffer")
	f.Fuzz(func(t *testing.T, b []byte) {
		if o, err := DecodeOffer(b); err == nil && !bytes.Equal(o.Encode(), b) {
			t.Fatalf("offer re-encoding differs")
		}
		if m, err := DecodeManifest(b); err == nil {
			if !bytes.Equal(m.Encode(), b) {
				t.Fatalf("manifest re-encoding differs")
			}
			for i := 0; i < m.Chunks() && i < 1000; i++ {
				c := m.Locate(i)
				if c.Len <= 0 || c.Len > int(m.ChunkSize) || m.Entries[c.Entry].Dir {
					t.Fatalf("chunk %d located at %+v", i, c)
				}
			}
		}
		_, _ = ParseBody(string(b))
	})
}

// FuzzFileFrames decodes file-request, file-data and file-none bodies.
func FuzzFileFrames(f *testing.F) {
	seeds(f, "FuzzFileFrames")
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeRequest(b); err == nil && !bytes.Equal(EncodeRequest(r), b) {
			t.Fatalf("request re-encoding differs")
		}
		if r, d, err := DecodeData(b); err == nil && !bytes.Equal(EncodeData(r, d), b) {
			t.Fatalf("data re-encoding differs")
		}
		if r, why, err := DecodeNone(b); err == nil && !bytes.Equal(EncodeNone(r, why), b) {
			t.Fatalf("none re-encoding differs")
		}
		if root, count, bits, err := DecodeHave(b); err == nil {
			if got := EncodeHave(root, count, func(i int) bool { return HaveBit(bits, i) }); !bytes.Equal(got, b) {
				t.Fatalf("have re-encoding differs")
			}
		}
	})
}

func TestPutDataIsEncodeData(t *testing.T) {
	r := Ref{Kind: KindChunk, Index: 9}
	r.Root[3] = 7
	frame := make([]byte, DataHeaderSize+16)
	copy(frame[DataHeaderSize:], "in place chunk!!")
	if got := PutData(frame, r, frame[DataHeaderSize:]); !bytes.Equal(got, EncodeData(r, []byte("in place chunk!!"))) {
		t.Fatalf("in place: %x", got)
	}
	if got := PutData(make([]byte, 64), r, []byte("copied")); !bytes.Equal(got, EncodeData(r, []byte("copied"))) {
		t.Fatalf("copied: %x", got)
	}
}
