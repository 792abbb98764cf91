//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/lanchat/lanchat/discovery/mdns"
)

// needNft skips a test where the nft command (nftables, installed by make
// tools) is missing.
func needNft(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (Debian package nftables; make tools installs it as root)")
	}
}

// nftIn loads an nftables ruleset into namespace ns (the lab's own).
func nftIn(t *testing.T, ns, ruleset string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v\n%s\n%s", ns, err, out, ruleset)
	}
}

// nftCounter returns the packets counted by the rule with comment name in
// namespace ns.
func nftCounter(t *testing.T, ns, comment string) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset in %s: %v\n%s", ns, err, out)
	}
	m := regexp.MustCompile(`counter packets (\d+) bytes \d+.*comment "` + regexp.QuoteMeta(comment) + `"`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no counter %q in %s:\n%s", comment, ns, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// Switch filters: the bridge forwards ARP and unicast as ever, and drops
// IPv4 broadcast (beacons), IPv4 multicast (mDNS), or both.
const (
	dropBroadcast = `ether daddr ff:ff:ff:ff:ff:ff ether type ip counter drop comment "broadcast"`
	dropMulticast = `ether type ip ip daddr 224.0.0.0/4 counter drop comment "multicast"`
)

// filterSwitch installs rules in the switch namespace, after br exists: a
// bridge table loaded into a namespace with no bridge yet sees none of the
// frames (measured: its counters stay 0).
func filterSwitch(t *testing.T, l *Lab, br *Bridge, rules ...string) {
	t.Helper()
	needNft(t)
	if br == nil {
		t.Fatal("filterSwitch: make the bridge first")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge lclab {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  %s\n", r) // every bridge of the switch: meta ibrname is not in every kernel
	}
	b.WriteString(" }\n}\n")
	nftIn(t, l.SwitchNS(), b.String())
}

// peerVia returns how n's running node heard the peer with fingerprint fp
// ("beacon", "mdns", "" if not heard) and at which address.
func peerVia(t *testing.T, n *Node, fp string) (via, addr string) {
	t.Helper()
	out, err := n.CLI("peers", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var peers []struct {
		Fingerprint, Addr, Via string
	}
	if err := json.Unmarshal(out, &peers); err != nil {
		t.Fatalf("%s: peers --json: %v\n%s", n.Nick, err, out)
	}
	for _, p := range peers {
		if p.Fingerprint == fp {
			return p.Via, p.Addr
		}
	}
	return "", ""
}

// Broadcast dropped by the switch: the nodes hear no beacons of each other,
// and link by mDNS (DNS-SD) alone.
func TestLinkByMDNSWhenBroadcastIsDropped(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast)
	nodes := trustedMesh(t, l, br, "alice", "bob")
	// The beacons the nodes keep sending are dropped (mDNS may have linked
	// them before the first beacon went out).
	must(t, pollSlow("the switch to drop a beacon", 5*time.Second, func() bool { return nftCounter(t, l.SwitchNS(), "broadcast") > 0 }))
	for i, n := range nodes {
		o := nodes[1-i]
		want := fmt.Sprintf("%s:%d", o.Host.Addr(), linkPort)
		var via, addr string
		// The dialled side may link before it has heard the other's records
		// itself: they come with the next announcement or answer.
		err := pollSlow(n.Nick+" to hear "+o.Nick+" by mDNS", 10*time.Second, func() bool {
			via, addr = peerVia(t, n, o.Fingerprint())
			return via == "mdns" && addr == want
		})
		if err != nil {
			t.Errorf("%s hears %s via %q at %q, want mdns at %s: %v", n.Nick, o.Nick, via, addr, want, err)
		}
	}
	stopAll(t, nodes...)
}

// Multicast dropped by the switch: beacons still link the nodes.
func TestLinkByBroadcastWhenMulticastIsDropped(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropMulticast)
	nodes := trustedMesh(t, l, br, "alice", "bob")
	must(t, pollSlow("the switch to drop mDNS (on by default)", 5*time.Second, func() bool { return nftCounter(t, l.SwitchNS(), "multicast") > 0 }))
	if via, _ := peerVia(t, nodes[0], nodes[1].Fingerprint()); via != "beacon" {
		t.Errorf("alice hears bob via %q, want beacon", via)
	}
	stopAll(t, nodes...)
}

// With --no-mdns and broadcast dropped, nothing links them: the mDNS
// scenario above links by mDNS, not by some other way.
func TestNoMDNSWithBroadcastDroppedDoesNotLink(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast)
	nodes := newNodes(t, l, br, "alice", "bob")
	must(t, TrustEachOther(nodes...))
	for _, n := range nodes {
		n.Start(chatArgs("--no-mdns")...)
	}
	// Both announce for a while: a beacon interval is 250 ms, mDNS would
	// announce within one second.
	err := nodes[0].WaitFor("a link", 3*time.Second, func() bool { return nodes[0].LinkedTo(nodes[1]) })
	if err == nil {
		t.Fatal("alice and bob linked with --no-mdns and broadcast dropped")
	}
	if via, _ := peerVia(t, nodes[0], nodes[1].Fingerprint()); via != "" {
		t.Fatalf("alice hears bob via %q with --no-mdns and broadcast dropped", via)
	}
	stopAll(t, nodes...)
}

