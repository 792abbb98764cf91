package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

func parseDoctor(t *testing.T, r result) doctorReport {
	t.Helper()
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	return rep
}

// has reports whether the report has a finding of check with verdict whose
// text holds every part.
func (rep doctorReport) has(check, verdict string, parts ...string) bool {
	for _, f := range rep.Checks {
		if f.Check != check || f.Verdict != verdict {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(f.Finding+" "+f.Fix, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func (rep doctorReport) String() string {
	b, _ := json.MarshalIndent(rep.Checks, "", " ")
	return string(b)
}

// Alone on loopback, without a node: beacons go out, none come back (the
// cause it names), the port is free, the database checks clean; exit 1.
func TestDoctorAloneWithoutNode(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	r := c.must(1, append([]string{"doctor", "--data-dir", dir, "--json", "--wait", "1s"}, loopbackFlags(freePort(t, "udp"))...)...)
	rep := parseDoctor(t, r)
	if rep.OK || rep.NodeRunning {
		t.Fatalf("ok=%v node_running=%v, want a failing report without a node", rep.OK, rep.NodeRunning)
	}
	for _, want := range []struct{ check, verdict, text string }{
		{"interfaces", verdictOK, "127.255.255.255"},
		{"discovery", verdictFail, "no beacon or mDNS record from any other node"},
		{"discovery", verdictOK, "mDNS is off"},
		{"tcp", verdictOK, "free"},
		{"data", verdictOK, "checks clean"},
	} {
		if !rep.has(want.check, want.verdict, want.text) {
			t.Errorf("no %s %s finding with %q:\n%v", want.verdict, want.check, want.text, rep)
		}
	}
	wantContains(t, "stderr", r.stderr, "lanchat: doctor: some checks failed\nlanchat: hint: ")
	if text := c.must(1, append([]string{"doctor", "--data-dir", dir, "--wait", "1s"}, loopbackFlags(freePort(t, "udp"))...)...); !strings.Contains(text.stdout, "fail  discovery") {
		t.Errorf("text report:\n%s", text.stdout)
	}
}

// Through a running node: a trusted peer that has not trusted us is named
// with the fix, and --peer probes it with the handshake (refused).
func TestDoctorNamesPeerThatHasNotTrustedYou(t *testing.T) {
	c := newCLI(t)
	port := freePort(t, "udp")
	dA, _ := c.initNode("alice", "--no-passphrase")
	dB, fB := c.initNode("bob", "--no-passphrase")
	c.must(0, "trust", "--data-dir", dA, fB.String(), "--name", "bob")
	alice := c.startProc("alice", append([]string{"up", "--data-dir", dA}, loopbackFlags(port)...))
	bob := c.startProc("bob", append([]string{"up", "--data-dir", dB}, loopbackFlags(port)...))
	defer alice.stop()
	defer bob.stop()
	waitForSocket(t, alice, dA)
	waitForSocket(t, bob, dB)
	bobAddr := listenAddr(t, dB)
	// Wait on the node itself: every doctor run also connects to bob's port
	// (a heard peer), all from 127.0.0.1, which spends bob's per-address
	// handshake budget that alice's own dials need.
	eventually(t, "alice's node to see bob's refusal", func() bool {
		return len(diagnose(t, dA).Refused) > 0
	})
	r := c.must(1, append([]string{"doctor", "--data-dir", dA, "--json"}, loopbackFlags(port)...)...)
	rep := parseDoctor(t, r)
	if !rep.has("trust", verdictFail, "bob("+fB.Short()+")", "have not trusted you", "lanchat id") {
		t.Errorf("alice's doctor does not name bob's refusal:\n%v", rep)
	}
	if !rep.NodeRunning || !rep.has("discovery", verdictOK, "beacons heard from others") {
		t.Errorf("through alice's node, want beacons heard:\n%v", rep)
	}
	eventually(t, "the probe to name bob's refusal", func() bool { // a probe reset by that budget is asked again
		r := c.run("", append([]string{"doctor", "--data-dir", dA, "--json", "--peer", bobAddr}, loopbackFlags(port)...)...)
		rep = parseDoctor(t, r)
		return r.code == 1 && rep.has("probe", verdictFail, bobAddr, fB.Short(), "has not trusted you")
	})
	// Once bob trusts alice too, the probe finds a working link.
	c.must(0, "trust", "--data-dir", dB, aliceFP(t, c, dA))
	eventually(t, "the probe to succeed", func() bool {
		r := c.run("", append([]string{"doctor", "--data-dir", dA, "--json", "--peer", bobAddr}, loopbackFlags(port)...)...)
		return parseDoctor(t, r).has("probe", verdictOK, "the link works")
	})
}

// diagnose asks the node running on dir for its diagnosis.
func diagnose(t *testing.T, dir string) *control.Diagnosis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := control.Dial(ctx, control.SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	d, err := cl.Diagnose(ctx, control.DiagnoseParams{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// listenAddr is the link address of the node running on dir, on loopback.
func listenAddr(t *testing.T, dir string) string {
	t.Helper()
	l := diagnose(t, dir).Listen
	_, port, _ := strings.Cut(l[strings.LastIndex(l, "]")+1:], ":")
	return "127.0.0.1:" + port
}

func aliceFP(t *testing.T, c *cli, dir string) string {
	t.Helper()
	var id struct{ Fingerprint string }
	if err := json.Unmarshal([]byte(c.must(0, "id", "--data-dir", dir, "--json").stdout), &id); err != nil {
		t.Fatal(err)
	}
	return id.Fingerprint
}
