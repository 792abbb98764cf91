package main

import (
	"context"
	"fmt"
	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"log"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
	"github.com/lanchat/lanchat/storage"
)

var peersHelp = help{
	synopsis: "lanchat peers [--wait 3s] [--json] [options]",
	text: `List who is around: the lanchat nodes whose beacons reach you. lanchat
announces itself, listens for --wait, then prints each node it heard: full
fingerprint, address, whether you trust it (and the name you gave it) and
when it was last heard. Trust is decided by the fingerprint alone: an
announced nickname is a claim anyone can make.

It announces with no link port (it takes no links) unless --port is given.
While lanchat chat runs on the same data dir, the list is that node's, at
once. Beacons are signed, so this needs your key (and its passphrase).`,
	example: `  lanchat peers
  lanchat peers --discovery-addr 127.255.255.255 --wait 2s   # this machine only
  lanchat peers --json | jq -r '.[] | select(.trusted | not) | .fingerprint'`,
}

// defaultPeersWait is long enough for every peer's steady beacon (one per
// second by default) plus its reply to ours.
const defaultPeersWait = 3 * time.Second

// peerJSON is one entry of lanchat peers --json: the object of the control
// socket's peers method (control.PeerEntry, PROTOCOL.md section 6), with the
// same fields whether a running node answered or this command listened for
// beacons itself.
type peerJSON struct {
	Fingerprint string  `json:"fingerprint"`
	Short       string  `json:"short"`
	Address     string  `json:"addr"`           // source IP of its beacons and its link port ("" if unknown)
	Trusted     bool    `json:"trusted"`        // in your trust list
	Name        string  `json:"name,omitempty"` // the name in your trust list
	Nickname    string  `json:"nick,omitempty"` // announced by the peer: unverified
	Linked      bool    `json:"linked"`         // a live link with the running node (never without one)
	LastSeen    *string `json:"last_seen"`      // its latest beacon; null: none heard

	Presence string `json:"presence,omitempty"` // online, away, busy: what a linked peer said
	Status   string `json:"status,omitempty"`   // its status line
	Via      string `json:"via,omitempty"`      // "beacon" or "mdns": how it was heard
}

func fromPeerEntry(p control.PeerEntry) peerJSON {
	j := peerJSON{Fingerprint: p.Fingerprint, Short: p.Short, Address: p.Addr, Trusted: p.Trusted,
		Name: p.Name, Nickname: p.Nick, Linked: p.Linked, Presence: p.Presence, Status: p.Status, Via: p.Via}
	if p.LastSeen != nil {
		j.LastSeen = jsonTime(*p.LastSeen)
	}
	return j
}

func runPeers(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	df := addDiscoveryFlags(fs, e.getenv)
	wait := fs.Duration("wait", defaultPeersWait, "how long to listen for beacons")
	asJSON := fs.Bool("json", false, "print JSON (an array, empty if nobody was found)")
	verbose := fs.BoolP("verbose", "v", false, "log discovery diagnostics to stderr")
	pf := addPassphraseFlags(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkPeersFlags(df, *wait, args); err != nil {
		return err
	}
	if len(df.peers) > 0 {
		warnf(e.stderr, "peers: --peer addresses are not probed; lanchat chat links to them")
	}
	list, running, err := e.peersFromNode(ctx)
	if !running {
		opts := peersRun{flags: df, wait: *wait, pass: pf, announcePort: fs.Changed("port")}
		if *verbose {
			opts.logf = log.New(e.stderr, "lanchat: ", log.Ltime).Printf
		}
		list, err = e.discoverPeers(ctx, opts)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list)
	}
	return printPeers(e, list)
}

