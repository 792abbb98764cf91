package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// fuzzKeyring is the fixed data key the fuzz seeds were sealed with.
func fuzzKeyring(t testing.TB) *keyring {
	k, err := newKeyring(bytes.Repeat([]byte{7}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzSealedPeerRecord: any stored trusted-peer record decodes or is
// refused with an error, never a panic; one that decodes opened its name
// under the fixed key, and re-encodes to the same bytes.
func FuzzSealedPeerRecord(f *testing.F) {
	addSeeds(f, "FuzzSealedPeerRecord")
	k := fuzzKeyring(f)
	fp := lcrypto.Fingerprint{1}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, sealed, err := decodeSealedPeer(fp, b, k)
		if err != nil {
			if !errors.Is(err, ErrRecord) && !errors.Is(err, ErrDamaged) {
				t.Fatalf("decode error %v is neither ErrRecord nor ErrDamaged", err)
			}
			return
		}
		if again := encodeSealedPeer(p, sealed); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding changed the bytes:\n in  %x\n out %x", b, again)
		}
	})
}

// FuzzExportFile: any file given to import is read to its end or refused
// with an error, never a panic, never an allocation past the record cap.
func FuzzExportFile(f *testing.F) {
	addSeeds(f, "FuzzExportFile")
	f.Fuzz(func(t *testing.T, b []byte) {
		if cheapKDF(b) != nil {
			return // the caps bound argon2id, but at up to 1 GiB: too slow to fuzz
		}
		er, err := openExport(bytes.NewReader(b), []byte("fuzz"))
		if err != nil {
			return
		}
		for {
			typ, body, err := er.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrExportFormat) {
					t.Fatalf("read error %v is not ErrExportFormat", err)
				}
				return
			}
			if _, err := decodeImportRec(typ, body); err != nil && !errors.Is(err, ErrExportFormat) {
				t.Fatalf("decode error %v is not ErrExportFormat", err)
			}
		}
	})
}

// cheapKDF refuses an export whose key asks for more than a test's argon2id.
func cheapKDF(b []byte) error {
	h := len(exportMagic) + 4
	if len(b) < h {
		return nil
	}
	blob := b[h:]
	p, err := lcrypto.SealedParams(blob[:min(len(blob), int(binary.BigEndian.Uint32(b[h-4:])))])
	if err == nil && (p.MemoryKiB > 1024 || p.Time > 2 || p.Threads > 2) {
		return errors.New("costly")
	}
	return nil
}

// TestWriteFuzzSeeds writes the seeds of the two targets above when
// LANCHAT_WRITE_SEEDS is set (run it once after a format change).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LANCHAT_WRITE_SEEDS") == "" {
		t.Skip("set LANCHAT_WRITE_SEEDS=1 to rewrite the seed corpora")
	}
	k := fuzzKeyring(t)
	fp := lcrypto.Fingerprint{1}
	write := func(target, name string, b []byte) {
		dir := filepath.Join("..", "testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"", "bob", "a name of some length"} {
		p := TrustedPeer{AddedAt: timeFrom(1e18), LastSeen: timeFrom(uint64(i))}
		write("FuzzSealedPeerRecord", "seed-"+string(rune('0'+i)), encodeSealedPeer(p, k.seal([]byte(name), recordAD(fp[:], bucketTrusted))))
	}
	src := newSealedDB(t, filepath.Join(t.TempDir(), "src.db"), []byte("p"), "nick")
	defer src.Close()
	if _, err := src.Trust(lcrypto.Fingerprint{5}, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddMessages([]StoredMessage{msgIn("lobby", 1, 1, 1, "hi")}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x")
	if _, err := src.ExportFile(out, ExportOptions{Passphrase: []byte("p"), FilePassphrase: []byte("fuzz"), KDF: fastKDF, Trust: true, History: true}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	write("FuzzExportFile", "seed-0", b)
}
