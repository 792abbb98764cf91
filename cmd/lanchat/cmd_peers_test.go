package main

import (
	"bytes"
	"encoding/json"
	"github.com/lanchat/lanchat/control"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peersLoopback keeps lanchat peers on this machine: beacons only to the
// loopback broadcast address, on a port no other test uses.
func peersLoopback(beaconPort int) []string {
	return []string{"--discovery-addr", "127.255.255.255", "--beacon-port", strconv.Itoa(beaconPort),
		"--beacon-interval", "200ms"}
}

// startPeers starts lanchat peers in the background; the returned function
// waits for it and returns its result.
func (c *cli) startPeers(dir string, args ...string) func() result {
	c.t.Helper()
	full := append([]string{"peers", "--data-dir", dir}, args...)
	mustStayOnLoopback(c.t, full)
	cmd := exec.Command(lanchatBin, full...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	waited := false
	c.t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return func() result {
		waited = true
		err := cmd.Wait()
		r := result{stdout: out.String(), stderr: errOut.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			c.t.Fatalf("lanchat %v: %v", full, err)
		}
		return r
	}
}

// mustStayOnLoopback fails the test before a peers run that could send
// beacons beyond this machine: every run pins --discovery-addr to loopback.
func mustStayOnLoopback(t *testing.T, args []string) {
	t.Helper()
	for i, a := range args {
		if a == "--discovery-addr" && i+1 < len(args) && strings.HasPrefix(args[i+1], "127.") {
			return
		}
	}
	t.Fatalf("lanchat %v: a test must pin --discovery-addr to loopback", args)
}

// peers runs lanchat peers pinned to loopback and waits for it.
func (c *cli) peers(want int, dir string, args ...string) result {
	c.t.Helper()
	full := append([]string{"peers", "--data-dir", dir}, args...)
	mustStayOnLoopback(c.t, full)
	return c.must(want, full...)
}

func parsePeers(t *testing.T, r result) []peerJSON {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("peers: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var list []peerJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("peers --json: %v\n%s", err, r.stdout)
	}
	return list
}

// peerFields are the fields of a peers --json object for a peer that is
// not trusted and announced no nickname (name and nick are left out when
// empty), from the node and without one alike.
const peerFields = "addr fingerprint last_seen linked short trusted via"

// checkPeerFields fails unless every object of a peers --json output has
// exactly the fields of peerFields, and last_seen is a time.
func checkPeerFields(t *testing.T, form string, r result) {
	t.Helper()
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("%s: %v", form, err)
	}
	for _, obj := range raw {
		keys := slices.Sorted(maps.Keys(obj))
		if got := strings.Join(keys, " "); got != peerFields {
			t.Errorf("%s: fields %q, want %q", form, got, peerFields)
		}
		if s, ok := obj["last_seen"].(string); !ok {
			t.Errorf("%s: last_seen = %v, want the time of the last beacon", form, obj["last_seen"])
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("%s: last_seen: %v", form, err)
		}
	}
}

func findPeerJSON(list []peerJSON, fp string) (peerJSON, bool) {
	for _, p := range list {
		if p.Fingerprint == fp {
			return p, true
		}
	}
	return peerJSON{}, false
}

// Two lanchat peers runs at the same time see each other, at a loopback
// address with no link port, untrusted; once alice trusts bob, she sees
// the name she gave him.
func TestPeersSeeEachOther(t *testing.T) {
	c := newCLI(t)
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	flags := append(peersLoopback(freePort(t, "udp")), "--wait", "2s", "--json")

	waitA, waitB := c.startPeers(dA, flags...), c.startPeers(dB, flags...)
	rA, rB := waitA(), waitB()
	listA, listB := parsePeers(t, rA), parsePeers(t, rB)
	checkPeerFields(t, "peers without a node", rA)
	for _, tc := range []struct {
		who  string
		list []peerJSON
		self string
		want string
	}{{"alice", listA, fA.String(), fB.String()}, {"bob", listB, fB.String(), fA.String()}} {
		p, ok := findPeerJSON(tc.list, tc.want)
		if !ok {
			t.Fatalf("%s did not see the other: %+v", tc.who, tc.list)
		}
		if _, ok := findPeerJSON(tc.list, tc.self); ok {
			t.Errorf("%s lists itself", tc.who)
		}
		if !strings.HasPrefix(p.Address, "127.") || !strings.HasSuffix(p.Address, ":0") || p.Trusted || p.LastSeen == nil || p.Nickname != "" {
			t.Errorf("%s sees %+v: want a loopback address without link port, untrusted, seen, no nickname", tc.who, p)
		}
	}

	c.must(0, "trust", "--data-dir", dA, fB.String(), "--name", "bobby")
	port := freePort(t, "udp")
	waitB = c.startPeers(dB, append(peersLoopback(port), "--wait", "3s", "--port", "47999")...)
	text := c.peers(0, dA, append(peersLoopback(port), "--wait", "2s")...)
	waitB()
	wantContains(t, "peers output", text.stdout, "FINGERPRINT", fB.String(), "yes (bobby)", ":47999")
}

// While lanchat chat runs on the data dir, peers answers from its table.
func TestPeersThroughRunningChat(t *testing.T) {
	c := newCLI(t)
	dA, fA := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	port := freePort(t, "udp")
	chatA := c.startChat("alice", dA, loopbackFlags(port)...)
	defer chatA.stop()
	eventually(t, "alice's node to serve its control socket", func() bool {
		_, err := os.Stat(filepath.Join(dA, control.SocketName))
		return err == nil
	})
	waitB := c.startPeers(dB, append(peersLoopback(port), "--wait", "5s", "--json")...)
	var bob peerJSON
	var viaNode result
	eventually(t, "alice's running node to list bob", func() bool {
		// Only the node can list bob: should it not answer, this run
		// listens on loopback, on a port nobody uses.
		r := c.peers(0, dA, "--json", "--discovery-addr", "127.255.255.255",
			"--beacon-port", strconv.Itoa(freePort(t, "udp")), "--wait", "100ms")
		p, ok := findPeerJSON(parsePeers(t, r), fB.String())
		bob, viaNode = p, r
		return ok
	})
	checkPeerFields(t, "peers through the node", viaNode)
	if bob.Linked || bob.Trusted || !strings.HasPrefix(bob.Address, "127.") || bob.LastSeen == nil {
		t.Errorf("via the node: %+v, want untrusted, not linked, on loopback, with the time of its last beacon", bob)
	}
	p, ok := findPeerJSON(parsePeers(t, waitB()), fA.String())
	if !ok || strings.HasSuffix(p.Address, ":0") {
		t.Errorf("bob sees alice's node as %+v, want her link port", p)
	}
}

func TestPeersUsageErrors(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--wait", "0s"}, "--wait"},
		{[]string{"--no-discovery", "--peer", "127.0.0.1:1"}, "--no-discovery"},
		{[]string{"--discovery-addr", "not-an-ip"}, "--discovery-addr"},
		{[]string{"--beacon-port", "70000"}, "--beacon-port"},
		{[]string{"extra"}, "argument"},
	} {
		r := c.peers(exitUsage, dir, append([]string{"--discovery-addr", "127.255.255.255"}, tc.args...)...)
		wantContains(t, "stderr", r.stderr, tc.want, "hint:")
	}
}

// With no identity, peers says how to make one and sends nothing.
func TestPeersWithoutIdentity(t *testing.T) {
	c := newCLI(t)
	r := c.peers(exitFailure, t.TempDir(), peersLoopback(freePort(t, "udp"))...)
	wantContains(t, "stderr", r.stderr, "lanchat init")
}
