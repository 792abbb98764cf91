package main

import (
	"strings"
	"testing"
)

// TestDiscoveryThatCannotWorkSaysSo: without -v, a --discovery-iface that
// does not exist is an error, a --discovery-addr that is no broadcast
// address is refused (exit 2), and a broadcast address is fine. Every beacon stays on
// loopback (127.0.0.1 is unicast to this host).
func TestDiscoveryThatCannotWorkSaysSo(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	send := func(flags ...string) []string {
		return append([]string{"send", "--port", "0", "--timeout", "0", "--data-dir", dir, "hi"}, flags...)
	}
	r := c.must(1, send("--discovery-iface", "lanchat-nosuch0")...)
	wantContains(t, "missing iface", r.stderr, "lanchat: --discovery-iface lanchat-nosuch0: there is no network interface by that name\nlanchat: hint: ")

	r = c.must(2, send("--discovery-addr", "127.0.0.1")...)
	wantContains(t, "unicast addr", r.stderr,
		"lanchat: --discovery-addr 127.0.0.1 is not a broadcast address of any interface here", "\nlanchat: hint: use the broadcast address")

	r = c.must(0, send("--discovery-addr", "127.255.255.255")...)
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("127.255.255.255 gives a warning:\n%s", r.stderr)
	}
}
