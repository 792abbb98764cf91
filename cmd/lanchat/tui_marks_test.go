package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Alice writes three messages on her terminal while bob is down: each
// line ends in "only here". Bob comes back: the marks on those earlier
// lines change in place to stored by all; bob reads: they say read.
func TestTUIMarksChangeOnEarlierLines(t *testing.T) {
	c := newCLI(t, envPassphrase+"=", "LANG=C.UTF-8")
	port := freePort(t, "udp")
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	c.trustEachOther([]string{dA, dB}, []string{fA.String(), fB.String()})
	bob := c.startChat("bob", dB, loopbackFlags(port)...)
	sttyFile := filepath.Join(t.TempDir(), "stty")
	scr := chatInScreen(t, c, sttyFile, append([]string{"--data-dir", dA}, loopbackFlags(port)...)...)
	scr.WaitShows("("+fB.Short()+") linked", "#lobby>")
	bob.stop()
	scr.WaitShows("(" + fB.Short() + ") gone")

	line := func(body, mark string) string { return "alice(" + fA.Short() + "): " + body + " " + mark }
	for _, body := range []string{"one", "two", "three"} {
		scr.Type(body)
		scr.Keys("Enter")
	}
	before := scr.WaitShows(line("one", "[1 ·  ]"), line("two", "[2 ·  ]"), line("three", "[3 ·  ]"))

	bob = c.startChat("bob", dB, loopbackFlags(port)...)
	defer bob.kill()
	after := scr.WaitShows(line("one", "[1 ✓✓ ]"), line("two", "[2 ✓✓ ]"), line("three", "[3 ✓✓ ]"))
	rowOf := func(s, body string) int {
		for i, r := range strings.Split(s, "\n") {
			if strings.Contains(r, "): "+body+" [") {
				return i
			}
		}
		return -1
	}
	// In place: each line is where it was (or as far up as the new notices
	// scrolled it), once.
	shift := rowOf(before, "one") - rowOf(after, "one")
	for _, body := range []string{"one", "two", "three"} {
		if strings.Count(after, "): "+body+" [") != 1 || rowOf(before, body)-rowOf(after, body) != shift {
			t.Errorf("the line %q was printed again or moved apart:\nbefore\n%s\nafter\n%s", body, before, after)
		}
	}

	c.must(0, "history", "--data-dir", dB, "--unread", "--mark-read")
	got := scr.WaitShows(line("one", "[1 ✓✓R]"), line("three", "[3 ✓✓R]"))
	if lastLine(got) != "#lobby>" {
		t.Errorf("the prompt is not the last line:\n%s", got)
	}
	scr.Type("/who-read 3")
	scr.Keys("Enter")
	scr.WaitFor("/who-read naming bob", func(s string) bool {
		if !strings.Contains(s, `your message 1 "one": ✓✓ stored by all 1, read by 1`) {
			return false
		}
		for _, r := range strings.Split(s, "\n") {
			if strings.HasPrefix(r, "-- read by: ") && strings.Contains(r, "("+fB.Short()+")") {
				return true
			}
		}
		return false
	})
	scr.Keys("C-c")
	scr.WaitShows("EXITED 0")
	wantTerminalRestored(t, sttyFile)
}
