package main

import (
	"context"
	"encoding/json"
	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// lanchat up runs the node with no window; every command reaches it, and
// what the CLI prints with --json is what the control socket answers.
func TestUpServesEveryCommandWithOneSchema(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dir, alice := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	p := c.startProc("alice", append([]string{"up", "--data-dir", dir}, loopbackFlags(port)...))
	waitForSocket(t, p, dir)
	at := func(args ...string) []string { return append(args, "--data-dir", dir) }
	c.must(0, at("trust", bob.String(), "--name", "bob")...)
	c.must(0, at("send", "hello from up")...)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := control.Dial(ctx, control.SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, tc := range []struct {
		cli    []string
		method string
	}{
		{[]string{"id", "--json"}, control.MethodID},
		{[]string{"history", "--json"}, control.MethodHistory},
		{[]string{"trusted", "--json"}, control.MethodTrusted},
	} {
		var viaCLI, viaSocket any
		if err := json.Unmarshal([]byte(c.must(0, at(tc.cli...)...).stdout), &viaCLI); err != nil {
			t.Fatalf("%s: %v", tc.cli, err)
		}
		var raw json.RawMessage
		if err := cl.Call(ctx, tc.method, nil, &raw); err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if err := json.Unmarshal(raw, &viaSocket); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(viaCLI, viaSocket) {
			t.Errorf("%s differs from the socket's %s:\ncli:    %v\nsocket: %v", tc.cli, tc.method, viaCLI, viaSocket)
		}
	}
	var id control.Identity
	if err := cl.Call(ctx, control.MethodID, nil, &id); err != nil || id.Node == nil || id.Fingerprint != alice.String() ||
		id.Schema != control.SchemaVersion || id.CreatedAt == nil {
		t.Fatalf("id: %+v, %v", id, err)
	}
	// Checking the passphrase goes through the node too (no "in use").
	r := c.must(0, at("id", "--check-passphrase")...)
	if !strings.Contains(r.stdout, "Passphrase:  ok") || !strings.Contains(r.stdout, "Running:     pid") {
		t.Errorf("id --check-passphrase through the node:\n%s%s", r.stdout, r.stderr)
	}
	p.stop() // SIGTERM: exit 0
	for _, want := range []string{"lanchat: up as alice", "lanchat: stopped"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.stderr.String())
		}
	}
	// Without the node, the same commands answer from the file, alike.
	hist := c.must(0, at("history", "--json")...).stdout
	if !strings.Contains(hist, `"body": "hello from up"`) {
		t.Errorf("history after up stopped:\n%s", hist)
	}
}

// Two chat windows attached to one `lanchat up` node, and history, send and
// trust from a third shell: every window sees every message, each has its
// own current room, and a window that quits leaves the node running.
func TestTwoWindowsOnOneUpNode(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dir, _ := c.initNode("alice", "--no-passphrase")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	up := c.startProc("alice", append([]string{"up", "--data-dir", dir}, loopbackFlags(port)...))
	waitForSocket(t, up, dir)
	w1 := c.startChat("window 1", dir, "--room", "lobby")
	w2 := c.startChat("window 2", dir, "--room", "dev")
	for _, w := range []*chatProc{w1, w2} { // attached and subscribed
		eventually(t, w.name+" to be ready", func() bool { return w.saw(chatui.EventReady) })
	}
	w1.say("hello from window 1")
	w2.say("hello from window 2") // to #dev: window 2's current room
	at := func(args ...string) []string { return append(args, "--data-dir", dir) }
	c.must(0, at("send", "from a script")...)
	for _, w := range []*chatProc{w1, w2} {
		w := w
		defer func() { t.Logf("%s showed %q; stderr:\n%s", w.name, w.shown(), w.stderr.String()) }()
		eventually(t, w.name+" to show every message", func() bool {
			return containsAll(w.shown(), "hello from window 1", "hello from window 2", "from a script")
		})
	}
	var hist []control.MessageView
	if err := json.Unmarshal([]byte(c.must(0, at("history", "--json")...).stdout), &hist); err != nil {
		t.Fatal(err)
	}
	rooms := map[string]string{}
	for _, m := range hist {
		rooms[m.Body] = m.Room
	}
	if rooms["hello from window 1"] != "lobby" || rooms["hello from window 2"] != "dev" || rooms["from a script"] != "lobby" {
		t.Errorf("rooms of the messages: %v; want window 1 and the script in lobby, window 2 in dev", rooms)
	}
	c.must(0, at("trust", bob.String(), "--name", "bob")...)
	w1.stop() // the window goes, the node stays
	c.must(0, at("send", "after window 1 left")...)
	eventually(t, "window 2 to go on", func() bool { return containsAll(w2.shown(), "after window 1 left") })
	var id control.Identity
	if err := json.Unmarshal([]byte(c.must(0, at("id", "--json")...).stdout), &id); err != nil || id.Node == nil {
		t.Fatalf("id after a window left: %+v (%v)", id, err)
	}
	w2.stop()
	up.stop()
}

// saw reports whether p printed an event of kind.
func (p *chatProc) saw(kind string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range p.events {
		if string(ev.Kind) == kind {
			return true
		}
	}
	return false
}

// A chat window that attaches to a node already linked with a peer shows
// that link (a peer_up), once: the link came up before the window
// subscribed, so it has no event of its own.
func TestAttachedWindowShowsExistingLinks(t *testing.T) {
	c := newCLI(t, envPassphrase+"=")
	port := freePort(t, "udp")
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	c.trustEachOther([]string{dA, dB}, []string{fA.String(), fB.String()})
	alice := c.startProc("alice", append([]string{"up", "--data-dir", dA}, loopbackFlags(port)...))
	bob := c.startProc("bob", append([]string{"up", "--data-dir", dB}, loopbackFlags(port)...))
	waitForSocket(t, alice, dA)
	waitForSocket(t, bob, dB)
	eventually(t, "alice's node to link bob", func() bool {
		var peers []control.PeerEntry
		r := c.run("", "peers", "--data-dir", dA, "--json")
		return json.Unmarshal([]byte(r.stdout), &peers) == nil && slices.ContainsFunc(peers, func(p control.PeerEntry) bool {
			return p.Fingerprint == fB.String() && p.Linked
		})
	})
	w := c.startChat("window", dA)
	eventually(t, "the window to show the link to bob", func() bool { return w.linked() == 1 })
	w.say("/quit")
	<-w.exited
	if n := w.linked(); n != 1 {
		t.Errorf("the window counted %d links, want 1 (shown once)", n)
	}
}
