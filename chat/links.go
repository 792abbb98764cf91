package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/discovery"
	"github.com/lanchat/lanchat/session"
)

// peer is one live link and what the peer told us over it.
type peer struct {
	link      *session.Link
	key       lcrypto.IdentityKey
	nick      string
	weDialled bool
	static    string          // the --peer address we dialled, if any
	rooms     map[string]bool // guarded by Node.mu
	up        time.Time
	storeErr  error // why storing its messages failed, if it did (guarded by Node.mu)

	// syncs holds, per room, whether a sync for the peer runs and the
	// request to serve after it (guarded by Node.mu): at most one sync per
	// room and link, however many requests a peer sends.
	syncs map[string]*syncState
}

type syncState struct {
	next *syncRequest // the newest request that came while one ran
}

// initiator is the key of the side that dialled this link.
func (p *peer) initiator(self lcrypto.IdentityKey) lcrypto.IdentityKey {
	if p.weDialled {
		return self
	}
	return p.key
}

// Knock reporting. Fresh keys cost nothing, so besides once per key per
// knockInterval, at most knockNotices untrusted knocks are reported one by
// one per Config.NoticeInterval; the others are summed up in one
// EventUntrustedMany at the end of it.
const (
	knockInterval = time.Minute
	knockNotices  = 3
)

// knockWindow counts the untrusted knocks of the current summary interval
// (guarded by Node.mu).
type knockWindow struct {
	start time.Time
	shown int    // reported one by one
	more  uint64 // not reported yet: the summary's count
}

// sessionConfig returns a link's configuration and the rooms its hello
// announces (a join or leave during the handshake is sent after it).
func (n *Node) sessionConfig() (session.Config, []string) {
	cfg := n.cfg.Session
	cfg.Identity = n.id
	cfg.Trusted = n.isTrusted
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = maxFrameSize
	}
	n.mu.Lock()
	h := hello{Nick: n.cfg.Nickname, Rooms: n.roomNamesLocked()}
	n.mu.Unlock()
	cfg.Hello = h.encode()
	return cfg, h.Rooms
}

func (n *Node) roomNamesLocked() []string {
	out := make([]string, 0, len(n.rooms))
	for r := range n.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (n *Node) acceptLoop(ctx context.Context, ln net.Listener) {
	defer n.wg.Done()
	guard := session.NewGuard(n.cfg.Guard)
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.logf("accepting links: %v", err)
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
			case <-ctx.Done():
				return
			}
			continue
		}
		backoff = 5 * time.Millisecond
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			cfg, announced := n.sessionConfig()
			link, err := guard.Accept(ctx, conn, cfg)
			if err != nil {
				n.handshakeFailed(conn.RemoteAddr().String(), err)
				return
			}
			n.addLink(link, false, "", announced)
		}()
	}
}

// handshakeFailed reports a failed handshake; an untrusted peer's knock
// becomes an event (rate-limited) so the UI can offer to trust it.
func (n *Node) handshakeFailed(addr string, err error) {
	var ut *session.UntrustedPeerError
	var rf *session.RefusedError
	switch {
	case errors.As(err, &ut):
		if n.firstReport(ut.Key, EventUntrusted) && n.knockShown(time.Now()) {
			pv := peerView(ut.Key)
			pv.Addr = addr
			n.events.publish(Event{Kind: EventUntrusted, Peer: pv,
				Reason: "lanchat trust " + pv.Fingerprint + " to let them in"})
		}
	case errors.As(err, &rf):
		if n.firstReport(rf.Key, EventRefused) {
			pv := peerView(rf.Key)
			pv.Addr = addr
			pv.Nick, pv.Trusted = n.authorName(rf.Key)
			n.events.publish(Event{Kind: EventRefused, Peer: pv,
				Reason: "they have not trusted you yet: read them your fingerprint (lanchat id) so they can run lanchat trust"})
		}
	}
	n.logf("link with %s failed: %v", addr, err)
}

// knockShown reports whether a knock (already past the per-key limit) may
// be reported on its own; if not, it is counted for the summary.
func (n *Node) knockShown(now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := &n.knockWin
	if w.start.IsZero() || now.Sub(w.start) >= n.noticeInterval() && w.more == 0 {
		*w = knockWindow{start: now}
	}
	if w.shown < knockNotices {
		w.shown++
		return true
	}
	w.more++
	return false
}

