package chatui

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// /file offers, the other side's line names the offer with its /fetch id,
// /fetch gets it and says when it is in place, /files lists it.
func TestFileCommands(t *testing.T) {
	alice, bob, _, _ := linkedPair(t, nil)
	path := filepath.Join(t.TempDir(), "notes.txt")
	content := bytes.Repeat([]byte("lanchat "), 100000)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	a := runChat(t, alice.api, Options{Mode: Plain})
	b := runChat(t, bob.api, Options{Mode: Plain})
	a.say("/file " + path)
	offerLine := regexp.MustCompile(`offers a file: notes\.txt \(781\.2 KiB\); /fetch ([0-9a-f]{12})`)
	var id string
	waitFor(t, "bob to be shown the offer", func() bool {
		m := offerLine.FindStringSubmatch(b.out.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	if strings.Contains(b.out.String(), "lanchat-file/1") {
		t.Errorf("the offer's encoding is shown:\n%s", b.out.String())
	}
	out := t.TempDir()
	b.say("/fetch " + id + " " + out)
	final := filepath.Join(out, "notes.txt")
	waitFor(t, "the fetch to be done", func() bool { return strings.Contains(b.err.String(), "done notes.txt") })
	got, err := os.ReadFile(final)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("fetched %d bytes (%v)", len(got), err)
	}
	b.say("/files", "/fetch", "/quit")
	if err := b.wait(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"fetching notes.txt (781.2 KiB) into " + out, id + " done notes.txt (781.2 KiB, 100% held) from peer(", "at " + final, "usage: /fetch ID [DIR]"} {
		if !strings.Contains(b.err.String(), w) {
			t.Errorf("bob's notices lack %q:\n%s", w, b.err.String())
		}
	}
}