// Two trusted nodes that once met relink after a restart where broadcast
// and multicast are both dropped: by the addresses they remember.
func TestRelinkByRememberedAddressWhenBothDropped(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	nodes := trustedMesh(t, l, br, "alice", "bob")
	stopAll(t, nodes...)
	filterSwitch(t, l, br, dropBroadcast, dropMulticast)
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitMesh(t, nodes...)
	for i, n := range nodes {
		if via, _ := peerVia(t, n, nodes[1-i].Fingerprint()); via != "" {
			t.Errorf("%s heard %s via %s with broadcast and multicast dropped: the filter did not hold", n.Nick, nodes[1-i].Nick, via)
		}
	}
	must(t, pollSlow("the switch to drop beacons and mDNS", 5*time.Second, func() bool {
		return nftCounter(t, l.SwitchNS(), "broadcast") > 0 && nftCounter(t, l.SwitchNS(), "multicast") > 0
	}))
	stopAll(t, nodes...)
}

// An address change on one host (a Wi-Fi roam, a new DHCP lease): the
// node notices it within seconds, logs it once, and the pair relinks at
// the new address without a restart.
func TestAddressChangeRelinks(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	nodes := trustedMesh(t, l, br, "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	old := bob.Host.Ifaces[0].Addr
	moved := old.Addr().Next().Next().Next() // unused: the lab hands out addresses in order
	// As a new DHCP lease does it: the old address goes, the new one comes.
	must(t, ipIn(bob.Host.NS, "addr", "del", old.String(), "dev", "eth0"))
	must(t, ipIn(bob.Host.NS, "addr", "add", fmt.Sprintf("%v/%d", moved, old.Bits()), "broadcast", "+", "dev", "eth0"))
	want := fmt.Sprintf("%v:%d", moved, linkPort)
	must(t, pollSlow("alice to relink with bob at his new address", linkWait, func() bool {
		_, addr := peerVia(t, alice, bob.Fingerprint())
		return addr == want && alice.LinkedTo(bob) && bob.LinkedTo(alice) && peerUps(alice, bob) >= 2
	}))
	say(t, alice, "after the move")
	waitBodies(t, []*Node{bob}, []string{"after the move"})
	if n := strings.Count(bob.stderr(), "network changed"); n != 1 {
		t.Errorf("bob logged the change %d times, want once:\n%s", n, tail(bob.stderr()))
	}
	stopAll(t, nodes...)
}

// peerUps counts n's peer_up events for o in its current run.
func peerUps(n, o *Node) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	count := 0
	for _, ev := range n.events {
		if ev.Run == len(n.runs) && ev.Type == EventPeerUp && ev.Peer != nil && ev.Peer.Fingerprint == o.fp {
			count++
		}
	}
	return count
}

// stderr is the running (or last) chat's standard error so far.
func (n *Node) stderr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.runs) == 0 {
		return ""
	}
	return n.runs[len(n.runs)-1].stderr.String()
}

// avahi is a private D-Bus system bus and avahi-daemon in a lab host's
// namespace, with their own configuration, sockets and pid file (a tmpfs
// over /run/avahi-daemon in the mount namespace of ip netns exec): nothing
// of the machine's own D-Bus or Avahi is touched.
type avahi struct {
	bus string // DBUS_SYSTEM_BUS_ADDRESS
}