// flushKnocks publishes the summary of a knock window that is over.
func (n *Node) flushKnocks(now time.Time) {
	n.mu.Lock()
	w := &n.knockWin
	if w.more == 0 || now.Sub(w.start) < n.noticeInterval() {
		n.mu.Unlock()
		return
	}
	count, since := w.more, now.Sub(w.start).Round(time.Second)
	*w = knockWindow{start: now, shown: knockNotices} // the summary covers the rest of this window too
	n.mu.Unlock()
	n.events.publish(Event{Kind: EventUntrustedMany, Count: count,
		Reason: fmt.Sprintf("%d more untrusted peers tried to link in the last %v; lanchat peers shows who is around", count, since)})
}

func (n *Node) noticeInterval() time.Duration {
	if n.cfg.NoticeInterval <= 0 {
		return DefaultConfig().NoticeInterval
	}
	return n.cfg.NoticeInterval
}

type reportKey struct {
	key  lcrypto.IdentityKey
	kind EventKind
}

// firstReport rate-limits knock and refusal events: once per peer and kind
// per knockInterval.
func (n *Node) firstReport(key lcrypto.IdentityKey, kind EventKind) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := reportKey{key, kind}
	if last, seen := n.knocks[k]; seen && time.Since(last) < knockInterval {
		return false
	}
	if len(n.knocks) > 1024 {
		clear(n.knocks)
	}
	n.knocks[k] = time.Now()
	return true
}

// dial links to addr; static is the --peer address it came from, if any.
func (n *Node) dial(ctx context.Context, addr string, static string) {
	defer n.wg.Done()
	defer func() {
		n.mu.Lock()
		delete(n.dialing, addr)
		n.mu.Unlock()
	}()
	d := net.Dialer{Timeout: n.cfg.Session.HandshakeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		n.logf("dialling %s: %v", addr, err)
		return
	}
	cfg, announced := n.sessionConfig()
	link, err := session.Dial(ctx, conn, cfg)
	if err != nil {
		n.handshakeFailed(addr, err)
		return
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.dialLimit.Success(ap)
	}
	n.addLink(link, true, static, announced)
}

