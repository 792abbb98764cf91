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

// A file offered in a direct conversation is named @peer in the file lines
// of both sides (/files, and the notice when it is done), never by the
// conversation's raw id.
func TestFileLinesNameTheConversation(t *testing.T) {
	alice, bob, _, bobID := linkedPair(t, nil)
	path := filepath.Join(t.TempDir(), "contract.txt")
	if err := os.WriteFile(path, bytes.Repeat([]byte("terms "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	a := runChat(t, alice.api, Options{Mode: Plain})
	b := runChat(t, bob.api, Options{Mode: Plain})
	a.say("/query "+bobID.Fingerprint().String(), "/file "+path)
	a.waitErr("offered contract.txt in @")
	offerLine := regexp.MustCompile(`offers a file: contract\.txt \([0-9.]+ KiB\); /fetch ([0-9a-f]{12})`)
	var id string
	waitFor(t, "bob to be shown the offer", func() bool {
		if m := offerLine.FindStringSubmatch(b.out.String()); m != nil {
			id = m[1]
		}
		return id != ""
	})
	b.say("/fetch " + id + " " + t.TempDir())
	waitFor(t, "the fetch to be done", func() bool { return strings.Contains(b.err.String(), "done contract.txt") })
	a.say("/files", "/quit")
	b.say("/files", "/quit")
	for who, c := range map[string]*chatRun{"alice": a, "bob": b} {
		if err := c.wait(); err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, l := range strings.Split(c.err.String(), "\n") {
			if !strings.HasPrefix(l, id) && !strings.Contains(l, " "+id+" ") {
				continue
			}
			lines++
			if !strings.Contains(l, " in @peer") || strings.Contains(l, "#dm.") {
				t.Errorf("%s's file line names the conversation wrongly: %q", who, l)
			}
		}
		if lines == 0 {
			t.Errorf("%s was shown no file line of %s:\n%s", who, id, c.err.String())
		}
	}
}