func startAvahi(t *testing.T, h *Host) *avahi {
	t.Helper()
	for _, tool := range []string{"avahi-daemon", "avahi-browse", "dbus-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian packages avahi-daemon, avahi-utils, dbus-daemon; make tools installs them as root)", tool)
		}
	}
	dir := t.TempDir()
	sock := dir + "/bus"
	busConf := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=` + sock + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`
	avahiConf := "[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=eth0\nenable-dbus=yes\nratelimit-interval-usec=0\n" +
		"[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"
	writeTestFile(t, dir+"/bus.conf", busConf)
	writeTestFile(t, dir+"/avahi.conf", avahiConf)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	bus := h.Command(ctx, "dbus-daemon", "--config-file="+dir+"/bus.conf", "--nofork", "--nopidfile")
	if out, err := startLogged(t, bus, "dbus-daemon"); err != nil {
		t.Fatalf("dbus-daemon: %v\n%s", err, out)
	}
	a := &avahi{bus: "unix:path=" + sock}
	must(t, Poll(ctx, 10*time.Second, func() bool { return fileExists(sock) }))
	daemon := h.Command(ctx, "sh", "-c", "mkdir -p /run/avahi-daemon && mount -t tmpfs lclab-avahi /run/avahi-daemon && "+
		"exec avahi-daemon --no-drop-root --no-chroot --no-rlimits --no-proc-title -f "+dir+"/avahi.conf")
	daemon.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DBUS_SYSTEM_BUS_ADDRESS=" + a.bus}
	if out, err := startLogged(t, daemon, "avahi-daemon"); err != nil {
		t.Fatalf("avahi-daemon: %v\n%s", err, out)
	}
	return a
}

// browse runs avahi-browse -rtp _lanchat._tcp on h against a's daemon.
func (a *avahi) browse(h *Host) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := h.Command(ctx, "avahi-browse", "-rtp", "_lanchat._tcp")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DBUS_SYSTEM_BUS_ADDRESS=" + a.bus}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Stock tools list a lanchat node: avahi-browse, through an avahi-daemon
// on another host, resolves alice's node to her address, port 47101 and
// TXT; and a lanchat node on the same host as the avahi-daemon (port 5353
// shared) is listed too and still links with alice by mDNS alone.
func TestAvahiBrowseListsNode(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast) // mDNS only, so bob's link proves his mDNS works beside Avahi
	nodes := newNodes(t, l, br, "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	must(t, TrustEachOther(nodes...))
	av := startAvahi(t, bob.Host)
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitMesh(t, nodes...)
	var out string
	err := pollSlow("avahi-browse to list both", 30*time.Second, func() bool {
		var err error
		out, err = av.browse(bob.Host)
		return err == nil && strings.Contains(out, alice.Fingerprint()) && strings.Contains(out, bob.Fingerprint())
	})
	if err != nil {
		t.Fatalf("avahi-browse never listed both nodes: %v\n%s", err, out)
	}
	// A resolved line: =;iface;IPv4;name;type;domain;host;address;port;txt
	resolved := regexp.MustCompile(`(?m)^=;eth0;IPv4;` + regexp.QuoteMeta(alice.Fingerprint()[:7]) +
		`;_lanchat\._tcp;local;lanchat-[a-z0-9]{7}\.local;` + regexp.QuoteMeta(alice.Host.Addr().String()) + `;47101;.*"fp=` +
		regexp.QuoteMeta(alice.Fingerprint()) + `".*"v=1"`)
	if !resolved.MatchString(out) {
		t.Errorf("avahi-browse did not resolve alice to %v:47101 with her TXT:\n%s", alice.Host.Addr(), out)
	}
	// Goodbye: once alice stops, avahi drops her at once (TTL 0), not after
	// two minutes.
	must(t, alice.Stop())
	err = pollSlow("avahi to drop alice", 10*time.Second, func() bool {
		out, err := av.browse(bob.Host)
		return err == nil && !strings.Contains(out, alice.Fingerprint()) && strings.Contains(out, bob.Fingerprint())
	})
	if err != nil {
		t.Fatalf("avahi still lists alice after she stopped (no goodbye?): %v", err)
	}
	must(t, bob.Stop())
}

// pollSlow checks cond every 250 ms until it holds or limit passes: for
// conditions that run a command each time.
func pollSlow(what string, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, limit)
		}
		time.Sleep(250 * time.Millisecond) // between runs of a command, not a wait for an event
	}
	return nil
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startLogged starts cmd with its output kept (logged if the test fails)
// and stops it, by its own PID, when the test ends.
func startLogged(t *testing.T, cmd *exec.Cmd, name string) (string, error) {
	t.Helper()
	buf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		return buf.String(), err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(buf.String()))
		}
	})
	return "", nil
}

// doctorReport is what lanchat doctor --json prints.
type doctorReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Check, Verdict, Finding, Fix string
	} `json:"checks"`
}

