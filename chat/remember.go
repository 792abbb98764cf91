package chat

import (
	"context"
	"net"
	"net/netip"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Backoff of dials to remembered addresses (PROTOCOL.md 5.7): like --peer
// addresses, but only for peers that discovery does not hear at all.
const (
	rememberedBackoffMin = time.Second
	rememberedBackoffMax = time.Minute
)

// rememberedPeer is one remembered address of a trusted peer and when to
// try it next (guarded by dialTable).
type rememberedPeer struct {
	next    time.Time
	backoff time.Duration
}

// loadRemembered reads the remembered addresses of the trusted peers,
// keyed by fingerprint, into the dial table (before Run's dial loop).
func (n *Node) loadRemembered() {
	addrs, err := n.store.PeerAddrs()
	if err != nil {
		n.logf("remembered addresses: %v", err)
		return
	}
	n.dials.Lock()
	defer n.dials.Unlock()
	for fp, list := range addrs {
		for _, a := range list {
			n.dials.rememberedFP[a.String()] = fp
		}
	}
}

// linkedPeer records that l came up: the peer's last-seen time and where
// it can be dialled (linkAddr), in one store transaction.
func (n *Node) linkedPeer(l *link) {
	remote := n.linkAddr(l)
	fp := l.key.Fingerprint()
	if err := n.store.PeerLinked(fp, l.up, remote); err != nil {
		n.logf("recording the link with %s: %v", l.key, err)
		return
	}
	if remote.IsValid() {
		n.dials.Lock()
		n.dials.rememberedFP[remote.String()] = fp
		n.dials.Unlock()
	}
}

// linkAddr is where l's peer can be dialled (the zero AddrPort if
// unknown): the dialled address of an outgoing link; for an incoming one,
// the address discovery heard it at, if that is the link's source IP (an
// incoming link's port is not the peer's listening port).
func (n *Node) linkAddr(l *link) netip.AddrPort {
	remote, ok := addrPortOf(l.sess.RemoteAddr())
	if !ok {
		return netip.AddrPort{}
	}
	if l.weDialled {
		return remote
	}
	var heard netip.AddrPort
	if disc := n.disc.Load(); disc != nil {
		for _, p := range disc.Peers() {
			if p.Key == l.key && p.Addr.Addr() == addrOnly(l.sess.RemoteAddr()) && p.Addr.Port() != 0 {
				heard = p.Addr
			}
		}
	}
	return heard
}

func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

func addrOnly(a net.Addr) netip.Addr {
	ap, _ := addrPortOf(a)
	return ap.Addr()
}

// dialRemembered dials the remembered addresses of trusted peers that are
// neither linked nor heard by discovery (where it is heard, discovery's
// address is newer), each address with its own backoff.
func (n *Node) dialRemembered(ctx context.Context) {
	heard := map[lcrypto.Fingerprint]bool{}
	if disc := n.disc.Load(); disc != nil {
		for _, p := range disc.Peers() {
			heard[p.Key.Fingerprint()] = true
		}
	}
	now := time.Now()
	linked := n.linkedFingerprints()
	n.dials.Lock()
	defer n.dials.Unlock()
	for addr, fp := range n.dials.rememberedFP {
		if heard[fp] || linked[fp] || n.dials.inFlight[addr] {
			continue
		}
		rp := n.dials.remembered[addr]
		if rp == nil {
			rp = &rememberedPeer{backoff: rememberedBackoffMin}
			n.dials.remembered[addr] = rp
		}
		if now.Before(rp.next) {
			continue
		}
		if _, ok, err := n.store.IsTrusted(fp); err != nil || !ok {
			delete(n.dials.rememberedFP, addr) // untrusted since: never dialled again
			delete(n.dials.remembered, addr)
			continue
		}
		rp.next = now.Add(rp.backoff)
		rp.backoff = min(2*rp.backoff, rememberedBackoffMax)
		n.startDialLocked(ctx, addr, "")
	}
}

// rememberedLinked resets the backoff of a remembered address that led to
// a link.
func (n *Node) rememberedLinked(addr string) {
	n.dials.Lock()
	defer n.dials.Unlock()
	if rp := n.dials.remembered[addr]; rp != nil {
		rp.backoff, rp.next = rememberedBackoffMin, time.Time{}
	}
}

// linkedFingerprints returns the fingerprints of the linked peers.
func (n *Node) linkedFingerprints() map[lcrypto.Fingerprint]bool {
	n.links.Lock()
	defer n.links.Unlock()
	out := make(map[lcrypto.Fingerprint]bool, len(n.links.byKey))
	for k := range n.links.byKey {
		out[k.Fingerprint()] = true
	}
	return out
}
