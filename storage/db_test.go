package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lanchat/lanchat/storage/storagetest"
)

func TestOpenCreatesSchema(t *testing.T) {
	db := openTemp(t)
	info, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("database mode %04o, want 0600", got)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if got := string(meta.Get(keyMagic)); got != dbMagic {
			t.Errorf("magic %q, want %q", got, dbMagic)
		}
		if got := binary.BigEndian.Uint32(meta.Get(keySchema)); got != SchemaVersion {
			t.Errorf("schema %d, want %d", got, SchemaVersion)
		}
		for _, b := range requiredBuckets {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %q missing", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPIDFileWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pidPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("pid file %q, want %q", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(pidPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Close: %v", err)
	}
}

func TestReopenCurrentFileDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	makeDB(t, path)
	before, err := os.ReadFile(path)
	must(t, err)
	for _, ro := range []bool{false, true} {
		db, err := Open(path, Options{ReadOnly: ro})
		must(t, err)
		must(t, db.Close())
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Error("opening a current file changed it")
	}
	checkFile(t, path)
}

// makeDB creates a lanchat database with an identity and a trusted peer at
// path and closes it.
func makeDB(t *testing.T, path string) {
	t.Helper()
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutIdentity(testIdentity(t, 1, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Trust(testFingerprint(2), "bob"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesAndNeverRewrites(t *testing.T) {
	foreign := func(t *testing.T, path string) {
		b, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("meta"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("magic"), []byte("someone else"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    error
	}{
		{"text file", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("not a database\n"), 1000))
		}, ErrNotLanchat},
		{"tiny file", func(t *testing.T, path string) { writeFile(t, path, []byte("hi\n")) }, ErrNotLanchat},
		{"other bbolt database", func(t *testing.T, path string) {
			b, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err }); err != nil {
				t.Fatal(err)
			}
		}, ErrNotLanchat},
		{"other marker", foreign, ErrNotLanchat},
		{"newer schema", func(t *testing.T, path string) {
			makeDB(t, path)
			must(t, storagetest.SetSchema(path, SchemaVersion+1))
		}, ErrNewerSchema},
		{"schema unreadable", func(t *testing.T, path string) {
			makeDB(t, path)
			must(t, storagetest.SetSchema(path, 0))
		}, ErrCorrupt},
		{"damaged pages", func(t *testing.T, path string) {
			makeDB(t, path)
			must(t, storagetest.DamagePages(path))
		}, ErrCorrupt},
		{"damaged meta pages", func(t *testing.T, path string) {
			makeDB(t, path)
			must(t, storagetest.DamageMeta(path))
		}, ErrCorrupt},
		{"truncated", func(t *testing.T, path string) {
			makeDB(t, path)
			b, err := os.ReadFile(path)
			must(t, err)
			writeFile(t, path, b[:len(b)/2])
		}, ErrCorrupt},
		{"one page left", func(t *testing.T, path string) {
			makeDB(t, path)
			b, err := os.ReadFile(path)
			must(t, err)
			writeFile(t, path, b[:4096])
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lanchat.db")
			tt.prepare(t, path)
			before, err := os.ReadFile(path)
			must(t, err)
			for _, ro := range []bool{false, true} {
				db, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					db.Close()
				}
				if !errors.Is(err, tt.want) {
					t.Errorf("Open(ReadOnly=%v) = %v, want %v", ro, err, tt.want)
				}
				t.Logf("ReadOnly=%v: %v", ro, err)
			}
			after, err := os.ReadFile(path)
			must(t, err)
			if !bytes.Equal(before, after) {
				t.Error("the file was rewritten")
			}
			if _, err := os.Stat(pidPath(path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pid file left behind: %v", err)
			}
		})
	}
}

func TestSecondProcessGetsLockedWithPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	makeDB(t, path)
	pid := startHolder(t, path)
	for _, opts := range []Options{DefaultOptions(), {ReadOnly: true, Timeout: 100 * time.Millisecond}} {
		ro := opts.ReadOnly
		start := time.Now()
		db, err := Open(path, opts)
		elapsed := time.Since(start)
		if err == nil {
			db.Close()
			t.Fatalf("Open(ReadOnly=%v) succeeded while another process holds the file", ro)
		}
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("Open(ReadOnly=%v) = %v, want ErrLocked", ro, err)
		}
		if le.PID != pid {
			t.Errorf("LockedError.PID = %d, want the holder's %d", le.PID, pid)
		}
		if want := "(pid " + strconv.Itoa(pid) + ")"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not name %s", err, want)
		}
		t.Logf("ReadOnly=%v, Timeout=%v: refused after %v", ro, opts.Timeout, elapsed.Round(time.Millisecond))
	}
}

func TestReadPIDFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    int
	}{
		{"this process", strconv.Itoa(os.Getpid()) + "\n", os.Getpid()},
		{"no newline", strconv.Itoa(os.Getpid()), os.Getpid()},
		{"garbage", "hello\n", 0},
		{"negative", "-5\n", 0},
		{"empty", "", 0},
		{"process gone", strconv.Itoa(exitedPID(t)) + "\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			writeFile(t, p, []byte(tt.content))
			if got := readPIDFile(p); got != tt.want {
				t.Errorf("readPIDFile(%q) = %d, want %d", tt.content, got, tt.want)
			}
		})
	}
	if got := readPIDFile(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file: %d, want 0", got)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("read-only open of a missing file: %v, want ErrNoIdentity", err)
	}
	makeDB(t, path)
	before, err := os.ReadFile(path)
	must(t, err)
	a, err := Open(path, Options{ReadOnly: true})
	must(t, err)
	defer a.Close()
	b, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	defer b.Close()
	if _, err := a.Identity(); err != nil {
		t.Errorf("Identity: %v", err)
	}
	if _, err := a.Trust(testFingerprint(3), ""); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Trust on a read-only database: %v, want ErrReadOnly", err)
	}
	if err := a.PutIdentity(testIdentity(t, 4, false)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("PutIdentity on a read-only database: %v, want ErrReadOnly", err)
	}
	if _, err := os.Stat(pidPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reader wrote a pid file: %v", err)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(before, after) {
		t.Error("read-only opens changed the file")
	}
}

func TestEmptyFileIsSetUp(t *testing.T) {
	for _, name := range []string{"zero bytes", "bbolt without buckets"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lanchat.db")
			if name == "zero bytes" {
				writeFile(t, path, nil)
			} else {
				b, err := bbolt.Open(path, 0o600, nil)
				must(t, err)
				must(t, b.Close())
			}
			db, err := Open(path, DefaultOptions())
			must(t, err)
			if _, err := db.Identity(); !errors.Is(err, ErrNoIdentity) {
				t.Errorf("Identity: %v, want ErrNoIdentity", err)
			}
			must(t, db.Close())
			checkFile(t, path)
		})
	}
}

func TestBackup(t *testing.T) {
	db := openTemp(t)
	id := testIdentity(t, 1, true)
	must(t, db.PutIdentity(id))
	path := filepath.Join(t.TempDir(), "copy.db")
	must(t, db.Backup(path))
	if err := db.Backup(path); !errors.Is(err, os.ErrExist) {
		t.Errorf("Backup over an existing file: %v, want ErrExist", err)
	}
	info, err := os.Stat(path)
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %04o, want 0600", info.Mode().Perm())
	}
	cp, err := Open(path, Options{ReadOnly: true})
	must(t, err)
	defer cp.Close()
	got, err := cp.Identity()
	must(t, err)
	if got.Key != id.Key || !bytes.Equal(got.Secret, id.Secret) {
		t.Error("the backup holds a different identity")
	}
}

// exitedPID returns the pid of a process that has exited.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
