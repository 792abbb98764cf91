package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// exportFixture makes a sealed database with a trust list, joined rooms and
// messages, and exports it (with everything) to a file.
func exportFixture(t *testing.T) (src *DB, file string) {
	t.Helper()
	dir := t.TempDir()
	src = newSealedDB(t, filepath.Join(dir, "src.db"), []byte("here"), "alice")
	t.Cleanup(func() { src.Close() })
	if _, err := src.Trust(lcrypto.Fingerprint{5}, "bob the builder"); err != nil {
		t.Fatal(err)
	}
	if err := src.SetJoinedRooms([]string{"lobby", "ops"}); err != nil {
		t.Fatal(err)
	}
	var msgs []StoredMessage
	for i := range 30 {
		msgs = append(msgs, msgIn([]string{"lobby", "ops"}[i%2], 1, uint64(i/2+1), uint64(i+1), fmt.Sprint("m", i)))
	}
	if _, err := src.AddMessages(msgs); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, "alice.lcexport")
	sum, err := src.ExportFile(file, ExportOptions{Passphrase: []byte("here"), FilePassphrase: []byte("file"), KDF: fastKDF, Trust: true, History: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trusted != 1 || sum.Rooms != 2 || sum.Messages != 30 {
		t.Fatalf("export summary %+v", sum)
	}
	return src, file
}

// TestExportImport: an export on one data dir imported on another gives
// the same fingerprint, secret key, nickname, trust list and history.
func TestExportImport(t *testing.T) {
	src, file := exportFixture(t)
	if fileHas(t, file, []byte("alice")) || fileHas(t, file, []byte("bob the builder")) || fileHas(t, file, []byte("lobby")) {
		t.Error("the export holds names in the clear")
	}
	dst, err := Open(filepath.Join(t.TempDir(), "dst.db"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.ImportFile(file, ImportOptions{FilePassphrase: []byte("file"), Passphrase: []byte("new home"), KDF: fastKDF}); err != nil {
		t.Fatal(err)
	}
	want, got := sealedContent(t, src), sealedContent(t, dst)
	sameContent(t, got, want)
	a, _ := src.Identity()
	b, _ := dst.Identity()
	if a.Key != b.Key || a.NoiseStatic != b.NoiseStatic {
		t.Errorf("imported identity %s, want %s", b.Key.Fingerprint(), a.Key.Fingerprint())
	}
	secret, err := lcrypto.Unseal(b.Secret, []byte("new home"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := lcrypto.IdentityFromSecret(secret)
	if err != nil || id.Public() != a.Key {
		t.Errorf("the imported secret key is not the identity's: %v", err)
	}
	if info, err := dst.DataKey(); err != nil || !info.Sealed {
		t.Errorf("the imported history is not sealed with a passphrase: %+v %v", info, err)
	}
	// a second import refuses to replace the identity without Force
	if _, err := dst.ImportFile(file, ImportOptions{FilePassphrase: []byte("file"), Passphrase: []byte("new home"), KDF: fastKDF}); !errors.Is(err, ErrIdentityExists) {
		t.Errorf("import over an identity: %v, want ErrIdentityExists", err)
	}
}

// TestImportRefusesBadFiles: a wrong passphrase, a cut or altered file
// imports nothing.
func TestImportRefusesBadFiles(t *testing.T) {
	_, file := exportFixture(t)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut")
	if err := os.WriteFile(cut, good[:len(good)-40], 0o600); err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(t.TempDir(), "altered")
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(altered, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, pass string
		want             error
	}{
		{"wrong passphrase", file, "nope", lcrypto.ErrWrongPassphrase},
		{"cut short", cut, "file", ErrExportFormat},
		{"altered", altered, "file", ErrExportFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, err := Open(filepath.Join(t.TempDir(), "dst.db"), DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			if _, err := dst.ImportFile(tc.path, ImportOptions{FilePassphrase: []byte(tc.pass), Passphrase: []byte("x"), KDF: fastKDF}); !errors.Is(err, tc.want) {
				t.Errorf("import: %v, want %v", err, tc.want)
			}
			if _, err := dst.Identity(); !errors.Is(err, ErrNoIdentity) {
				t.Errorf("something was imported: %v", err)
			}
		})
	}
}
