package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// udpPortsOf returns the local UDP ports (IPv4 and IPv6) of the sockets
// process pid holds, read from /proc: its fds' socket inodes, looked up in
// its network namespace's udp tables.
func udpPortsOf(t *testing.T, pid int) map[int]bool {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil {
				ports[int(p)] = true
			}
		}
	}
	return ports
}

// The check itself sees a socket: this test's own, on a port of its own.
func TestUDPPortsOfSeesASocket(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	if !udpPortsOf(t, os.Getpid())[port] {
		t.Fatalf("udpPortsOf does not list this test's own socket on port %d", port)
	}
}

// TestLoopbackNodeOpensNoMDNSSocket: a node pinned to loopback discovery,
// as every test on a shared machine runs, opens no socket on the mDNS port
// (so it joins 224.0.0.251 nowhere), while its beacon socket is there;
// the same with --no-mdns.
func TestLoopbackNodeOpensNoMDNSSocket(t *testing.T) {
	for _, extra := range [][]string{nil, {"--no-mdns"}} {
		c := newCLI(t)
		port := freePort(t, "udp")
		dir, _ := c.initNode("alice", "--no-passphrase")
		dB, _ := c.initNode("bob", "--no-passphrase")
		p := c.startProc("alice", append(append([]string{"up", "--data-dir", dir}, loopbackFlags(port)...), extra...))
		waitForSocket(t, p, dir)
		// Beacons go out only after discovery decided about mDNS: once bob
		// hears alice, her sockets are all open.
		eventually(t, "bob to hear alice", func() bool {
			r := c.peers(0, dB, append(peersLoopback(port), "--wait", "500ms", "--json")...)
			return len(parsePeers(t, r)) > 0
		})
		ports := udpPortsOf(t, p.cmd.Process.Pid)
		if !ports[port] {
			t.Fatalf("%v: alice has no beacon socket on %d (ports %v): the check is blind", extra, port, ports)
		}
		if ports[5353] {
			t.Fatalf("%v: a loopback-pinned node opened the mDNS port 5353 (ports %v)", extra, ports)
		}
		p.stop()
	}
}
