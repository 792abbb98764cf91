package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/storage"
)

func TestInitAndID(t *testing.T) {
	c := newCLI(t, envPassphrase+"=correct horse")
	dir, fp := c.initNode("alice")

	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, dbFile): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile+".pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left after init: %v", err)
	}

	r := c.must(0, "id", "--data-dir", dir)
	wantContains(t, "id", r.stdout, "Fingerprint: "+fp.String(), "Nickname:    alice", "Data dir:    "+dir, "sealed with a passphrase")

	var got map[string]any
	r = c.must(0, "id", "--json", "--data-dir", dir)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("id --json: %v\n%s", err, r.stdout)
	}
	for k, want := range map[string]any{"fingerprint": fp.String(), "short": fp.Short(), "nick": "alice", "data_dir": dir, "sealed": true} {
		if got[k] != want {
			t.Errorf("id --json: %s = %v, want %v", k, got[k], want)
		}
	}
	for _, k := range []string{"identity_key", "noise_static_key", "created_at", "kdf"} {
		if got[k] == nil {
			t.Errorf("id --json: no %s", k)
		}
	}
}

func TestInitNoPassphrase(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "d")
	r := c.must(0, "init", "--no-passphrase", "--data-dir", dir)
	wantContains(t, "init stderr", r.stderr, "unsealed")
	r = c.must(0, "id", "--data-dir", dir)
	wantContains(t, "id", r.stdout, "NOT sealed", "Nickname:    (none)")
	r = c.must(0, "id", "--json", "--data-dir", dir)
	wantContains(t, "id --json", r.stdout, `"sealed": false`)
	if strings.Contains(r.stdout, `"kdf"`) {
		t.Errorf("id --json shows KDF parameters for an unsealed key:\n%s", r.stdout)
	}
	c.must(0, "id", "--check-passphrase", "--data-dir", dir) // nothing to unlock: no prompt
}

func TestInitUsesLanchatHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	c := newCLI(t, envHome+"="+home)
	c.must(0, "init", "--no-passphrase", "--name", "alice")
	r := c.must(0, "id")
	wantContains(t, "id", r.stdout, "Data dir:    "+home)
}

func TestInitRefusesExistingIdentity(t *testing.T) {
	c := newCLI(t, envPassphrase+"=pw")
	dir, fp := c.initNode("alice")
	r := c.must(1, "init", "--name", "mallory", "--data-dir", dir)
	wantContains(t, "init stderr", r.stderr, "lanchat: init: "+dir+" already has an identity", "lanchat: hint: ", "--force")
	r = c.must(0, "id", "--data-dir", dir)
	wantContains(t, "id after a refused init", r.stdout, fp.String(), "alice")
}

func TestInitForceKeepsBackup(t *testing.T) {
	c := newCLI(t, envPassphrase+"=pw")
	dir, oldFP := c.initNode("alice")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	c.must(0, "trust", bob.String(), "--name", "bob", "--data-dir", dir)

	r := c.must(0, "init", "--force", "--name", "alice2", "--data-dir", dir)
	newFP := fingerprintLine.FindStringSubmatch(r.stdout)
	if newFP == nil || newFP[1] == oldFP.String() {
		t.Fatalf("init --force did not make a new identity:\n%s", r.stdout)
	}
	backups, err := filepath.Glob(filepath.Join(dir, dbFile+".bak-*"))
	if err != nil || len(backups) != 1 {
		t.Fatalf("backups: %v, %v; want one", backups, err)
	}
	wantContains(t, "init --force", r.stdout, "Old database saved as "+backups[0])

	old, err := storage.Open(backups[0], storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Unlock([]byte("pw")); err != nil { // the nickname is sealed
		t.Fatal(err)
	}
	rec, err := old.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Key.Fingerprint() != oldFP || rec.Nickname != "alice" {
		t.Errorf("the backup holds %s (%s), want the old identity %s", rec.Key.Fingerprint(), rec.Nickname, oldFP)
	}
	r = c.must(0, "trusted", "--data-dir", dir)
	wantContains(t, "trusted after init --force", r.stdout, bob.String())
}

func TestInitFlagErrors(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "d")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"contradiction", []string{"--no-passphrase", "--passphrase-file", "x"}, "contradict"},
		{"control character in name", []string{"--name", "a\x1bb"}, "control character"},
		{"argument", []string{"alice"}, "want no arguments"},
		{"unknown flag", []string{"--nmae", "alice"}, "unknown flag: --nmae"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.must(2, append([]string{"init", "--data-dir", dir}, tt.args...)...)
			wantContains(t, "stderr", r.stderr, tt.want, "lanchat: hint: ")
		})
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused init created the data dir: %v", err)
	}
}

func TestPublicCommandsNeedNoPassphrase(t *testing.T) {
	dir, _ := newCLI(t).initNode("alice", "--passphrase-file", passFile(t, "secret\n"))
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	c := newCLI(t) // no passphrase anywhere, and stdin is not a terminal
	c.must(0, "id", "--data-dir", dir)
	c.must(0, "trust", bob.String(), "--data-dir", dir)
	c.must(0, "trusted", "--data-dir", dir)
	c.must(0, "untrust", bob.String(), "--data-dir", dir)
	r := c.must(1, "id", "--check-passphrase", "--data-dir", dir)
	wantContains(t, "id --check-passphrase", r.stderr, "no terminal to ask")
}

func TestInitWarnsAboutAnOpenDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := newCLI(t).must(0, "init", "--no-passphrase", "--data-dir", dir)
	wantContains(t, "init stderr", r.stderr, "lanchat: warning: data dir "+dir+" is open to other users (mode 0755)")
}

// TestUnsealedKeyReadableByOthersWarns: an unsealed key in a database or
// data dir others can read gets a warning from id and from a node (send);
// with the modes init sets there is none.
func TestUnsealedKeyReadableByOthersWarns(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	path := filepath.Join(dir, dbFile)
	send := []string{"send", "--no-discovery", "--peer", "127.0.0.1:9", "--timeout", "0", "hi", "--data-dir", dir}
	const warning = "lanchat: warning: your secret key is stored unsealed and "
	for _, args := range [][]string{{"id", "--data-dir", dir}, send} {
		if r := c.must(0, args...); strings.Contains(r.stderr, warning) {
			t.Errorf("%s with modes 0700/0600 warns:\n%s", args[0], r.stderr)
		}
	}
	for _, tt := range []struct {
		name           string
		dirMode, dbMod os.FileMode
		named          string
	}{
		{"database readable", 0o700, 0o644, path},
		{"data dir readable", 0o755, 0o600, dir},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.dbMod); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"id", "--data-dir", dir}, send} {
				r := c.must(0, args...)
				wantContains(t, args[0], r.stderr, warning+tt.named+" is readable by other users", "chmod 700 "+dir)
			}
		})
	}
}
