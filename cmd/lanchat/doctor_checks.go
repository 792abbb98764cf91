package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/discovery"
)

// Bounds of the checks that touch the network.
const (
	probeTimeout = 2 * time.Second // one TCP connect
	maxProbes    = 16              // heard peers probed by TCP
	heardWindow  = time.Minute     // "heard from others in the last minute"
	skewWarn     = 2 * time.Minute // clock skew worth a warning
)

// ifaceUse is one interface as discovery sees it.
type ifaceUse struct {
	name  string
	addrs []netip.Prefix // IPv4
	used  bool
}

// virtualPrefixes name interfaces that usually are not the LAN.
var virtualPrefixes = []string{"docker", "br-", "virbr", "veth", "vmnet", "vboxnet", "lxc", "lxd", "cni", "flannel", "podman", "zt", "tailscale"}

// checkInterfaces reports which interfaces discovery uses and why it skips
// the others, and the addresses peers dial; it returns the interfaces.
func (d *doctor) checkInterfaces() []ifaceUse {
	ifs, err := localInterfaces()
	if err != nil {
		d.add("interfaces", verdictFail, "cannot list the network interfaces: "+err.Error(), "")
		return nil
	}
	names := make([]string, 0, len(ifs))
	for n := range ifs {
		names = append(names, n)
	}
	slices.Sort(names)
	var uses []ifaceUse
	var used, skipped, virtual []string
	for _, name := range names {
		ifi := ifs[name]
		u := ifaceUse{name: name}
		for _, p := range ifi.prefixes {
			if p.Addr().Is4() {
				u.addrs = append(u.addrs, p)
			}
		}
		why := d.skipReason(ifi, u)
		if why == "" {
			u.used = true
			used = append(used, fmt.Sprintf("%s (%s)", name, prefixList(u.addrs)))
			if isVirtualName(name) {
				virtual = append(virtual, name)
			}
		} else if why != "-" {
			skipped = append(skipped, name+": "+why)
		}
		uses = append(uses, u)
	}
	switch {
	case d.df.addr != "":
		a, _ := netip.ParseAddr(d.df.addr)
		what := "discovery is pinned to " + d.df.addr
		if a.IsLoopback() {
			what += ": only this machine (and no mDNS)"
		}
		d.add("interfaces", verdictOK, what, "")
	case len(used) == 0:
		d.add("interfaces", verdictFail, "no interface can send beacons or mDNS: nobody will find you",
			"connect to a network, or link directly with --peer HOST:PORT")
	default:
		d.add("interfaces", verdictOK, "beacons and mDNS go out on "+strings.Join(used, ", "), "")
	}
	if len(skipped) > 0 {
		d.add("interfaces", verdictOK, "skipped: "+strings.Join(skipped, "; "), "")
	}
	if len(virtual) > 0 && d.df.iface == "" && d.df.addr == "" {
		d.add("interfaces", verdictWarn, strings.Join(virtual, ", ")+" look like virtual adapters (containers, VMs, VPNs): beacons go there too",
			"if your LAN is another interface, pin it: --discovery-iface "+firstReal(uses))
	}
	d.dialAddrs(uses)
	return uses
}

// skipReason says why discovery does not use an interface ("" it does;
// "-" not worth a line: down and unpinned).
func (d *doctor) skipReason(ifi iface, u ifaceUse) string {
	if pin, err := netip.ParseAddr(d.df.addr); err == nil && !pin.Is6() && pin != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		for _, p := range u.addrs {
			if p.Contains(pin) && ifi.Flags&net.FlagUp != 0 {
				return "" // the pinned broadcast address is this interface's
			}
		}
		return "-"
	}
	switch {
	case d.df.iface != "" && ifi.Name != d.df.iface:
		return "-"
	case ifi.Flags&net.FlagUp == 0:
		if d.df.iface != "" {
			return "down"
		}
		return "-"
	case ifi.Flags&net.FlagLoopback != 0 && d.df.iface == "":
		return "loopback (used only with --discovery-addr 127.255.255.255)"
	case ifi.Flags&net.FlagPointToPoint != 0:
		return "point-to-point, as VPN tunnels are: no broadcast"
	case len(u.addrs) == 0:
		return "no IPv4 address"
	case ifi.Flags&(net.FlagBroadcast|net.FlagMulticast) == 0:
		return "neither broadcast nor multicast"
	}
	return ""
}