func checkPeersFlags(df *discoveryFlags, wait time.Duration, args []string) error {
	if err := wantArgs("peers", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if df.noDiscovery {
		return usageErrorf("peers lists what discovery finds; drop --no-discovery", "peers: --no-discovery: nothing to list")
	}
	if wait <= 0 {
		return usageErrorf("run: lanchat peers --help", "peers: --wait: must be positive, e.g. 3s")
	}
	return df.check("peers")
}

// peersFromNode asks the node running on the data dir for its peer table;
// running is false when none runs.
func (e *env) peersFromNode(ctx context.Context) (list []peerJSON, running bool, err error) {
	dir, err := e.dir()
	if err != nil {
		return nil, false, nil // discoverPeers reports it
	}
	cl := control.Connect(ctx, dir)
	if cl == nil {
		return nil, false, nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	entries, err := cl.Peers(ctx)
	if err != nil {
		return nil, true, nodeError(err)
	}
	list = make([]peerJSON, 0, len(entries))
	for _, p := range entries {
		list = append(list, fromPeerEntry(p))
	}
	return list, true, nil
}

// peersRun is what discoverPeers needs from the command line.
type peersRun struct {
	flags        *discoveryFlags
	wait         time.Duration
	pass         *passphraseFlags
	announcePort bool // --port given: advertise it
	logf         func(string, ...any)
}

// discoverPeers runs discovery for opts.wait with the stored identity and
// returns what it heard, marked against the trust list.
func (e *env) discoverPeers(ctx context.Context, opts peersRun) ([]peerJSON, error) {
	if err := opts.flags.usable(e.stderr); err != nil {
		return nil, err
	}
	id, rec, trusted, err := e.peersIdentity(ctx, opts.pass)
	if err != nil {
		return nil, err
	}
	cfg := opts.flags.discoveryConfig(id, rec.Nickname)
	if opts.announcePort {
		cfg.TCPPort = uint16(opts.flags.port)
	}
	cfg.Logf = opts.logf
	svc, err := discovery.New(cfg)
	if err != nil {
		return nil, usageErrorf("run: lanchat peers --help", "peers: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	heard := make(chan map[lcrypto.IdentityKey]discovery.Peer, 1)
	go func() { heard <- collectPeers(svc.Events()) }() // ends when Run closes Events
	timer := time.NewTimer(opts.wait)
	defer timer.Stop()
	var now []discovery.Peer
	select {
	case err := <-done: // it could not start
		return nil, withHint(fmt.Errorf("peers: %w", err), "check --beacon-port and --discovery-addr")
	case <-ctx.Done():
	case <-timer.C:
		now = svc.Peers()
	}
	cancel()
	err = <-done
	all := <-heard
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted
	}
	for _, p := range now {
		all[p.Key] = p
	}
	return peersList(all, trusted), nil
}

// collectPeers returns every peer an event named, in its latest state: a
// peer that left or expired during the wait was still heard.
func collectPeers(events <-chan discovery.Event) map[lcrypto.IdentityKey]discovery.Peer {
	out := map[lcrypto.IdentityKey]discovery.Peer{}
	for ev := range events {
		if ev.Kind != discovery.Left && ev.Kind != discovery.Expired {
			out[ev.Peer.Key] = ev.Peer
		}
	}
	return out
}

// peersIdentity unlocks the identity and reads the trust list, then closes
// the database: it is not held while listening.
func (e *env) peersIdentity(ctx context.Context, pf *passphraseFlags) (*lcrypto.Identity, storage.IdentityRecord, map[lcrypto.Fingerprint]storage.TrustedPeer, error) {
	var rec storage.IdentityRecord
	db, err := e.openStore(readOnly)
	if err != nil {
		return nil, rec, nil, err
	}
	defer db.Close()
	if rec, err = db.Identity(); err != nil {
		return nil, rec, nil, err
	}
	id, err := e.loadIdentity(ctx, db, pf)
	if err != nil {
		return nil, rec, nil, err
	}
	list, err := db.TrustedPeers()
	if err != nil {
		return nil, rec, nil, err
	}
	trusted := make(map[lcrypto.Fingerprint]storage.TrustedPeer, len(list))
	for _, p := range list {
		trusted[p.Fingerprint] = p
	}
	return id, rec, trusted, nil
}

// discoveryConfig is the discovery part of the flags for a command that
// runs discovery on its own (not through a chat node).
func (f *discoveryFlags) discoveryConfig(id *lcrypto.Identity, nickname string) discovery.Config {
	cfg := discovery.DefaultConfig()
	cfg.Identity = id
	cfg.Iface, cfg.Addr = f.iface, f.addr
	cfg.Port, cfg.Interval = f.beaconPort, f.interval
	cfg.AnnounceNickname, cfg.Nickname = f.announceNick && nickname != "", nickname
	cfg.NoMDNS = f.noMDNS
	return cfg
}

func peersList(peers map[lcrypto.IdentityKey]discovery.Peer, trusted map[lcrypto.Fingerprint]storage.TrustedPeer) []peerJSON {
	out := make([]peerJSON, 0, len(peers))
	for _, p := range peers {
		t, ok := trusted[p.Key.Fingerprint()]
		out = append(out, fromPeerEntry(control.NewPeerEntry(p.Key, &p, "", "", ok, t.Name)))
	}
	slices.SortFunc(out, func(a, b peerJSON) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}

func printPeers(e *env, list []peerJSON) error {
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "Nobody found. Peers must run lanchat on the same network (and the same --beacon-port).")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tADDRESS\tTRUSTED\tLAST SEEN")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Fingerprint, peerAddress(p.Address), peerTrust(p), peerSeen(p))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	return nil
}

func peerAddress(a string) string {
	switch {
	case a == "":
		return "-"
	case strings.HasSuffix(a, ":0"):
		return strings.TrimSuffix(a, ":0") + " (takes no links)"
	}
	return a
}

func peerTrust(p peerJSON) string {
	s := "no"
	if p.Trusted {
		s = "yes"
		if p.Name != "" {
			s += " (" + p.Name + ")"
		}
	} else if p.Nickname != "" {
		s += fmt.Sprintf(" (says %q)", p.Nickname)
	}
	if p.Linked {
		s += ", linked"
	}
	if p.Presence != "" && p.Presence != "online" {
		s += ", " + p.Presence
	}
	if p.Status != "" {
		s += fmt.Sprintf(" %q", chatui.SanitizeLine(p.Status))
	}
	return s
}

func peerSeen(p peerJSON) string {
	if p.LastSeen == nil {
		if p.Linked {
			return "now (linked)"
		}
		return "—"
	}
	t, err := time.Parse(time.RFC3339, *p.LastSeen)
	if err != nil {
		return *p.LastSeen
	}
	return formatTime(t)
}
