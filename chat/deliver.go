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
// store and waiting for its commit before being shown and relayed.
type delivery struct {
	msgs    []Message
	raws    [][]byte
	pending storage.Pending
	catchUp bool
	// checkRoom, when set, is the room whose catch-up this delivery ends:
	// once it is durable the node sends its sync check (converge.go).
	checkRoom string
}

func (n *Node) submit(ctx context.Context, out chan<- delivery, d delivery) error {
	stored := make([]storage.StoredMessage, len(d.msgs))
	for i := range d.msgs {
		stored[i] = toStored(&d.msgs[i], d.raws[i])
	}
	pend, err := n.committer().Submit(ctx, stored...)
	if err != nil {
		n.inflight.release(d.msgs)
		return err
	}
	d.pending = pend
	select {
	case out <- d:
		return nil
	case <-ctx.Done():
		_, _ = pend.Wait()
		n.inflight.release(d.msgs)
		return ctx.Err()
	}
}

func toStored(m *Message, raw []byte) storage.StoredMessage {
	return storage.StoredMessage{Room: m.Room, Author: m.Author, Seq: m.Seq, Clock: m.Clock, Raw: raw}
}

// deliver waits for each delivery's commit, then shows and relays the
// messages that were new.
func (l *link) deliver(in <-chan delivery) {
	n := l.node
	for d := range in {
		if len(d.msgs) == 0 {
			if d.checkRoom != "" {
				l.sendSyncCheck(d.checkRoom)
			}
			continue
		}
		added, err := d.pending.Wait()
		n.inflight.release(d.msgs)
		if err != nil {
			n.logf("storing messages from %s: %v", l.key, err)
			l.failStore(err)
			l.closeAsync("local storage error")
			continue
		}
		for i, isNew := range added {
			if !isNew {
				continue
			}
			m := &d.msgs[i]
			if !d.catchUp {
				l.noteSkew(m, time.Now())
			}
			if rs := n.roomState(m.Room); rs != nil {
				storeMax(&rs.maxClock, m.Clock)
				if m.Author == n.id.Public() { // our own, back from a peer
					storeMax(&rs.nextSeq, m.Seq+1)
				}
			}
			if isConvo(m.Room) {
				n.deliveredConvo(l, m, d.raws[i], d.catchUp)
				continue
			}
			v := n.view(m, d.catchUp)
			n.events.publish(Event{Kind: EventMessage, Room: m.Room, Message: v})
			n.relay(l, m.Room, m.Author, d.raws[i])
			n.autoFetch(v)
		}
		n.storedNew(d.msgs, added)
		if d.checkRoom != "" {
			l.sendSyncCheck(d.checkRoom)
		}
	}
}

// relay forwards a new message to the other links of its room that the
// relay topology picks (every one, or the tree's: topology.go). A link whose
// queue is full is closed: it catches up by sync when it links again, so a
// slow peer neither stalls the others nor loses messages.
func (n *Node) relay(from *link, room string, author lcrypto.IdentityKey, raw []byte) int {
	sent := 0
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