func isVirtualName(name string) bool {
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func firstReal(uses []ifaceUse) string {
	for _, u := range uses {
		if u.used && !isVirtualName(u.name) {
			return u.name
		}
	}
	return "NAME"
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// dialAddrs reports the addresses peers would dial.
func (d *doctor) dialAddrs(uses []ifaceUse) {
	var out []string
	for _, u := range uses {
		if u.used {
			for _, p := range u.addrs {
				out = append(out, net.JoinHostPort(p.Addr().String(), strconv.Itoa(d.df.port)))
			}
		}
	}
	if len(out) > 0 && d.df.port != 0 {
		d.add("addresses", verdictOK, "peers dial you at "+strings.Join(out, ", "), "")
	}
}

// withNode asks the running node.
func (d *doctor) withNode(ctx context.Context, node *control.Client, ifs []ifaceUse) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	diag, err := node.Diagnose(cctx, control.DiagnoseParams{})
	if err != nil {
		d.add("node", verdictFail, "the node running on the data dir does not answer: "+nodeError(err).Error(),
			"restart it (lanchat up), or use a lanchat as new as the node")
		return
	}
	d.add("node", verdictOK, "a node runs on the data dir and takes links on "+diag.Listen, "")
	port := d.df.port
	if ap, err := netip.ParseAddrPort(diag.Listen); err == nil {
		port = int(ap.Port())
		if ap.Addr().IsLoopback() {
			d.add("tcp", verdictWarn, "the node takes links on "+diag.Listen+" only: nobody else can link",
				"start it without --listen (or with --listen YOUR-LAN-ADDRESS)")
		}
	}
	d.selfTest(ctx, ifs, port)
	d.checkHeard(diag.Discovery, time.Now())
	peers, err := node.Peers(cctx)
	if err != nil {
		d.add("peers", verdictFail, "the node does not list its peers: "+nodeError(err).Error(), "")
		return
	}
	d.checkPeers(ctx, peers, diag.Refused)
	d.checkSkew(diag.ClockSkew)
	for _, addr := range d.df.peers {
		pd, err := node.Diagnose(cctx, control.DiagnoseParams{Probe: addr})
		if err != nil || pd.Probe == nil {
			d.add("probe", verdictFail, "probing "+addr+": "+nodeError(err).Error(), "")
			continue
		}
		d.probeFinding(*pd.Probe)
	}
}

// withoutNode binds the TCP port itself, listens for wait and probes
// --peer addresses by TCP only.
func (d *doctor) withoutNode(ctx context.Context, ifs []ifaceUse) {
	port := d.df.port
	ln, err := net.Listen("tcp", net.JoinHostPort(d.df.listen, strconv.Itoa(port)))
	if err != nil {
		d.add("tcp", verdictFail, fmt.Sprintf("TCP port %d cannot be bound: %v", port, err),
			"another program holds it: stop it, or choose another with --port")
	} else {
		port = ln.Addr().(*net.TCPAddr).Port
		d.add("tcp", verdictOK, fmt.Sprintf("no node runs on the data dir; TCP port %d is free for one", port), "")
		go acceptAndClose(ln)
		d.selfTest(ctx, ifs, port)
		ln.Close() // at once: a node starting now must get the port
	}
	if d.df.noDiscovery {
		d.add("discovery", verdictOK, "discovery is off (--no-discovery): links go to --peer addresses only", "")
	} else {
		heard, diag, err := d.listen(ctx)
		if err != nil {
			d.add("discovery", verdictWarn, "discovery not checked: "+err.Error(), "run lanchat doctor with a node running (lanchat up)")
		} else {
			d.checkHeard(diag, time.Now())
			d.checkPeers(ctx, heard, nil)
		}
	}
	d.add("clock", verdictOK, "clock skew with peers not checked: it needs a running node with links", "")
	for _, addr := range d.df.peers {
		r := probeTCP(ctx, addr)
		if !r.TCP {
			d.probeFinding(r)
			continue
		}
		d.add("probe", verdictWarn, addr+" takes TCP connections; the handshake was not tried: no node runs here",
			"start lanchat up, then lanchat doctor --peer "+addr+" again")
	}
}

// acceptAndClose takes the self-test's connections until ln is closed.
func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// selfTest connects to the TCP port through each interface address.
func (d *doctor) selfTest(ctx context.Context, ifs []ifaceUse, port int) {
	var ok, bad []string
	for _, u := range ifs {
		if !u.used {
			continue
		}
		for _, p := range u.addrs {
			addr := net.JoinHostPort(p.Addr().String(), strconv.Itoa(port))
			dctx, cancel := context.WithTimeout(ctx, probeTimeout)
			c, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
			cancel()
			if err != nil {
				bad = append(bad, addr+" ("+shortErr(err)+")")
				continue
			}
			c.Close()
			ok = append(ok, addr)
		}
	}
	if len(bad) > 0 {
		d.add("tcp", verdictFail, "the link port does not answer through "+strings.Join(bad, ", "),
			"lanchat listens elsewhere (--listen) or a local firewall rejects it even from this machine")
	}
	if len(ok) > 0 {
		d.add("tcp", verdictOK, "the link port answers through "+strings.Join(ok, ", ")+" (from this machine: a firewall may still drop others, see firewall)", "")
	}
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// checkHeard says whether beacons and mDNS records of others arrived in
// the last minute.
func (d *doctor) checkHeard(disc *control.DiscoveryDiagnosis, now time.Time) {
	if disc == nil {
		d.add("discovery", verdictOK, "discovery is off (--no-discovery): links go to --peer addresses only", "")
		return
	}
	recent := func(t *time.Time) bool { return t != nil && now.Sub(*t) < heardWindow }
	beacon, mdns := recent(disc.LastBeacon), disc.MDNS && recent(disc.LastMDNS)
	age := func(t *time.Time) string { return now.Sub(*t).Round(time.Second).String() + " ago" }
	if beacon {
		d.add("discovery", verdictOK, "beacons heard from others (the latest "+age(disc.LastBeacon)+")", "")
	}
	if mdns {
		d.add("discovery", verdictOK, "mDNS records heard from others (the latest "+age(disc.LastMDNS)+")", "")
	}
	if !disc.MDNS {
		d.add("discovery", verdictOK, "mDNS is off (--no-mdns, loopback discovery, or port 5353 unavailable)", "")
	}
	switch {
	case !beacon && !mdns && disc.BeaconsSent > 0:
		d.add("discovery", verdictFail, fmt.Sprintf("no beacon or mDNS record from any other node in the last minute, while %d beacons of ours went out", disc.BeaconsSent),
			"likely Wi-Fi client isolation, a router that filters broadcast and multicast, or a firewall upstream (or nobody else runs lanchat here): link directly with --peer HOST:47101, and ask a peer to run lanchat doctor too")
	case !beacon && mdns:
		d.add("discovery", verdictWarn, "no beacons heard, but mDNS: something filters broadcast here", "nothing to do while mDNS works; or ask the network's admin to let UDP broadcast through")
	case beacon && disc.MDNS && !mdns:
		d.add("discovery", verdictWarn, "beacons heard, but no mDNS from lanchat nodes: multicast is filtered, or the others run --no-mdns", "nothing to do while beacons work")
	}
}

// checkPeers probes the heard peers that are not linked by TCP and names
// the trusted ones that refused us.
func (d *doctor) checkPeers(ctx context.Context, peers []control.PeerEntry, refused []control.PeerIssue) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	type miss struct {
		who, addr, port, why string
		linked               bool
	}
	var unreachable []miss
	linked, heard := 0, 0
	probed := 0
	for _, p := range peers {
		if p.Linked {
			linked++
		}
		if p.Via == "" {
			continue
		}
		heard++
		ap, err := netip.ParseAddrPort(p.Addr)
		if err != nil || ap.Port() == 0 || probed >= maxProbes {
			continue
		}
		probed++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := probeTCP(ctx, p.Addr); !r.TCP {
				mu.Lock()
				unreachable = append(unreachable, miss{peerLabel(p.Name, p.Nick, p.Short), p.Addr, strconv.Itoa(int(ap.Port())), shortErr(fmt.Errorf("%s", r.TCPError)), p.Linked})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(unreachable, func(a, b miss) int { return strings.Compare(a.addr, b.addr) })
	d.add("peers", verdictOK, fmt.Sprintf("%d peers heard, %d linked", heard, linked), "")
	for _, u := range unreachable {
		fix := "ask them to allow TCP " + u.port + " in their firewall (or to run lanchat doctor)"
		if u.linked { // they dialled us: works until both sides have such a firewall
			d.add("peers", verdictWarn, fmt.Sprintf("%s at %s is linked (they dialled you), but its TCP port does not answer (%s)", u.who, u.addr, u.why), fix)
			continue
		}
		d.add("peers", verdictFail, fmt.Sprintf("%s at %s is heard, but its TCP port does not answer (%s)", u.who, u.addr, u.why), fix)
	}
	for _, r := range refused {
		d.add("trust", verdictFail, fmt.Sprintf("%s at %s refuses the link: they have not trusted you yet", peerLabel(r.Name, "", r.Short), r.Addr),
			"read them your fingerprint (lanchat id) so they can run lanchat trust")
	}
}

func peerLabel(name, nick, short string) string {
	switch {
	case name != "":
		return name + "(" + short + ")"
	case nick != "":
		return nick + "?(" + short + ")"
	}
	return short
}

// checkSkew reports linked peers whose clocks are far off ours.
func (d *doctor) checkSkew(skews []control.PeerSkew) {
	if len(skews) == 0 {
		d.add("clock", verdictOK, "clock skew unknown: no live message from a linked peer yet", "")
		return
	}
	worst := time.Duration(0)
	for _, s := range skews {
		sk := time.Duration(s.SkewMS) * time.Millisecond
		if sk.Abs() > worst {
			worst = sk.Abs()
		}
		if sk.Abs() >= skewWarn {
			dir := "ahead of"
			if sk < 0 {
				dir = "behind"
			}
			d.add("clock", verdictWarn, fmt.Sprintf("%s's clock is %v %s yours: the times shown by their messages are off", peerLabel(s.Name, "", s.Short), sk.Abs().Round(time.Second), dir),
				"whoever is wrong: turn on time sync (timedatectl set-ntp true); the order of messages does not depend on it")
		}
	}
	if worst < skewWarn {
		d.add("clock", verdictOK, fmt.Sprintf("clocks of linked peers agree with yours (within %v)", worst.Round(time.Millisecond)), "")
	}
}

// probeTCP connects to addr and closes at once.
func probeTCP(ctx context.Context, addr string) control.ProbeResult {
	r := control.ProbeResult{Addr: addr}
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		r.TCPError = err.Error()
		return r
	}
	c.Close()
	r.TCP = true
	return r
}

// probeFinding turns a probe's result into a line.
func (d *doctor) probeFinding(r control.ProbeResult) {
	_, port, _ := net.SplitHostPort(r.Addr)
	switch {
	case !r.TCP:
		d.add("probe", verdictFail, "cannot connect to "+r.Addr+": "+shortErr(fmt.Errorf("%s", r.TCPError)),
			"is lanchat running there, on that port? their firewall must allow TCP "+port)
	case r.Handshake == control.ProbeLinked:
		d.add("probe", verdictOK, r.Addr+" is "+shortFP(r.Fingerprint)+": it trusts you and you trust it; the link works", "")
	case r.Handshake == control.ProbeRefused:
		d.add("probe", verdictFail, r.Addr+" is "+shortFP(r.Fingerprint)+", who has not trusted you yet",
			"read them your fingerprint (lanchat id) so they can run lanchat trust")
	case r.Handshake == control.ProbeUntrusted:
		d.add("probe", verdictWarn, r.Addr+" answers as "+r.Fingerprint+", whom you do not trust",
			"compare that fingerprint with its owner, then: lanchat trust "+r.Fingerprint)
	default:
		d.add("probe", verdictFail, r.Addr+" takes TCP, but the handshake failed: "+r.Error,
			"is that lanchat, and as new as yours (lanchat --version)?")
	}
}

func shortFP(fp string) string {
	if len(fp) >= 7 {
		return fp[:7]
	}
	return fp
}

// listen runs discovery for d.wait, as lanchat peers does, and returns
// what it heard and its counters.
func (d *doctor) listen(ctx context.Context) ([]control.PeerEntry, *control.DiscoveryDiagnosis, error) {
	id, rec, trusted, err := d.e.peersIdentity(ctx, d.pass)
	if err != nil {
		return nil, nil, err
	}
	cfg := d.df.discoveryConfig(id, rec.Nickname)
	svc, err := discovery.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	started := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	go func() { // drain: Events closes when Run returns
		for range svc.Events() {
		}
	}()
	timer := time.NewTimer(d.wait)
	defer timer.Stop()
	var peers []discovery.Peer
	select {
	case err := <-done:
		return nil, nil, err
	case <-ctx.Done():
	case <-timer.C:
		peers = svc.Peers()
	}
	st := svc.Stats()
	cancel()
	if err := <-done; err != nil {
		return nil, nil, err
	}
	out := make([]control.PeerEntry, 0, len(peers))
	for _, p := range peers {
		t, ok := trusted[p.Key.Fingerprint()]
		out = append(out, control.NewPeerEntry(p.Key, &p, "", "", ok, t.Name))
	}
	diag := &control.DiscoveryDiagnosis{Started: started, BeaconsSent: st.Sent, MDNS: st.MDNS}
	if !st.LastBeacon.IsZero() {
		diag.LastBeacon = &st.LastBeacon
	}
	if !st.LastMDNS.IsZero() {
		diag.LastMDNS = &st.LastMDNS
	}
	return out, diag, nil
}

// checkFirewall reads the local firewall rules for the three ports.
func (d *doctor) checkFirewall(ctx context.Context, ifs []ifaceUse) {
	if runtime.GOOS != "linux" {
		d.add("firewall", verdictWarn, "the firewall rules are not checked on "+runtime.GOOS,
			fmt.Sprintf("make sure TCP %d and UDP %d (and UDP 5353 for mDNS) may come in; README: Firewall", d.df.port, d.df.beaconPort))
		return
	}
	rs, err := readNftRuleset(ctx)
	if err != nil {
		d.add("firewall", verdictWarn, err.Error()+" (iptables-legacy rules are not read either)",
			fmt.Sprintf("run lanchat doctor as root, or check yourself that TCP %d, UDP %d and UDP 5353 may come in: sudo nft list ruleset", d.df.port, d.df.beaconPort))
		return
	}
	iface := ""
	for _, u := range ifs {
		if u.used {
			iface = u.name
			break
		}
	}
	pkts := []fwPacket{{"tcp", d.df.port, iface}, {"udp", d.df.beaconPort, iface}}
	if d.mdnsWanted() {
		pkts = append(pkts, fwPacket{"udp", 5353, iface})
	}
	var passed []string
	for _, p := range pkts {
		if p.port == 0 {
			continue
		}
		label := fmt.Sprintf("%s %d", strings.ToUpper(p.proto), p.port)
		r := rs.verdict(p)
		switch r.verdict {
		case fwDrop:
			d.add("firewall", verdictFail, fmt.Sprintf("the local firewall drops %s on %s (%s)", label, cmpOr(iface, "any interface"), r.where), allowCommand(r, p))
		case fwUnknown:
			d.add("firewall", verdictWarn, fmt.Sprintf("%s on %s depends on a rule lanchat cannot judge (%s)", label, cmpOr(iface, "any interface"), r.where),
				"check that it lets your LAN in: sudo nft list ruleset")
		default:
			passed = append(passed, label)
		}
	}
	if len(passed) > 0 {
		d.add("firewall", verdictOK, "the nftables rules let in "+strings.Join(passed, ", ")+" on "+cmpOr(iface, "any interface"), "")
	}
}

// mdnsWanted mirrors discovery.Config.MDNSWanted for the flags.
func (d *doctor) mdnsWanted() bool {
	cfg := discovery.DefaultConfig()
	cfg.NoMDNS, cfg.Addr, cfg.Iface = d.df.noMDNS, d.df.addr, d.df.iface
	return cfg.MDNSWanted()
}

// checkDataDir checks the data directory and, without a node, the
// database (a full check, as every open does).
func (d *doctor) checkDataDir(nodeRunning bool) {
	dir, err := d.e.dir()
	if err != nil {
		d.add("data", verdictFail, err.Error(), "pass --data-dir DIR")
		return
	}
	st, err := os.Stat(dir)
	if err != nil {
		d.add("data", verdictFail, "data dir "+dir+": "+err.Error(), "run: lanchat init --name YOURNAME (or pass the --data-dir you used)")
		return
	}
	if st.Mode().Perm()&0o077 != 0 {
		d.add("data", verdictWarn, fmt.Sprintf("data dir %s is open to other users (mode %04o)", dir, st.Mode().Perm()), "chmod 700 "+dir)
	}
	if nodeRunning {
		d.add("data", verdictOK, "the database in "+dir+" is held by the running node (checked when it opened it)", "")
		return
	}
	db, err := d.e.openStore(readOnly)
	if err != nil {
		d.add("data", verdictFail, "database: "+err.Error(), hintFor(err))
		return
	}
	defer db.Close()
	path := filepath.Join(dir, dbFile)
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		d.add("data", verdictWarn, fmt.Sprintf("%s is readable by other users (mode %04o)", path, fi.Mode().Perm()), "chmod 600 "+path)
	}
	d.add("data", verdictOK, "the database in "+dir+" opens and checks clean", "")
}
