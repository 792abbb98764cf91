package chat

import (
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// When a node passes on a private room's message (PROTOCOL.md 5.10): not
// while an earlier message of its author in that room is on its way into
// this node — submitted to the store, or stored but not yet applied by its
// link's delivery line. An author's operations are messages in its own
// sequence, so a message is never passed on (or served by sync) before its
// author's earlier operation that this node already took — say, the
// removal of the member it would go to — has changed the membership. Each
// link has its own delivery line, so without this the two could be applied
// in either order when they arrive over two links at once.
//
// A message held back this way goes out when the earlier one is applied,
// to whoever may have it then (read back from the store). Open rooms and
// direct conversations are not touched.

// maxHeldBack bounds the messages one private room holds back; beyond it
// a message is not passed on live (members get it by sync).
const maxHeldBack = 256

// heldBack is a message whose pass-on waits for an earlier message of its
// author.
type heldBack struct {
	author lcrypto.IdentityKey
	seq    uint64
	from   lcrypto.IdentityKey // the link it came from
}

// beginApply records that private-room messages are on their way in:
// submitted to the store, not yet applied. Every call is matched by one of
// endApply.
func (n *Node) beginApply(msgs []Message) {
	for i := range msgs {
		m := &msgs[i]
		if ConvoKind(m.Room) != KindPrivate {
			continue
		}
		if c := n.convo(m.Room); c != nil && c.kind == KindPrivate {
			c.begin(m)
		}
	}
}

// endApply records that msgs are done with (not new, or failed) and passes
// on the messages held back for them. applied[i] set means deliveredConvo
// has ended msgs[i] already, as soon as it applied it (nil: none was).
func (n *Node) endApply(msgs []Message, applied []bool) {
	for i := range msgs {
		m := &msgs[i]
		if (applied != nil && applied[i]) || ConvoKind(m.Room) != KindPrivate {
			continue
		}
		if c := n.convo(m.Room); c != nil && c.kind == KindPrivate {
			n.passOnHeld(c, c.end(m))
		}
	}
}

func (c *convo) begin(m *Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[lcrypto.IdentityKey]map[uint64]int{}
	}
	p := c.pending[m.Author]
	if p == nil {
		p = map[uint64]int{}
		c.pending[m.Author] = p
	}
	p[m.Seq]++
}

// end undoes one begin of m and returns the held-back messages that no
// earlier pending message blocks any more.
func (c *convo) end(m *Message) []heldBack {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[m.Author]
	if p[m.Seq] == 0 {
		return nil
	}
	if p[m.Seq]--; p[m.Seq] == 0 {
		delete(p, m.Seq)
	}
	if len(p) == 0 {
		delete(c.pending, m.Author)
	}
	var ready []heldBack
	keep := c.held[:0]
	for _, h := range c.held {
		if h.author == m.Author && !c.earlierPendingLocked(h.author, h.seq) {
			ready = append(ready, h)
		} else {
			keep = append(keep, h)
		}
	}
	clear(c.held[len(keep):])
	c.held = keep
	return ready
}

// earlierPendingLocked reports whether a message of author below seq is on
// its way in (c.mu held).
func (c *convo) earlierPendingLocked(author lcrypto.IdentityKey, seq uint64) bool {
	for s := range c.pending[author] {
		if s < seq {
			return true
		}
	}
	return false
}

// holdBack keeps m (from the link with key from) for later if an earlier
// message of its author is on its way in; it reports whether m must wait.
// Beyond maxHeldBack, m waits for sync instead.
func (c *convo) holdBack(m *Message, from lcrypto.IdentityKey) (wait, dropped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.earlierPendingLocked(m.Author, m.Seq) {
		return false, false
	}
	if len(c.held) >= maxHeldBack {
		return true, true
	}
	c.held = append(c.held, heldBack{author: m.Author, seq: m.Seq, from: from})
	return true, false
}

// mayPassOn reports whether key may be sent m of the conversation now: by
// the membership held (mayReceive), and for a private room only while no
// earlier message of m's author is on its way in.
func (c *convo) mayPassOn(key lcrypto.IdentityKey, m *Message) bool {
	if c.kind == KindPrivate {
		c.mu.Lock()
		early := c.earlierPendingLocked(m.Author, m.Seq)
		c.mu.Unlock()
		if early {
			return false
		}
	}
	return c.mayReceive(key, m)
}

// passOnHeld passes on held-back messages, read back from the store.
func (n *Node) passOnHeld(c *convo, ready []heldBack) {
	for _, h := range ready {
		sm, ok, err := n.store.Message(c.id, h.author, h.seq)
		if err != nil {
			n.logf("private room %s: passing on message %d of %s: %v", c.id, h.seq, h.author, err)
			continue
		}
		if !ok {
			continue
		}
		m, err := DecodeMessage(sm.Raw)
		if err != nil {
			continue
		}
		n.passOn(c, h.from, &m, sm.Raw)
	}
}
