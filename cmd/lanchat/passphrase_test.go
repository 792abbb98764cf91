package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

func TestWrongPassphrase(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--passphrase-file", passFile(t, "right\n"))
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"right, from file", nil, []string{"--passphrase-file", passFile(t, "right\r\n")}, 0, ""},
		{"right, from env", []string{envPassphrase + "=right"}, nil, 0, ""},
		{"wrong, from file", nil, []string{"--passphrase-file", passFile(t, "wrong\n")}, 1, "wrong passphrase"},
		{"wrong, from env", []string{envPassphrase + "=Right"}, nil, 1, "wrong passphrase"},
		{"file wins over env", []string{envPassphrase + "=right"}, []string{"--passphrase-file", passFile(t, "wrong")}, 1, "wrong passphrase"},
		{"empty file", nil, []string{"--passphrase-file", passFile(t, "\n")}, 1, "is empty"},
		{"missing file", nil, []string{"--passphrase-file", dir + "/nope"}, 1, "no such file"},
		{"no terminal, no file, no env", nil, nil, 1, "no terminal to ask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := newCLI(t, tt.env...)
			r := cc.must(tt.code, append([]string{"id", "--check-passphrase", "--data-dir", dir}, tt.args...)...)
			if tt.code == 0 {
				wantContains(t, "stdout", r.stdout, "Passphrase:  ok")
				return
			}
			wantContains(t, "stderr", r.stderr, tt.stderr, "lanchat: hint: ")
		})
	}
}

func TestReadPassphraseFile(t *testing.T) {
	tests := []struct {
		content string
		want    string
		err     bool
	}{
		{"pw\n", "pw", false},
		{"pw", "pw", false},
		{"pw\r\n", "pw", false},
		{"two words \nsecond line\n", "two words ", false},
		{"\n", "", true},
		{"", "", true},
		{strings.Repeat("x", maxPassphraseFile+1), "", true},
	}
	for _, tt := range tests {
		got, err := readPassphraseFile(passFile(t, tt.content))
		if (err != nil) != tt.err || !bytes.Equal(got, []byte(tt.want)) && !tt.err {
			t.Errorf("readPassphraseFile(%q) = %q, %v; want %q, error %v", tt.content, got, err, tt.want, tt.err)
		}
	}
}

func TestKDFParams(t *testing.T) {
	var stderr bytes.Buffer
	for _, tt := range []struct {
		value string
		err   bool
	}{{"", false}, {"fast", false}, {"slow", true}} {
		e := newEnv(nil, &bytes.Buffer{}, &stderr, func(k string) string {
			if k == envKDF {
				return tt.value
			}
			return ""
		})
		p, err := e.kdfParams()
		if (err != nil) != tt.err {
			t.Errorf("%s=%q: %v", envKDF, tt.value, err)
		}
		var ce *cliError
		if tt.err && (!errors.As(err, &ce) || !ce.usage) {
			t.Errorf("%s=%q: %v is not a usage error", envKDF, tt.value, err)
		}
		if tt.value == "" && p.MemoryKiB < 64*1024 {
			t.Errorf("default KDF parameters are weak: %+v", p)
		}
	}
	wantContains(t, "stderr", stderr.String(), "test-only")
}

func TestLoadIdentityChecksKeysMatch(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(filepath.Join(dir, dbFile), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	alice, err := newIdentityRecord("alice", nil, lcrypto.KDFParams{})
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := newIdentityRecord("mallory", nil, lcrypto.KDFParams{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })

	if err := db.PutIdentity(alice); err != nil {
		t.Fatal(err)
	}
	id, err := e.loadIdentity(context.Background(), db, &passphraseFlags{})
	if err != nil || id.Public() != alice.Key {
		t.Fatalf("loadIdentity = %v, %v; want alice's key", id, err)
	}

	swapped := alice
	swapped.Secret = mallory.Secret // someone swapped the secret under the public keys
	if err := db.PutIdentity(swapped); err != nil {
		t.Fatal(err)
	}
	if _, err := e.loadIdentity(context.Background(), db, &passphraseFlags{}); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("loadIdentity with a swapped secret: %v, want ErrCorrupt", err)
	}
}
