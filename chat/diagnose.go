package chat

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// Diagnosis is what a running node knows about why peers may not link:
// the result of the control socket's diagnose method, read by lanchat
// doctor (PROTOCOL.md section 6).
type Diagnosis struct {
	// Listen is the link listener's address.
	Listen string `json:"listen"`
	// Discovery is nil with --no-discovery.
	Discovery *DiscoveryDiagnosis `json:"discovery"`
	// Refused are trusted peers whose end refused our handshake: they have
	// not trusted us. A peer leaves the list when it links.
	Refused []PeerIssue `json:"refused"`
	// ClockSkew is, per linked peer that sent a live message of its own
	// since it linked, how far its clock (the message's display time) is
	// ahead of ours (negative: behind), to within the delivery delay.
	ClockSkew []PeerSkew `json:"clock_skew"`
	// Probe is the outcome of DiagnoseParams' probe address, if one was given.
	Probe *ProbeResult `json:"probe,omitempty"`
}

// DiscoveryDiagnosis is the discovery side of a Diagnosis.
type DiscoveryDiagnosis struct {
	Started     time.Time  `json:"started"`
	BeaconsSent uint64     `json:"beacons_sent"`
	LastBeacon  *time.Time `json:"last_beacon_heard"` // from another node; null: none this run
	MDNS        bool       `json:"mdns"`              // mDNS runs
	LastMDNS    *time.Time `json:"last_mdns_heard"`   // a lanchat record of another node; null: none
	NetChanges  uint64     `json:"network_changes"`
}

// PeerIssue names a peer and where and when something went wrong with it.
type PeerIssue struct {
	Fingerprint string    `json:"fingerprint"`
	Short       string    `json:"short"`
	Name        string    `json:"name,omitempty"`
	Addr        string    `json:"addr"`
	At          time.Time `json:"at"`
}

// PeerSkew is one linked peer's clock skew.
type PeerSkew struct {
	Fingerprint string    `json:"fingerprint"`
	Short       string    `json:"short"`
	Name        string    `json:"name,omitempty"`
	SkewMS      int64     `json:"skew_ms"`
	At          time.Time `json:"at"` // when the message it is read from arrived
}

// Probe outcomes (ProbeResult.Handshake).
const (
	ProbeLinked    = "ok"        // handshake done: the peer trusts us and we trust it
	ProbeRefused   = "refused"   // the peer does not trust us
	ProbeUntrusted = "untrusted" // we do not trust the key that answered
	ProbeFailed    = "failed"    // anything else (not lanchat, a protocol or version error, a timeout)
)

// ProbeResult is what one direct probe of an address found.
type ProbeResult struct {
	Addr string `json:"addr"`
	// TCP: the connection was accepted; TCPError says why not.
	TCP      bool   `json:"tcp"`
	TCPError string `json:"tcp_error,omitempty"`
	// Handshake is one of the Probe* outcomes ("" if TCP failed).
	Handshake string `json:"handshake,omitempty"`
	// Fingerprint is the key that answered, when the handshake got that far.
	Fingerprint string `json:"fingerprint,omitempty"`
	Error       string `json:"error,omitempty"`
}

// maxRefused bounds the refusals remembered.
const maxRefused = 64

// diagTable is what Diagnose reports that the node has to remember, with
// its own lock (taken alone).
type diagTable struct {
	sync.Mutex
	refused map[lcrypto.IdentityKey]PeerIssue
	started time.Time
}

// noteRefused remembers that key refused our handshake at addr.
func (n *Node) noteRefused(key lcrypto.IdentityKey, addr string, now time.Time) {
	fp := key.Fingerprint()
	n.diag.Lock()
	defer n.diag.Unlock()
	if _, ok := n.diag.refused[key]; !ok && len(n.diag.refused) >= maxRefused {
		return
	}
	n.diag.refused[key] = PeerIssue{Fingerprint: fp.String(), Short: fp.Short(), Addr: addr, At: now}
}

