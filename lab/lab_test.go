//go:build linux

package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// probeTimeout bounds one connectivity probe; a probe that must fail fails
// by this deadline (no timing is asserted).
const probeTimeout = 2 * time.Second

// echoServer answers each TCP connection with "<host>:" + what it read.
func echoServer(t *testing.T, h *Host) netip.AddrPort {
	t.Helper()
	ln, err := h.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			c.SetDeadline(time.Now().Add(probeTimeout))
			n, _ := c.Read(buf)
			fmt.Fprintf(c, "%s:%s", h.Name, buf[:n])
			c.Close()
		}
	}()
	return netip.AddrPortFrom(h.Addr(), uint16(ln.Addr().(*net.TCPAddr).Port))
}

// talk dials to from h and returns the echo of "ping".
func talk(h *Host, to netip.AddrPort) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	c, err := h.Dial(ctx, "tcp4", to.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// broadcastReaches sends one datagram per try to bcast from h and reports
// which of the listeners got it.
func broadcastReaches(t *testing.T, from *Host, bcast netip.Addr, to ...*Host) map[string]bool {
	t.Helper()
	conns := map[string]net.PacketConn{}
	var port int
	for _, h := range to {
		pc, err := h.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		port = pc.LocalAddr().(*net.UDPAddr).Port
		conns[h.Name] = pc
	}
	out, err := from.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(bcast, uint16(port)))
	got := map[string]bool{}
	for name, pc := range conns {
		for try := 0; try < 3 && !got[name]; try++ {
			if _, err := out.WriteTo([]byte("hello "+name), dst); err != nil {
				t.Fatal(err)
			}
			pc.SetReadDeadline(time.Now().Add(probeTimeout / 2))
			buf := make([]byte, 64)
			n, _, err := pc.ReadFrom(buf)
			got[name] = err == nil && bytes.HasPrefix(buf[:n], []byte("hello "))
		}
	}
	return got
}

func TestHostsOnABridgeReachEachOther(t *testing.T) {
	l := New(t)
	br := l.Bridge()
	a, b, c := l.Host("a", br), l.Host("b", br), l.Host("c", br)
	srv := echoServer(t, a)
	for _, h := range []*Host{b, c} {
		got, err := talk(h, srv)
		if err != nil || got != "a:ping" {
			t.Fatalf("%s → a over TCP: %q, %v", h.Name, got, err)
		}
	}
	got := broadcastReaches(t, a, br.Broadcast(), b, c)
	if !got["b"] || !got["c"] {
		t.Fatalf("broadcast from a reached %v, want b and c", got)
	}
	if !br.Subnet.Contains(a.Addr()) || a.Addr() == b.Addr() {
		t.Fatalf("addresses %v, %v not distinct in %v", a.Addr(), b.Addr(), br.Subnet)
	}
}

func TestLinkDownCutsTheHostOff(t *testing.T) {
	l := New(t)
	br := l.Bridge()
	a, b := l.Host("a", br), l.Host("b", br)
	srv := echoServer(t, a)
	if _, err := talk(b, srv); err != nil {
		t.Fatalf("before: %v", err)
	}
	if err := b.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if got, err := talk(b, srv); err == nil {
		t.Fatalf("with b's link down, b still reached a: %q", got)
	}
	if err := b.LinkUp(); err != nil {
		t.Fatal(err)
	}
	poll(t, "b to reach a again", 10*time.Second, func() bool {
		_, err := talk(b, srv)
		return err == nil
	})
}

