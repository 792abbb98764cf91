package main

import (
	"encoding/json"
	"errors"
	"github.com/lanchat/lanchat/control"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// waitForSocket waits until the chat on dir serves its control socket.
func waitForSocket(t *testing.T, p *chatProc, dir string) {
	t.Helper()
	eventually(t, p.name+"'s control socket", func() bool {
		_, err := os.Stat(filepath.Join(dir, control.SocketName))
		return err == nil
	})
}

// Every command works while lanchat chat holds the database, with the same
// output as without it.
func TestCommandsWhileChatRuns(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dir, alice := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	p := c.startChat("alice", dir, loopbackFlags(port)...)
	waitForSocket(t, p, dir)
	at := func(args ...string) []string { return append(args, "--data-dir", dir) }

	r := c.must(0, at("trust", bob.String(), "--name", "bob")...)
	wantContains(t, "trust", r.stdout, "Trusted "+bob.String()+" (bob)")
	r = c.must(0, at("trust", bob.String(), "--name", "robert")...)
	wantContains(t, "trust again", r.stdout, `name changed from "bob" to "robert"`)
	r = c.must(0, at("trusted")...)
	wantContains(t, "trusted", r.stdout, bob.String(), "robert")

	r = c.must(0, at("send", "from a script")...)
	wantContains(t, "send", r.stdout, "sent to #lobby, handed to 0 peer(s)")
	eventually(t, "the chat to show the script's message", func() bool { return containsAll(p.shown(), "from a script") })
	r = c.must(1, at("send", "--room", "ops", "in another room")...)
	wantContains(t, "send to a room the node is not in", r.stderr, "not in room ops", "hint: join it first")
	c.must(0, at("send", "--room", "ops", "--join", "in another room")...)
	viaNode := c.must(0, at("history", "--json")...).stdout
	if !strings.Contains(viaNode, `"body": "from a script"`) || !strings.Contains(viaNode, `"room": "ops"`) {
		t.Errorf("history --json through the node lacks the sent messages:\n%s", viaNode)
	}
	var id control.Identity
	if err := json.Unmarshal([]byte(c.must(0, at("id", "--json")...).stdout), &id); err != nil || id.Fingerprint != alice.String() || id.Nick != "alice" {
		t.Errorf("id --json through the node: %+v (%v), want alice", id, err)
	}

	r = c.must(0, at("untrust", bob.String())...)
	wantContains(t, "untrust", r.stdout, "No longer trusted: "+bob.String()+" (robert)")
	r = c.must(1, at("untrust", bob.String())...)
	wantContains(t, "untrust again", r.stderr, "is not in your trust list", "hint: lanchat trusted")
	r = c.must(1, at("trust", alice.String())...)
	wantContains(t, "trust self", r.stderr, "own fingerprint", "hint: that is your own fingerprint")

	// A second chat window attaches to the running node, and leaving it
	// (end of input) leaves the node running.
	r = c.must(0, append(at("chat", "--plain"), loopbackFlags(port)...)...)
	var still control.Identity
	if err := json.Unmarshal([]byte(c.must(0, at("id", "--json")...).stdout), &still); err != nil || still.Node == nil {
		t.Errorf("after a second window left, id --json = %+v (%v); want the node still running", still, err)
	}
	r = c.must(1, append(at("up"), loopbackFlags(port)...)...)
	wantContains(t, "a second node", r.stderr, "lanchat is already running on "+dir, "hint: use that one")

	p.stop()
	if _, err := os.Lstat(filepath.Join(dir, control.SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket after the chat stopped: %v, want it removed", err)
	}
	if direct := c.must(0, at("history", "--json")...).stdout; direct != viaNode {
		t.Errorf("history --json differs through the node and from the file:\n%s\n%s", viaNode, direct)
	}
}

// Trusting someone while chatting links them at once; untrusting cuts the link.
func TestTrustWhileChattingLinks(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	c.must(0, "trust", "--data-dir", dB, fA.String(), "--name", "alice")
	alice := c.startChat("alice", dA, loopbackFlags(port)...)
	bob := c.startChat("bob", dB, loopbackFlags(port)...)
	waitForSocket(t, alice, dA)
	c.must(0, "trust", "--data-dir", dA, fB.String(), "--name", "bob")
	eventually(t, "alice and bob to link", func() bool { return alice.linked() == 1 && bob.linked() == 1 })
	c.must(0, "send", "--data-dir", dA, "linked without a restart")
	eventually(t, "bob to get it", func() bool { return containsAll(bob.shown(), "linked without a restart") })
	c.must(0, "untrust", "--data-dir", dA, fB.String())
	eventually(t, "the link to close", func() bool { return alice.linked() == 0 })
	alice.stop()
	bob.stop()
}

func TestChatFirstRunWithoutQuestions(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		args   []string
		sealed bool
	}{
		{"no passphrase", nil, []string{"--no-passphrase", "--nick", "carol"}, false},
		{"passphrase from the environment", []string{envPassphrase + "=pw"}, []string{"--nick", "carol"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t, tt.env...)
			dir := filepath.Join(t.TempDir(), "lanchat")
			args := append(append([]string{"chat", "--data-dir", dir, "--plain"}, tt.args...), loopbackFlags(freePort(t, "udp"))...)
			r := c.must(0, args...) // stdin is empty: it starts, then ends at once
			wantContains(t, "first run", r.stderr, "Created identity for carol", "Fingerprint: ")
			if r.stdout != "" {
				t.Errorf("chat printed more than messages on stdout:\n%s", r.stdout)
			}
			var id control.Identity
			if err := json.Unmarshal([]byte(c.must(0, "id", "--json", "--data-dir", dir).stdout), &id); err != nil {
				t.Fatal(err)
			}
			if id.Nick != "carol" || id.Sealed != tt.sealed {
				t.Errorf("identity made on first run: nickname %q sealed %v; want carol, sealed %v", id.Nick, id.Sealed, tt.sealed)
			}
			if want := map[bool]string{true: control.HistoryKeyPassphrase, false: control.HistoryKeyUnsealed}[tt.sealed]; id.HistoryKey != want {
				t.Errorf("first run: history key %q, want %q", id.HistoryKey, want)
			}
		})
	}
	t.Run("no terminal, no passphrase source", func(t *testing.T) {
		c := newCLI(t)
		dir := filepath.Join(t.TempDir(), "lanchat")
		r := c.must(1, append([]string{"chat", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...)...)
		wantContains(t, "stderr", r.stderr, "no lanchat identity", "hint: run: lanchat init")
	})
}

func TestChatRefusesAnOpenDataDir(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	r := c.must(1, append([]string{"chat", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...)...)
	wantContains(t, "stderr", r.stderr, "open to other users", "hint: only you should be able to write to it: chmod 700 "+dir)
}

// A second node on the same link port (another data dir) fails at once with
// a clear message, rather than waiting forever to listen.
func TestChatPortInUse(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	flags := append(loopbackFlags(freePort(t, "udp")), "--port", port) // the last --port wins
	r := c.must(1, append([]string{"chat", "--data-dir", dir, "--json"}, flags...)...)
	wantContains(t, "stderr", r.stderr, "listening for links on :"+port, "address already in use")
}
