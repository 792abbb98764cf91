package chat

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
	"github.com/lanchat/lanchat/session"
)

// Backoff of dials to static peers that do not answer.
const (
	staticBackoffMin = time.Second
	staticBackoffMax = 30 * time.Second
)

// dialTable is the dials in flight and the --peer addresses' state, with
// its own lock. Lock order: dials, then links, then relinks.
type dialTable struct {
	sync.Mutex
	inFlight map[string]bool        // addresses with a dial in flight
	statics  map[string]*staticPeer // --peer address → its state
	// rememberedFP: remembered address (of a past link) → whose it was;
	// remembered: its dial backoff.
	rememberedFP map[string]lcrypto.Fingerprint
	remembered   map[string]*rememberedPeer
}

// staticPeer is a --peer address and when to try it next.
type staticPeer struct {
	key     lcrypto.IdentityKey // who answered there last
	linked  bool
	next    time.Time
	backoff time.Duration
}

// dial links to addr; static is the --peer address it came from, if any.
func (n *Node) dial(ctx context.Context, addr string, static string) {
	defer n.wg.Done()
	defer func() {
		n.dials.Lock()
		delete(n.dials.inFlight, addr)
		n.dials.Unlock()
	}()
	d := net.Dialer{Timeout: n.cfg.Session.HandshakeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		n.logf("dialling %s: %v", addr, err)
		return
	}
	cfg, announced := n.sessionConfig()
	sess, err := session.Dial(ctx, conn, cfg)
	if err != nil {
		n.handshakeFailed(addr, err)
		return
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.dialLimit.Success(ap)
	}
	n.rememberedLinked(addr)
	n.addLink(sess, true, static, announced)
}

// startDialLocked starts a dial unless one to addr is in flight (n.dials
// held).
func (n *Node) startDialLocked(ctx context.Context, addr, static string) {
	if n.dials.inFlight[addr] || ctx.Err() != nil {
		return
	}
	n.dials.inFlight[addr] = true
	n.wg.Add(1)
	go n.dial(ctx, addr, static)
}

// dialLoop links to trusted discovered peers and static peers that have no
// link yet, on a ticker (new beacons also trigger it through events).
func (n *Node) dialLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RedialInterval)
	defer t.Stop()
	for {
		n.flushKnocks(time.Now())
		n.events.flushDropped()
		n.dialStatics(ctx)
		if disc := n.disc.Load(); disc != nil {
			for _, p := range disc.Peers() {
				n.maybeDial(ctx, p)
			}
			n.dialRemembered(ctx) // only with discovery on: --no-discovery dials --peer only
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (n *Node) dialStatics(ctx context.Context) {
	now := time.Now()
	n.dials.Lock()
	defer n.dials.Unlock()
	for _, addr := range n.cfg.StaticPeers {
		sp := n.dials.statics[addr]
		if sp == nil {
			sp = &staticPeer{backoff: staticBackoffMin}
			n.dials.statics[addr] = sp
		}
		if sp.linked && n.linkedOrWaiting(sp.key, now) || now.Before(sp.next) || n.dials.inFlight[addr] {
			continue
		}
		sp.next = now.Add(sp.backoff)
		sp.backoff = min(2*sp.backoff, staticBackoffMax)
		n.startDialLocked(ctx, addr, addr)
	}
}

// staticLinked notes that the --peer address static (if any) led to key.
func (n *Node) staticLinked(static string, key lcrypto.IdentityKey) {
	n.dials.Lock()
	defer n.dials.Unlock()
	if sp := n.dials.statics[static]; sp != nil {
		sp.key, sp.linked, sp.backoff = key, true, staticBackoffMin
	}
}

// linkedOrWaiting reports whether key has a link, or dials to it must wait
// for its relink backoff at now.
func (n *Node) linkedOrWaiting(key lcrypto.IdentityKey, now time.Time) bool {
	n.links.Lock()
	defer n.links.Unlock()
	return n.links.byKey[key] != nil || n.relinkWait(key, now)
}

// maybeDial dials a discovered peer if it is trusted, not linked, and this
// side should dial: the smaller key dials at once, the larger only after
// DialGrace without a link (one side may not hear the other's beacons).
func (n *Node) maybeDial(ctx context.Context, p discovery.Peer) {
	self := n.id.Public()
	if p.Key == self || p.Addr.Port() == 0 { // port 0: it takes no links (lanchat peers)
		return
	}
	now := time.Now()
	if n.linkedOrWaiting(p.Key, now) || !n.isTrusted(p.Key) {
		return
	}
	if bytes.Compare(self[:], p.Key[:]) > 0 && now.Sub(p.FirstSeen) < n.cfg.DialGrace {
		return
	}
	if !n.dialLimit.Allow(p.Addr, now) {
		return
	}
	n.dials.Lock()
	n.startDialLocked(ctx, p.Addr.String(), "")
	n.dials.Unlock()
}

func (n *Node) discoveryEvents(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case ev, ok := <-n.disc.Load().Events():
			if !ok {
				return
			}
			// A beacon is public and replayable: it may suggest a dial, never
			// end a link. A leaving peer closes its links with a close frame;
			// a vanished one is caught by the link's liveness. So Left and
			// Expired change nothing here.
			switch ev.Kind {
			case discovery.Appeared, discovery.AddressChanged, discovery.Restarted:
				n.maybeDial(ctx, ev.Peer)
			}
		case <-ctx.Done():
			return
		}
	}
}
