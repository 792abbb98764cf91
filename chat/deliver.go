package chat

import (
	"context"
	"errors"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// deliveryQueue bounds the deliveries (a live message, or a catch-up batch)
// of one link that wait for their commit; a full queue stops reading from
// that link (TCP pushes back). Small: each slot costs memory on every link.
const deliveryQueue = 64

// delivery is a batch of verified messages from one link, submitted to the
// store and waiting for its commit before being shown (and relayed, unless
// relayEarly).
type delivery struct {
	msgs    []Message
	raws    [][]byte
	pending storage.Pending
	catchUp bool
	// relayEarly is set for a live message of an open room, received over
	// this link: submit relays it to the room's other links as soon as its
	// commit is queued, so that relaying overlaps the fsync. Showing it
	// still waits for the commit (deliver).
	relayEarly *link
	// checkRoom, when set, is the room whose catch-up this delivery ends:
	// once it is durable the node sends its sync check (converge.go).
	checkRoom string
}

// submit queues d's messages for their commit and hands d to the link's
// delivery line (whose goroutine waits for the commit, then shows them). A
// delivery marked relayEarly is relayed in between: once verified and
// queued, while its commit is in flight.
func (n *Node) submit(ctx context.Context, out *deliveryLine, d delivery) error {
	stored := make([]storage.StoredMessage, len(d.msgs))
	for i := range d.msgs {
		m := &d.msgs[i]
		stored[i] = toStored(m, d.raws[i])
		// Raise the room's clock before the message can be in the store,
		// so that nothing in history is ever above the clock this node's
		// next message takes (a send racing the commit would otherwise
		// get a lower clock than a message already stored).
		if rs := n.roomState(m.Room); rs != nil {
			storeMax(&rs.maxClock, m.Clock)
		}
	}
	n.beginApply(d.msgs) // private rooms: passon.go
	pend, err := n.committer().Submit(ctx, stored...)
	if err != nil {
		n.dropFailed(d)
		return err
	}
	d.pending = pend
	if d.relayEarly != nil {
		for i := range d.msgs {
			if m := &d.msgs[i]; !isConvo(m.Room) { // conversations: deliveredConvo
				n.relay(d.relayEarly, m.Room, m.Author, d.raws[i])
			}
		}
	}
	if err := out.push(ctx, d); err != nil {
		if _, err := pend.Wait(); err != nil {
			n.dropFailed(d)
		} else {
			n.resolveParked(n.inflight.release(d.msgs))
			n.endApply(d.msgs, nil)
		}
		return err
	}
	return nil
}

// resolveParked settles the second versions that arrived while the first
// was in flight, now that it is stored (resolveConflict: every node keeps
// the same one and marks the author).
func (n *Node) resolveParked(ps []parkedCopy) {
	for i := range ps {
		p := &ps[i]
		if err := n.resolveConflict(p.from, &p.m, p.raw); err != nil {
			n.logf("message %d of %s in %s: %v", p.m.Seq, p.m.Author, p.m.Room, err)
		}
	}
}

// dropFailed forgets a delivery whose write failed (or was never queued):
// no longer in flight, no longer recent, so the next copy — from another
// link, or from sync — is taken.
func (n *Node) dropFailed(d delivery) {
	n.inflight.release(d.msgs)
	for _, raw := range d.raws {
		n.recent.forget(raw)
	}
	n.endApply(d.msgs, nil)
}

func toStored(m *Message, raw []byte) storage.StoredMessage {
	return storage.StoredMessage{Room: m.Room, Author: m.Author, Seq: m.Seq, Clock: m.Clock, Raw: raw}
}

// deliverOne waits for a delivery's commit, then shows the messages that
// were new and relays those submit did not relay already. Nothing is shown
// before it is durable. The link's delivery line calls it, one delivery
// after the other in arrival order.
func (l *link) deliverOne(d delivery) {
	n := l.node
	if len(d.msgs) == 0 {
		if d.checkRoom != "" {
			l.sendSyncCheck(d.checkRoom)
		}
		return
	}
	added, err := d.pending.Wait()
	if err != nil {
		n.dropFailed(d)
		n.logf("storing messages from %s: %v", l.key, err)
		l.failStore(err)
		l.closeAsync("local storage error")
		return
	}
	parked := n.inflight.release(d.msgs)
	for i, isNew := range added {
		if !isNew {
			continue
		}
		m := &d.msgs[i]
		if !d.catchUp {
			l.noteSkew(m, time.Now())
		}
		if rs := n.roomState(m.Room); rs != nil && m.Author == n.id.Public() {
			storeMax(&rs.nextSeq, m.Seq+1) // our own, back from a peer
		}
		if isConvo(m.Room) {
			n.deliveredConvo(l, m, d.raws[i], d.catchUp)
			continue
		}
		v := n.view(m, d.catchUp)
		n.events.publish(Event{Kind: EventMessage, Room: m.Room, Message: v})
		if d.relayEarly == nil { // else relayed by submit
			n.relay(l, m.Room, m.Author, d.raws[i])
		}
		n.autoFetch(v)
	}
	n.endApply(d.msgs, added) // the new ones were ended by deliveredConvo
	n.storedNew(d.msgs, added)
	n.resolveParked(parked)
	if d.checkRoom != "" {
		l.sendSyncCheck(d.checkRoom)
	}
}

// relay forwards a new message to the other links of its room that the
// relay topology picks (every one, or the tree's: topology.go). A link whose
// queue is full is closed: it catches up by sync when it links again, so a
// slow peer neither stalls the others nor loses messages.
func (n *Node) relay(from *link, room string, author lcrypto.IdentityKey, raw []byte) int {
	sent := 0
	if n.cfg.silentRelayer && from != nil {
		return 0
	}
	for _, l := range n.relayTargets(from, room, author, raw) {
		if err := l.sess.Send(frameChat, raw); err != nil {
			if errors.Is(err, session.ErrQueueFull) {
				n.logf("link with %s is too slow; closing it (it will catch up)", l.key)
				l.closeAsync("send queue full")
			}
			continue
		}
		n.stats.chatFrames.Add(1)
		n.stats.chatBytes.Add(uint64(len(raw) + frameOverhead))
		sent++
	}
	return sent
}

func storeMax(a interface {
	Load() uint64
	CompareAndSwap(old, new uint64) bool
}, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