// doctor runs lanchat doctor --json on n's host, pinned like its chat.
func doctor(t *testing.T, n *Node, extra ...string) doctorReport {
	t.Helper()
	out, err := n.CLI(append([]string{"doctor", "--json", "--discovery-iface", "eth0", "--wait", "1s"}, extra...)...)
	var rep doctorReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("%s: doctor --json: %v (%v)\n%s", n.Nick, jerr, err, out)
	}
	return rep
}

// names reports whether a finding of check with verdict holds every part
// in its text or fix.
func (rep doctorReport) names(check, verdict string, parts ...string) bool {
	for _, f := range rep.Checks {
		if f.Check == check && f.Verdict == verdict {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(f.Finding+" "+f.Fix, p)
			}
			if all {
				return true
			}
		}
	}
	return false
}

func (rep doctorReport) String() string {
	b, _ := json.MarshalIndent(rep.Checks, "", " ")
	return string(b)
}

// A host firewall on bob drops TCP 47101: bob's doctor names his own rule
// and the command that opens it; alice's names bob's port as the cause
// (as a warning while they are linked because bob dialled her).
func TestDoctorNamesFirewalls(t *testing.T) {
	l := scenario(t)
	needNft(t)
	nodes := newNodes(t, l, l.Bridge(), "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	must(t, TrustEachOther(nodes...))
	nftIn(t, bob.Host.NS, "table inet filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 47101 drop\n }\n}\n")
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitReady(t, nodes...) // else doctor finds no node and tests the free port itself
	var rep doctorReport
	must(t, pollSlow("bob's doctor to name his firewall", linkWait, func() bool {
		rep = doctor(t, bob)
		return rep.names("firewall", "fail", "drops TCP 47101", "inet filter input", "nft insert rule inet filter input tcp dport 47101 accept")
	}))
	if rep.OK {
		t.Errorf("bob's report is ok with his port dropped:\n%v", rep)
	}
	if err := pollSlow("alice's doctor to name bob's port", linkWait, func() bool {
		rep = doctor(t, alice)
		who := []string{"bob(" + bob.Fingerprint()[:7] + ")", bob.Host.Addr().String() + ":47101", "allow TCP 47101"}
		// fail, or warn where bob linked by dialling out (his firewall drops only incoming links)
		return rep.names("peers", "fail", who...) || rep.names("peers", "warn", append(who, "they dialled you")...)
	}); err != nil {
		t.Fatalf("%v:\n%v", err, rep)
	}
	if rep.names("firewall", "fail") {
		t.Errorf("alice's doctor blames her own firewall:\n%v", rep)
	}
	stopAll(t, nodes...)
}

// The switch drops broadcast and multicast: a node sends beacons and hears
// none, and its doctor says so, with the likely causes.
func TestDoctorNamesNothingHeard(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast, dropMulticast)
	nodes := newNodes(t, l, br, "alice", "bob")
	must(t, TrustEachOther(nodes...))
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitReady(t, nodes...)
	rep := doctor(t, nodes[0])
	if !rep.names("discovery", "fail", "no beacon or mDNS record from any other node", "client isolation") || rep.OK {
		t.Errorf("alice's doctor does not name the silence:\n%v", rep)
	}
	stopAll(t, nodes...)
}

// Bob has not trusted alice: her doctor names him and the fix.
func TestDoctorNamesPeerThatHasNotTrustedYou(t *testing.T) {
	l := scenario(t)
	nodes := newNodes(t, l, l.Bridge(), "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	must(t, alice.Trust(bob))
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitReady(t, nodes...) // else doctor finds no node and tests the free port itself
	var rep doctorReport
	if err := pollSlow("alice's doctor to name bob", linkWait, func() bool {
		rep = doctor(t, alice)
		return rep.names("trust", "fail", "("+bob.Fingerprint()[:7]+")", "have not trusted you", "lanchat id")
	}); err != nil {
		t.Fatalf("%v:\n%v", err, rep)
	}
	stopAll(t, nodes...)
}

// waitReady waits until each node's chat said it is ready (its control
// socket serves).
func waitReady(t *testing.T, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		must(t, n.WaitFor("ready", linkWait, func() bool {
			n.mu.Lock()
			defer n.mu.Unlock()
			for _, ev := range n.events {
				if ev.Run == len(n.runs) && ev.Type == "ready" {
					return true
				}
			}
			return false
		}))
	}
}

