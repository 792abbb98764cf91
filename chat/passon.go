package chat

import (
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// When a node passes on a private room's message (PROTOCOL.md 5.10): only
// once every earlier message of its author in the room is stored and
// applied here. An author's operations are messages in its own sequence,
// so a message is never passed on (or served by sync) while one of its
// author's earlier operations — say, the removal of the member it would
// go to — is missing or still on its way through another link's delivery.
// A message held back this way goes out when the gap fills, to whoever
// may have it then.

// maxAheadPerAuthor bounds the messages of one author that a private room
// holds back (delivered above a gap in its sequence). Beyond it a message
// is not recorded: that author's messages at this node are then left to
// sync (a member that is asked serves only what it holds contiguously).
const maxAheadPerAuthor = 1024

// appliedSeqs is what a private room holds of one author: every sequence
// number up to prefix is stored and applied; ahead are those above a gap,
// with the key of the link each came from.
type appliedSeqs struct {
	prefix uint64
	ahead  map[uint64]lcrypto.IdentityKey
}

// heldBack is a message that was held back and may go out now.
type heldBack struct {
	author lcrypto.IdentityKey
	seq    uint64
	from   lcrypto.IdentityKey
}

// initApplied sets the applied prefixes from the store's contiguous heads:
// everything stored when a room is loaded is applied (its operations are
// folded).
func (c *convo) initApplied(heads map[[storage.AuthorKeySize]byte]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = make(map[lcrypto.IdentityKey]*appliedSeqs, len(heads))
	for a, h := range heads {
		c.applied[lcrypto.IdentityKey(a)] = &appliedSeqs{prefix: h}
	}
}

// markApplied records that m (from the link with key from, zero for this
// node's own) is stored and, if an operation, applied. It returns the
// messages held back above a gap that this fills: they may go out now.
func (c *convo) markApplied(m *Message, from lcrypto.IdentityKey) []heldBack {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.applied == nil {
		c.applied = map[lcrypto.IdentityKey]*appliedSeqs{}
	}
	a := c.applied[m.Author]
	if a == nil {
		a = &appliedSeqs{}
		c.applied[m.Author] = a
	}
	switch {
	case m.Seq <= a.prefix:
		return nil
	case m.Seq > a.prefix+1:
		if len(a.ahead) < maxAheadPerAuthor {
			if a.ahead == nil {
				a.ahead = map[uint64]lcrypto.IdentityKey{}
			}
			a.ahead[m.Seq] = from
		}
		return nil
	}
	a.prefix = m.Seq
	var ready []heldBack
	for {
		k, ok := a.ahead[a.prefix+1]
		if !ok {
			break
		}
		delete(a.ahead, a.prefix+1)
		a.prefix++
		ready = append(ready, heldBack{author: m.Author, seq: a.prefix, from: k})
	}
	if len(a.ahead) == 0 {
		a.ahead = nil
	}
	return ready
}

// appliedUpTo reports whether every message of m's author up to m's
// sequence number is stored and applied here.
func (c *convo) appliedUpTo(m *Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.applied[m.Author]
	return a != nil && m.Seq <= a.prefix
}

// mayPassOn reports whether key may be sent m of a private room now: m
// and every earlier message of its author are applied here, and key may
// receive m by the membership held.
func (c *convo) mayPassOn(key lcrypto.IdentityKey, m *Message) bool {
	if c.kind != KindPrivate {
		return c.mayReceive(key, m)
	}
	return c.appliedUpTo(m) && c.mayReceive(key, m)
}

// passOnHeld passes on the messages that markApplied released, read back
// from the store.
func (n *Node) passOnHeld(c *convo, ready []heldBack) {
	for _, h := range ready {
		sm, ok, err := n.store.Message(c.id, h.author, h.seq)
		if err != nil || !ok {
			if err != nil {
				n.logf("private room %s: passing on message %d of %s: %v", c.id, h.seq, h.author, err)
			}
			continue
		}
		m, err := DecodeMessage(sm.Raw)
		if err != nil {
			continue
		}
		n.passOn(c, h.from, &m, sm.Raw)
	}
}

// loadApplied sets a private room's applied prefixes from the store.
func (n *Node) loadApplied(c *convo) error {
	st, err := n.store.RoomState(c.id)
	if err != nil {
		return err
	}
	c.initApplied(st.Heads)
	return nil
}
