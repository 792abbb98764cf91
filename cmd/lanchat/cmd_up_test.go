package main

import (
	"context"
	"encoding/json"
	"reflect"
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