func (n *Node) linkedClearsRefused(key lcrypto.IdentityKey) {
	n.diag.Lock()
	defer n.diag.Unlock()
	delete(n.diag.refused, key)
}

// linkSkew is a link's latest clock-skew reading (nanoseconds, and when).
type linkSkew struct {
	skew atomic.Int64
	at   atomic.Int64 // unix nanoseconds; 0: no reading yet
}

// noteSkew reads the skew off a live message the peer wrote itself.
func (l *link) noteSkew(m *Message, now time.Time) {
	if m.Author != l.key || m.Time.IsZero() {
		return
	}
	l.clock.skew.Store(int64(m.Time.Sub(now)))
	l.clock.at.Store(now.UnixNano())
}

// Diagnose returns what the node knows for lanchat doctor, probing addr
// first if it is not empty.
func (n *Node) Diagnose(ctx context.Context, probe string) Diagnosis {
	d := Diagnosis{Refused: []PeerIssue{}, ClockSkew: []PeerSkew{}}
	if n.addr != nil {
		d.Listen = n.addr.String()
	}
	if disc := n.disc.Load(); disc != nil {
		st := disc.Stats()
		n.diag.Lock()
		started := n.diag.started
		n.diag.Unlock()
		d.Discovery = &DiscoveryDiagnosis{Started: started, BeaconsSent: st.Sent, MDNS: st.MDNS, NetChanges: st.NetChanges,
			LastBeacon: timeOrNil(st.LastBeacon), LastMDNS: timeOrNil(st.LastMDNS)}
	}
	n.diag.Lock()
	for key, r := range n.diag.refused {
		r.Name, _ = n.trustName(key)
		d.Refused = append(d.Refused, r)
	}
	n.diag.Unlock()
	slices.SortFunc(d.Refused, func(a, b PeerIssue) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	for _, l := range n.allLinks() {
		at := l.clock.at.Load()
		if at == 0 {
			continue
		}
		fp := l.key.Fingerprint()
		name, _ := n.trustName(l.key)
		d.ClockSkew = append(d.ClockSkew, PeerSkew{Fingerprint: fp.String(), Short: fp.Short(), Name: name,
			SkewMS: time.Duration(l.clock.skew.Load()).Milliseconds(), At: time.Unix(0, at)})
	}
	slices.SortFunc(d.ClockSkew, func(a, b PeerSkew) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	if probe != "" {
		r := n.Probe(ctx, probe)
		d.Probe = &r
	}
	return d
}

func (n *Node) trustName(key lcrypto.IdentityKey) (string, bool) {
	tp, ok, err := n.store.IsTrusted(key.Fingerprint())
	if err != nil {
		return "", false
	}
	return tp.Name, ok
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Probe connects to addr and runs the handshake as a dial would, then
// closes the link at once (reason "probe"): a peer that trusts us sees a
// link come and go. It never enters the link table.
func (n *Node) Probe(ctx context.Context, addr string) ProbeResult {
	r := ProbeResult{Addr: addr}
	d := net.Dialer{Timeout: n.cfg.Session.HandshakeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.TCPError = err.Error()
		return r
	}
	r.TCP = true
	cfg, _ := n.sessionConfig()
	sess, err := session.Dial(ctx, conn, cfg)
	var ut *session.UntrustedPeerError
	var rf *session.RefusedError
	switch {
	case err == nil:
		r.Handshake, r.Fingerprint = ProbeLinked, sess.Peer().Fingerprint().String()
		_ = sess.Close("probe") // a probe only: the node links by itself
	case errors.As(err, &rf):
		r.Handshake, r.Fingerprint, r.Error = ProbeRefused, rf.Key.Fingerprint().String(), err.Error()
	case errors.As(err, &ut):
		r.Handshake, r.Fingerprint, r.Error = ProbeUntrusted, ut.Key.Fingerprint().String(), err.Error()
	default:
		r.Handshake, r.Error = ProbeFailed, err.Error()
	}
	return r
}
