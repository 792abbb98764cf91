package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// Knock reporting. Fresh keys cost nothing, so besides once per key per
// knockInterval, at most knockNotices untrusted knocks are reported one by
// one per Config.NoticeInterval; the others are summed up in one
// EventUntrustedMany at the end of it.
const (
	knockInterval = time.Minute
	knockNotices  = 3
)

// reportTable rate-limits the events about failed handshakes, with its own
// lock.
type reportTable struct {
	sync.Mutex
	last map[reportKey]time.Time // last knock/refusal event per peer
	win  knockWindow             // untrusted knocks of this summary interval
}

type reportKey struct {
	key  lcrypto.IdentityKey
	kind EventKind
}

// knockWindow counts the untrusted knocks of the current summary interval.
type knockWindow struct {
	start time.Time
	shown int    // reported one by one
	more  uint64 // not reported yet: the summary's count
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
		go n.accept(ctx, guard, conn)
	}
}

// accept runs the handshake of an incoming connection.
func (n *Node) accept(ctx context.Context, guard *session.Guard, conn net.Conn) {
	defer n.wg.Done()
	cfg, announced := n.sessionConfig()
	sess, err := guard.Accept(ctx, conn, cfg)
	if err != nil {
		n.handshakeFailed(conn.RemoteAddr().String(), err)
		return
	}
	n.addLink(sess, false, "", announced)
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
		n.noteRefused(rf.Key, addr, time.Now())
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
	n.reports.Lock()
	defer n.reports.Unlock()
	w := &n.reports.win
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
	n.reports.Lock()
	w := &n.reports.win
	if w.more == 0 || now.Sub(w.start) < n.noticeInterval() {
		n.reports.Unlock()
		return
	}
	count, since := w.more, now.Sub(w.start).Round(time.Second)
	*w = knockWindow{start: now, shown: knockNotices} // the summary covers the rest of this window too
	n.reports.Unlock()
	n.events.publish(Event{Kind: EventUntrustedMany, Count: count,
		Reason: fmt.Sprintf("%d more untrusted peers tried to link in the last %v; lanchat peers shows who is around", count, since)})
}

func (n *Node) noticeInterval() time.Duration {
	if n.cfg.NoticeInterval <= 0 {
		return DefaultConfig().NoticeInterval
	}
	return n.cfg.NoticeInterval
}

// firstReport rate-limits knock and refusal events: once per peer and kind
// per knockInterval.
func (n *Node) firstReport(key lcrypto.IdentityKey, kind EventKind) bool {
	n.reports.Lock()
	defer n.reports.Unlock()
	k := reportKey{key, kind}
	if last, seen := n.reports.last[k]; seen && time.Since(last) < knockInterval {
		return false
	}
	if len(n.reports.last) > 1024 {
		clear(n.reports.last)
	}
	n.reports.last[k] = time.Now()
	return true
}
