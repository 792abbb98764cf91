package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
)

// A name both an open room and a private room have: send and history
// refuse it bare, and --kind says which.
func TestKindFlagNamesTheRoom(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	dir, _ := c.initNode("alice", "--no-passphrase")
	alice := c.startChat("alice", dir, append(loopbackFlags(freePort(t, "udp")), "--room", "design")...)
	defer alice.stop()
	waitForSocket(t, alice, dir)
	c.must(0, "room", "create", "design", "--data-dir", dir)
	c.must(0, "send", "--room", "design", "--kind", "room", "in the open one", "--data-dir", dir)
	c.must(0, "send", "--room", "design", "--kind", "private", "in the private one", "--data-dir", dir)
	for _, cmd := range [][]string{{"send", "--room", "design", "which?"}, {"history", "--room", "design"}} {
		if r := c.run("", append(cmd, "--data-dir", dir)...); r.code != 1 || !strings.Contains(r.stderr, "both an open room you are in and a private room are called design") {
			t.Errorf("%v: exit %d, want 1 ambiguous\n%s", cmd, r.code, r.stderr)
		}
	}
	for kind, want := range map[string]string{"room": "in the open one", "private": "in the private one"} {
		var views []control.MessageView
		r := c.must(0, "history", "--room", "design", "--kind", kind, "--json", "--data-dir", dir)
		if err := json.Unmarshal([]byte(r.stdout), &views); err != nil || len(views) == 0 || views[len(views)-1].Body != want {
			t.Errorf("history --kind %s: %s (%v), want %q last", kind, r.stdout, err, want)
		}
		if kind == "room" && len(views) != 1 {
			t.Errorf("history --kind room: %d messages, want the open room's one", len(views))
		}
	}
	if r := c.run("", "history", "--room", "design", "--kind", "direct", "--data-dir", dir); r.code != 2 {
		t.Errorf("--kind direct: exit %d, want 2\n%s", r.code, r.stderr)
	}
}
