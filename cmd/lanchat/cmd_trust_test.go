package main

import (
	"encoding/json"
	"github.com/lanchat/lanchat/control"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// typo changes one character of fp's text in group 3.
func typo(fp lcrypto.Fingerprint) string {
	s := []byte(fp.String())
	const i = 2*8 + 3 // group 3, character 4
	if s[i] == 'A' {
		s[i] = 'B'
	} else {
		s[i] = 'A'
	}
	return string(s)
}

// swapNeighbours swaps the first two different neighbouring characters in
// one group of fp's text.
func swapNeighbours(t *testing.T, fp lcrypto.Fingerprint) string {
	s := []byte(fp.String())
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '-' && s[i+1] != '-' && s[i] != s[i+1] {
			s[i], s[i+1] = s[i+1], s[i]
			return string(s)
		}
	}
	t.Fatalf("no neighbours to swap in %s", fp)
	return ""
}

func TestTrust(t *testing.T) {
	c := newCLI(t)
	dir, self := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	groups := strings.Split(bob.String(), "-")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"typo", []string{typo(bob)}, 2, "", "typo in characters 15–28 (groups 3–4)"},
		{"swapped neighbours", []string{swapNeighbours(t, bob)}, 2, "", "fingerprint has a typo in characters 1–14"},
		{"too short", []string{bob.String()[:20]}, 2, "", "wrong length"},
		{"bad character", []string{"!" + bob.String()[1:]}, 2, "", "cannot be in one"},
		{"no fingerprint", nil, 2, "", "want a fingerprint"},
		{"own key", []string{self.String()}, 1, "", "own fingerprint"},
		{"good", []string{bob.String(), "--name", "bob"}, 0, "Trusted " + bob.String() + " (bob)", ""},
		{"duplicate", []string{bob.String()}, 0, "Already trusted: " + bob.String() + " (bob)", ""},
		{"duplicate typed as groups, lower case", append([]string{}, strings.ToLower(strings.Join(groups, " "))), 0, "Already trusted", ""},
		{"duplicate split over arguments", groups, 0, "Already trusted", ""},
		{"rename", []string{bob.String(), "--name", "robert"}, 0, `name changed from "bob" to "robert"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.must(tt.code, append([]string{"trust", "--data-dir", dir}, tt.args...)...)
			wantContains(t, "stdout", r.stdout, tt.stdout)
			wantContains(t, "stderr", r.stderr, tt.stderr)
			if tt.code != 0 {
				wantContains(t, "stderr", r.stderr, "lanchat: hint: ")
			}
		})
	}
	r := c.must(0, "trusted", "--json", "--data-dir", dir)
	var list []control.TrustedPeer
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Fingerprint != bob.String() || list[0].Name != "robert" || list[0].LastSeen != nil {
		t.Errorf("trusted --json = %+v, want only bob as robert, never seen", list)
	}
}

func TestUntrust(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")

	r := c.must(1, "untrust", bob.String(), "--data-dir", dir)
	wantContains(t, "untrust of a stranger", r.stderr, "is not in your trust list", "lanchat: hint: lanchat trusted")
	c.must(0, "trust", bob.String(), "--name", "bob", "--data-dir", dir)
	r = c.must(0, "untrust", bob.String(), "--data-dir", dir)
	wantContains(t, "untrust", r.stdout, "No longer trusted: "+bob.String()+" (bob)")
	r = c.must(2, "untrust", typo(bob), "--data-dir", dir)
	wantContains(t, "untrust with a typo", r.stderr, "typo")
	r = c.must(0, "trusted", "--json", "--data-dir", dir)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("trusted --json after untrust = %q, want []", r.stdout)
	}
}

func TestTrustedText(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	r := c.must(0, "trusted", "--data-dir", dir)
	wantContains(t, "empty list", r.stdout, "Nobody is trusted yet")

	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	_, carol := newCLI(t).initNode("carol", "--no-passphrase")
	c.must(0, "trust", bob.String(), "--name", "bob", "--data-dir", dir)
	c.must(0, "trust", carol.String(), "--data-dir", dir)
	r = c.must(0, "trusted", "--data-dir", dir)
	wantContains(t, "trusted", r.stdout, "FINGERPRINT", bob.String(), "bob", carol.String(), "never")
	if n := strings.Count(r.stdout, "\n"); n != 3 {
		t.Errorf("trusted printed %d lines, want a header and 2 peers:\n%s", n, r.stdout)
	}
}

func TestTrustNeedsInit(t *testing.T) {
	c := newCLI(t)
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	dir := t.TempDir()
	for _, args := range [][]string{{"trust", bob.String()}, {"id"}, {"trusted"}} {
		r := c.must(1, append(args, "--data-dir", dir)...)
		wantContains(t, args[0], r.stderr, "no lanchat identity in "+dir, "lanchat: hint: run: lanchat init")
	}
}