func TestRouterJoinsTwoSubnetsButNotTheirBroadcast(t *testing.T) {
	l := New(t)
	left, right := l.Bridge(), l.Bridge()
	a, b := l.Host("a", left), l.Host("b", right)
	r := l.Host("router", left, right)
	srv := echoServer(t, b)
	if _, err := talk(a, srv); err == nil {
		t.Fatal("a reached b on another subnet without a route")
	}
	if err := r.EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []struct {
		h    *Host
		dst  *Bridge
		near *Bridge
	}{{a, right, left}, {b, left, right}} {
		if err := rt.h.AddRoute(rt.dst.Subnet, r.On(rt.near).Addr.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := talk(a, srv); err != nil || got != "b:ping" {
		t.Fatalf("a → b through the router: %q, %v", got, err)
	}
	if got := broadcastReaches(t, a, left.Broadcast(), b); got["b"] {
		t.Fatal("a's broadcast crossed the router")
	}
	if got := broadcastReaches(t, r, right.Broadcast(), b); !got["b"] {
		t.Fatal("the router's broadcast on b's subnet did not reach b")
	}
}

func TestCaptureSeesWhatCrossesTheSwitch(t *testing.T) {
	l := New(t)
	br := l.Bridge()
	a, b := l.Host("a", br), l.Host("b", br)
	srv := echoServer(t, b)
	capt, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := talk(a, srv); err != nil {
		t.Fatal(err)
	}
	if err := capt.Stop(); err != nil {
		t.Fatal(err)
	}
	if !capt.Contains([]byte("b:ping")) {
		t.Fatalf("capture of %d frames lacks the plaintext reply", len(capt.Frames()))
	}
	toB := capt.Count(func(f Frame) bool {
		p, ok := ParsePacket(f.Data)
		return ok && p.Proto == protoTCP && p.Dst == srv && string(p.Payload) == "ping"
	})
	if toB == 0 {
		t.Fatal("no parsed TCP segment a → b carrying the request")
	}
	fromA := capt.Count(func(f Frame) bool {
		p, ok := ParsePacket(f.Data)
		return ok && p.Src.Addr() == a.Addr() && f.Port != a.Ifaces[0].Port
	})
	if fromA != 0 {
		t.Fatalf("%d frames from a were recorded on a port other than a's %s", fromA, a.Ifaces[0].Port)
	}
	if capt.Contains([]byte("never-sent-on-the-wire")) {
		t.Fatal("capture contains bytes nobody sent")
	}
}

func TestCleanupLeavesNothingBehind(t *testing.T) {
	before := rootInterfaces(t)
	var spaces []string
	var sleeper *exec.Cmd
	t.Run("lab", func(t *testing.T) {
		l := New(t)
		br := l.Bridge()
		l.Host("a", br)
		h := l.Host("b", br)
		sleeper = h.Command(context.Background(), "sleep", "60") // left running on purpose
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		spaces = l.Namespaces()
	})
	if sleeper == nil {
		t.Fatal("lab subtest did not run")
	}
	if err := sleeper.Wait(); err == nil {
		t.Error("a process left running in a host survived the cleanup")
	}
	if len(spaces) != 3 {
		t.Fatalf("lab made namespaces %v, want switch + 2 hosts", spaces)
	}
	names, err := listNetns()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range spaces {
		if slices.Contains(names, ns) {
			t.Errorf("namespace %s survived the test", ns)
		}
	}
	if after := rootInterfaces(t); !slices.Equal(before, after) {
		t.Errorf("root namespace interfaces changed: %v → %v", before, after)
	}
}

func rootInterfaces(t *testing.T) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	slices.Sort(names)
	return names
}

func TestSweepDeletesOnlyDeadRunsLeftovers(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("lab: %v", err)
	}
	dead := deadPID(t)
	cases := []struct {
		name string
		gone bool
	}{
		{fmt.Sprintf("%s%d-abcdef-h-x", Prefix, dead), true},         // owner is dead
		{fmt.Sprintf("%s%d-abcdef-h-x", Prefix, os.Getpid()), false}, // owner is alive
		{fmt.Sprintf("lcother-%d-abcdef-h-x", dead), false},          // not ours
	}
	for _, c := range cases {
		if err := addNetns(c.name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = delNetns(c.name) })
	}
	gone, err := SweepLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	names, err := listNetns()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if slices.Contains(names, c.name) == c.gone || slices.Contains(gone, c.name) != c.gone {
			t.Errorf("%s: deleted=%v, want %v (sweep reported %v)", c.name, !slices.Contains(names, c.name), c.gone, gone)
		}
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(cmd.Process.Pid) {
		t.Skip("pid reused at once; cannot test the sweep")
	}
	return cmd.Process.Pid
}

func TestHostNamesAreChecked(t *testing.T) {
	for _, name := range []string{"", "A", "1a", "a-b", "averylonghostname", "a b"} {
		if err := checkHostName(name); err == nil {
			t.Errorf("host name %q accepted", name)
		}
	}
	for _, name := range []string{"a", "alice", "router1", strings.Repeat("x", maxHostName)} {
		if err := checkHostName(name); err != nil {
			t.Errorf("host name %q: %v", name, err)
		}
	}
}

func TestOwnerPIDParsesOnlyOurNames(t *testing.T) {
	cases := []struct {
		ns  string
		pid int
		ok  bool
	}{
		{"lclab-123-a1b2c3-switch", 123, true},
		{"lclab-123-a1b2c3-h-alice", 123, true},
		{"lclab-x-a1b2c3-switch", 0, false},
		{"lcdemo-alice", 0, false},
		{"lclab-0-a1b2c3-switch", 0, false},
		{"other", 0, false},
	}
	for _, c := range cases {
		pid, ok := ownerPID(c.ns)
		if ok != c.ok || (ok && pid != c.pid) {
			t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", c.ns, pid, ok, c.pid, c.ok)
		}
	}
}

// poll checks cond until it holds or limit passes, then fails the test.
func poll(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	if err := Poll(context.Background(), limit, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