// startDialLocked starts a dial unless one to addr is in flight.
func (n *Node) startDialLocked(ctx context.Context, addr, static string) {
	if n.dialing[addr] || ctx.Err() != nil {
		return
	}
	n.dialing[addr] = true
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
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Backoff of dials to static peers that do not answer.
const (
	staticBackoffMin = time.Second
	staticBackoffMax = 30 * time.Second
)

// staticPeer is a --peer address and when to try it next.
type staticPeer struct {
	key     lcrypto.IdentityKey // who answered there last
	linked  bool
	next    time.Time
	backoff time.Duration
}

func (n *Node) dialStatics(ctx context.Context) {
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, addr := range n.cfg.StaticPeers {
		sp := n.statics[addr]
		if sp == nil {
			sp = &staticPeer{backoff: staticBackoffMin}
			n.statics[addr] = sp
		}
		if sp.linked && (n.links[sp.key] != nil || n.relinkWaitLocked(sp.key, now)) || now.Before(sp.next) || n.dialing[addr] {
			continue
		}
		sp.next = now.Add(sp.backoff)
		sp.backoff = min(2*sp.backoff, staticBackoffMax)
		n.startDialLocked(ctx, addr, addr)
	}
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
	n.mu.Lock()
	linked, waiting := n.links[p.Key] != nil, n.relinkWaitLocked(p.Key, now)
	n.mu.Unlock()
	if linked || waiting || !n.isTrusted(p.Key) {
		return
	}
	if bytes.Compare(self[:], p.Key[:]) > 0 && now.Sub(p.FirstSeen) < n.cfg.DialGrace {
		return
	}
	if !n.dialLimit.Allow(p.Addr, now) {
		return
	}
	n.mu.Lock()
	n.startDialLocked(ctx, p.Addr.String(), "")
	n.mu.Unlock()
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

// addLink registers a new link, resolving duplicates so that both sides keep
// the same one (see keepNew). announced are the rooms our hello named.
func (n *Node) addLink(link *session.Link, weDialled bool, static string, announced []string) {
	h, err := decodeHello(link.PeerHello())
	if err != nil {
		n.logf("link with %s: %v", link.Peer(), err)
		link.CloseWith(session.CloseProtocolError, "malformed hello: "+err.Error())
		return
	}
	p := &peer{link: link, key: link.Peer(), nick: h.Nick, weDialled: weDialled, static: static,
		rooms: map[string]bool{}, up: time.Now()}
	for _, r := range h.Rooms {
		p.rooms[r] = true
	}
	n.mu.Lock()
	if n.runCtx.Err() != nil {
		n.mu.Unlock()
		link.Close("shutting down")
		return
	}
	old := n.links[p.key]
	if old != nil && !n.keepNew(old, p) {
		n.mu.Unlock()
		link.Close("duplicate link")
		return
	}
	n.links[p.key] = p
	n.nicks[p.key] = p.nick
	if sp := n.statics[static]; sp != nil {
		sp.key, sp.linked, sp.backoff = p.key, true, staticBackoffMin
	}
	joined, left := roomDiff(announced, n.rooms)
	n.mu.Unlock()
	if old != nil {
		n.closeAsync(old, "duplicate link")
	}
	// Untrusted while the handshake ran? Then the untrust missed this link.
	if !n.isTrusted(p.key) {
		n.closeAsync(p, "no longer trusted")
	}
	if err := n.store.TouchPeer(p.key.Fingerprint(), p.up); err != nil {
		n.logf("recording last seen: %v", err)
	}
	for _, r := range joined {
		_ = link.Send(frameRoomJoin, encodeRoomFrame(r))
	}
	for _, r := range left {
		_ = link.Send(frameRoomLeave, encodeRoomFrame(r))
	}
	n.events.publish(Event{Kind: EventPeerUp, Peer: n.peerViewOf(p)})
	n.wg.Add(1)
	go n.serveLink(p)
}

// sameTimeLinks is how close in time two links to one peer, dialled by the
// same side, must come up to be a race of two dials (not a restart).
const sameTimeLinks = 2 * time.Second

// keepNew decides between two links to one peer, the same way on both
// sides: the link dialled by the smaller key wins; of two dialled by the
// same side, the one with the smaller channel binding if they came up
// together (two dials racing), else the newer (the old one is a dead
// leftover of a restart).
func (n *Node) keepNew(old, p *peer) bool {
	self := n.id.Public()
	oi, ni := old.initiator(self), p.initiator(self)
	if oi != ni {
		return bytes.Compare(ni[:], oi[:]) < 0
	}
	if p.up.Sub(old.up) < sameTimeLinks {
		return bytes.Compare(p.link.ChannelBinding(), old.link.ChannelBinding()) < 0
	}
	return true
}

// roomDiff returns the rooms joined and left since announced.
func roomDiff(announced []string, now map[string]*room) (joined, left []string) {
	was := map[string]bool{}
	for _, r := range announced {
		was[r] = true
		if now[r] == nil {
			left = append(left, r)
		}
	}
	for r := range now {
		if !was[r] {
			joined = append(joined, r)
		}
	}
	return joined, left
}

// removeLink forgets p if it is still the registered link for its key.
func (n *Node) removeLink(p *peer) {
	reason := "link closed"
	if err := p.link.Err(); err != nil {
		reason = err.Error()
	}
	n.mu.Lock()
	current := n.links[p.key] == p
	var notice string
	if current {
		delete(n.links, p.key)
		if p.storeErr != nil {
			reason = "local storage error: " + p.storeErr.Error()
		}
		notice = n.linkEndedLocked(p, reason, time.Now())
	}
	n.mu.Unlock()
	if current {
		pv := n.peerViewOf(p)
		n.events.publish(Event{Kind: EventPeerDown, Peer: pv, Reason: reason})
		if notice != "" {
			n.events.publish(Event{Kind: EventRelinkBackoff, Peer: pv, Reason: notice})
		}
	}
}

// closeAsync closes p's link without waiting for it to flush.
func (n *Node) closeAsync(p *peer, reason string) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		p.link.Close(reason)
	}()
}

// closeAllLinks closes every link at once, each flushing what it has queued.
func (n *Node) closeAllLinks(reason string) {
	for _, p := range n.allLinks() {
		n.closeAsync(p, reason)
	}
}

// allLinks returns the live links.
func (n *Node) allLinks() []*peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*peer, 0, len(n.links))
	for _, p := range n.links {
		out = append(out, p)
	}
	return out
}

func (n *Node) peerViewOf(p *peer) *PeerView {
	pv := peerView(p.key)
	pv.Nick, _ = n.authorName(p.key) // the name you gave them, else theirs
	pv.Addr = p.link.RemoteAddr().String()
	pv.Trusted = true
	pv.Linked = true
	n.mu.Lock()
	for r := range p.rooms {
		pv.Rooms = append(pv.Rooms, r)
	}
	n.mu.Unlock()
	slices.Sort(pv.Rooms)
	return pv
}