// A host on the LAN replays bob's mDNS records as goodbyes and claims bob's
// key at its own address: alice's link with bob stays up, her trust list
// is as it was; the forged record moves at most the address alice would
// dial (a hint, as a replayed beacon is).
func TestForgedMDNSRecordsEndNoLink(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast) // alice hears bob by mDNS only
	nodes := trustedMesh(t, l, br, "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	mallory := l.Host("mallory", br)
	trustedBefore, err := alice.CLI("trusted", "--json")
	must(t, err)

	var pc net.PacketConn
	var p *ipv4.PacketConn
	must(t, mallory.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if pc, err = net.ListenPacket("udp4", "0.0.0.0:5353"); err != nil {
			return err
		}
		p = ipv4.NewPacketConn(pc)
		if err := p.JoinGroup(ifi, &net.UDPAddr{IP: mdns.Group.AsSlice()}); err != nil {
			return err
		}
		return p.SetMulticastInterface(ifi)
	}))
	defer pc.Close()
	// Record one of bob's announcements or answers (he answers queries).
	var inst mdns.Instance
	buf := make([]byte, mdns.MaxMessage)
	must(t, pc.SetReadDeadline(time.Now().Add(20*time.Second)))
	for inst.Name == "" {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no mDNS record of bob heard: %v", err)
		}
		if from.(*net.UDPAddr).IP.String() != bob.Host.Addr().String() {
			continue
		}
		if m, err := mdns.Parse(buf[:n], "_lanchat._tcp.local."); err == nil {
			for _, in := range m.Instances {
				if in.HasSRV && in.HasTXT && in.TTL > 0 {
					inst = in
				}
			}
		}
	}
	label, _, _ := strings.Cut(inst.Name, "._lanchat")
	forged := mdns.Service{Type: "_lanchat._tcp", Instance: label, Host: "mallory", Port: inst.Port, TXT: inst.TXT}
	dst := &net.UDPAddr{IP: mdns.Group.AsSlice(), Port: mdns.Port}
	send := func(ttl uint32) {
		msg, err := forged.Response(mdns.RecAll, 0, []netip.Addr{mallory.Addr()}, ttl)
		must(t, err)
		if _, err := p.WriteTo(msg, nil, dst); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		send(0) // goodbyes
	}
	// Then bob's key at mallory's address, until alice's table takes it
	// (as a hint; bob's own answers move it back).
	must(t, pollSlow("alice to take the forged record (as a hint)", 10*time.Second, func() bool {
		send(mdns.TTL)
		_, addr := peerVia(t, alice, bob.Fingerprint())
		return strings.HasPrefix(addr, mallory.Addr().String()+":")
	}))
	if !alice.LinkedTo(bob) || !bob.LinkedTo(alice) || peerUps(alice, bob) != 1 {
		t.Fatalf("the link did not survive forged mDNS records:\n%s", linkTable(nodes))
	}
	trustedAfter, err := alice.CLI("trusted", "--json")
	must(t, err)
	if string(trustedAfter) != string(trustedBefore) {
		t.Fatalf("alice's trust list changed:\n%s\nwas\n%s", trustedAfter, trustedBefore)
	}
	say(t, alice, "still here")
	waitBodies(t, []*Node{bob}, []string{"still here"})
	stopAll(t, nodes...)
}

// An interface that comes up after the node started (a laptop lid, a cable)
// is joined and announced on within seconds: with broadcast dropped, only
// mDNS on the new interface can link the pair.
func TestInterfaceUpLaterLinksByMDNS(t *testing.T) {
	l := scenario(t)
	br := l.Bridge()
	filterSwitch(t, l, br, dropBroadcast)
	nodes := newNodes(t, l, br, "alice", "bob")
	alice, bob := nodes[0], nodes[1]
	must(t, TrustEachOther(nodes...))
	must(t, ipIn(bob.Host.NS, "link", "set", "eth0", "down"))
	for _, n := range nodes {
		n.Start(chatArgs()...)
	}
	waitReady(t, nodes...)
	must(t, ipIn(bob.Host.NS, "link", "set", "eth0", "up"))
	waitMesh(t, nodes...)
	must(t, pollSlow("alice to hear bob by mDNS (his announcements on the new interface)", 10*time.Second, func() bool {
		via, _ := peerVia(t, alice, bob.Fingerprint())
		return via == "mdns"
	}))
	if n := strings.Count(bob.stderr(), "network changed"); n < 1 {
		t.Errorf("bob did not log the change:\n%s", tail(bob.stderr()))
	}
	stopAll(t, nodes...)
}
