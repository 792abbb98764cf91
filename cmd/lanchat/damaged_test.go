package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/storage/storagetest"
)

// damagedCases is how many seeded random damages TestEveryDamageIsRefused
// tries; each runs four commands of the real binary (~10 ms per damage).
const damagedCases = 150

// pristineDatabase makes a database with an identity, trusted peers and 400
// messages (a few hundred KiB: branch pages, overflow-free leaves, a
// freelist) and returns its bytes.
func pristineDatabase(t *testing.T, c *cli) []byte {
	t.Helper()
	dir, _ := c.initNode("alice", "--no-passphrase")
	for _, name := range []string{"bob", "carol", "dave"} {
		_, fp := newCLI(t).initNode(name, "--no-passphrase")
		c.must(0, "trust", fp.String(), "--name", name, "--data-dir", dir)
	}
	var lines strings.Builder
	for i := range 400 {
		fmt.Fprintf(&lines, "message %d, padded to fill pages quickly: %s\n", i, strings.Repeat("x", i%97))
	}
	if r := c.run(lines.String(), "chat", "--plain", "--no-discovery", "--peer", "127.0.0.1:9", "--port", "0", "--data-dir", dir); r.code != 0 {
		t.Fatalf("filling the database: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryDamageIsRefused damages a real database in many seeded random
// ways and runs readers (history, id, trusted) and a node (send) on each:
// every run exits 1 with the "damaged" error and a hint, prints no panic or
// fault, and leaves the file as it was.
func TestEveryDamageIsRefused(t *testing.T) {
	c := newCLI(t)
	pristine := pristineDatabase(t, c)
	rng := rand.New(rand.NewPCG(11, 2026))
	dir := filepath.Join(t.TempDir(), "damaged")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dbFile)
	commands := [][]string{
		{"history"}, {"id"}, {"trusted"},
		{"send", "--no-discovery", "--peer", "127.0.0.1:9", "--timeout", "0", "probe"},
	}
	for i := range damagedCases {
		if err := os.WriteFile(path, pristine, 0o600); err != nil {
			t.Fatal(err)
		}
		what, err := storagetest.DamageRandomPage(path, rng)
		if err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range commands {
			r := c.run("", append(args, "--data-dir", dir)...)
			name := fmt.Sprintf("damage %d (%s), lanchat %s", i, what, args[0])
			if r.code != 1 || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("%s: exit %d, want 1 and no crash\n%s", name, r.code, r.stderr)
				continue
			}
			wantContains(t, name, r.stderr, "lanchat: open "+path+": the database is damaged", "\nlanchat: hint: ")
			if strings.Contains(r.stderr, ".bak-") {
				t.Errorf("%s: the hint points at backups, there are none:\n%s", name, r.stderr)
			}
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("damage %d (%s): the file was written to", i, what)
		}
	}
}

// TestDamagedHintNamesTheBackup: with a backup beside the damaged file, the
// hint names the newest one.
func TestDamagedHintNamesTheBackup(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	c.must(0, "init", "--force", "--no-passphrase", "--name", "alice", "--data-dir", dir)
	backups, err := filepath.Glob(filepath.Join(dir, dbFile+".bak-*"))
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups %v, %v; want one", backups, err)
	}
	if err := storagetest.DamagePages(filepath.Join(dir, dbFile)); err != nil {
		t.Fatal(err)
	}
	r := c.must(1, "id", "--data-dir", dir)
	wantContains(t, "id", r.stderr, "the database is damaged", "lanchat: hint: ", "restore the newest backup (mv "+backups[0]+" ")
}
