package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lanchat/lanchat/storage"
	"github.com/lanchat/lanchat/storage/storagetest"
)

func TestSecondProcessOnTheSameDataDir(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	db, err := storage.Open(filepath.Join(dir, dbFile), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pid := strconv.Itoa(os.Getpid())
	// Each waits out the lock timeout (1 s): run them side by side (go test
	// runs at most GOMAXPROCS parallel tests, 2 on the CI machine).
	t.Run("group", func(t *testing.T) {
		for _, args := range [][]string{{"trust", bob.String()}, {"id"}} { // read-write, read-only
			t.Run(args[0], func(t *testing.T) {
				t.Parallel()
				r := (&cli{t: t, env: c.env}).must(1, append(args, "--data-dir", dir)...)
				wantContains(t, args[0], r.stderr,
					"the data dir is in use by another lanchat (pid "+pid+")",
					"lanchat: hint: stop that lanchat first (process "+pid+")")
			})
		}
	})
}

func TestRefusedDatabases(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(path string) error
		message string
	}{
		{"corrupt", storagetest.DamagePages, "the database is damaged"},
		{"newer schema", func(p string) error { return storagetest.SetSchema(p, storage.SchemaVersion+1) }, "the database was written by a newer lanchat"},
		{"not a database", func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte("hello "), 2000), 0o600) }, "not a lanchat database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			dir, _ := c.initNode("alice", "--no-passphrase")
			_, bob := newCLI(t).initNode("bob", "--no-passphrase")
			path := filepath.Join(dir, dbFile)
			if err := tt.damage(path); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"id"}, {"trusted"}, {"trust", bob.String()}, {"init", "--force", "--no-passphrase"}} {
				r := c.must(1, append(args, "--data-dir", dir)...)
				wantContains(t, args[0], r.stderr, "lanchat: open "+path+": "+tt.message, "lanchat: hint: ")
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("lanchat rewrote the refused file")
			}
		})
	}
}
