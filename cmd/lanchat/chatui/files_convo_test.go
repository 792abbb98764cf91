package chatui

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// /file in a /query conversation offers the file to that person alone,
// who fetches it.
func TestFileInQueryConversation(t *testing.T) {
	alice, bob, _, bid := linkedPair(t, nil)
	path := filepath.Join(t.TempDir(), "contract.txt")
	content := bytes.Repeat([]byte("sign here "), 50000)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	a := runChat(t, alice.api, Options{Mode: Plain})
	b := runChat(t, bob.api, Options{Mode: Plain})
	a.say("/query "+bid.Fingerprint().String(), "/file "+path)
	a.waitErr("offered contract.txt in @" + bid.Fingerprint().String())
	a.waitErr("only they can fetch it")
	offerLine := regexp.MustCompile(`@peer\([A-Z0-9]+\) peer\([A-Z0-9]+\): offers a file: contract\.txt .*; /fetch ([0-9a-f]{12})`)
	var id string
	waitFor(t, "bob to be shown the offer in the direct conversation", func() bool {
		m := offerLine.FindStringSubmatch(b.out.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	out := t.TempDir()
	b.say("/fetch " + id + " " + out)
	waitFor(t, "the fetch to be done", func() bool { return strings.Contains(b.err.String(), "done contract.txt") })
	if got, err := os.ReadFile(filepath.Join(out, "contract.txt")); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("fetched %d bytes (%v)", len(got), err)
	}
}
