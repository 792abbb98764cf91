package chat

import (
	"context"
	"errors"
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// What a link does for conversations: the convo frames, catch-up with the
// peer's conversations, and sending each message only to who may have it.

// maxWelcomeOps bounds the operations of one welcome frame.
const maxWelcomeOps = 1024

// MaxPrivateRooms bounds the private rooms a node holds: a welcome to one
// more is dropped (a trusted peer could otherwise create and invite this
// node to rooms without end).
const MaxPrivateRooms = 256

// errTooManyRooms: a welcome beyond MaxPrivateRooms.
var errTooManyRooms = fmt.Errorf("this node holds %d private rooms already", MaxPrivateRooms)

// messageFrame is the frame type that carries a message of room.
func messageFrame(room string) session.FrameType {
	if isConvo(room) {
		return frameConvoMessage
	}
	return frameChat
}

// handleConvoFrame handles the conversation frames; handled is false for
// any other type.
func (l *link) handleConvoFrame(ctx context.Context, f session.Frame, out *deliveryLine) (handled bool, err error) {
	n := l.node
	switch f.Type { // frameConvoMessage, frameConvoSyncResponse: recvbatch.go
	case frameConvoSyncRequest:
		req, err := decodeSyncRequest(f.Body)
		if err != nil {
			return true, err
		}
		if !validConvoID(req.Room) {
			return true, fmt.Errorf("%w: conversation sync for %q", ErrFrame, req.Room)
		}
		n.noteHeads(req.Room, l.key, req.Heads)
		l.startSync(ctx, req)
		l.syncBackIfBehind(req)
		return true, nil
	case frameConvoWelcome:
		return true, l.handleWelcome(ctx, f.Body, out)
	case frameConvoSyncCheck:
		return true, l.handleSyncCheck(ctx, f.Body, true)
	}
	return false, nil
}

// wantedConvo applies the cheap checks to a message of a conversation
// frame: its room is a conversation the link's peer may bring (the other
// person of a direct conversation; a current member of a private room this
// node is in), its author is one of the conversation's (ever-)members, and
// its clock is within bound. A message of an open room in a conversation
// frame is dropped (a peer's bug; logged).
func (n *Node) wantedConvo(from *link, m *Message) bool {
	if !validConvoID(m.Room) {
		n.logf("dropping message %d from %s: %q in a conversation frame is not a conversation", m.Seq, from.key, m.Room)
		return false
	}
	c := n.convoOf(from.key, m.Room)
	if c == nil || !c.mayHear(from.key) {
		return false
	}
	switch c.kind {
	case KindDirect:
		if m.Author.Fingerprint() != c.peer && m.Author != n.id.Public() {
			return false
		}
	case KindPrivate:
		ms := c.membership()
		if ms == nil || !ms.Known(m.Author) {
			return false
		}
	}
	if limit := ClockBound(m.Seq); m.Clock > limit {
		n.logf("dropping message %d from %s in %s: clock %d is above %d, the bound for its sequence number", m.Seq, m.Author, m.Room, m.Clock, limit)
		return false
	}
	return !n.inflight.has(m)
}

// convoOf returns the conversation room that a link with peer may talk
// about: the direct conversation with peer, or a private room held.
func (n *Node) convoOf(peer lcrypto.IdentityKey, room string) *convo {
	if ConvoKind(room) == KindDirect {
		if room != n.directID(peer) {
			return nil
		}
		c, err := n.directWith(peer.Fingerprint())
		if err != nil {
			n.logf("direct conversation with %s: %v", peer, err)
			return nil
		}
		return c
	}
	return n.convo(room)
}

// directID is the identifier of the direct conversation with peer.
func (n *Node) directID(peer lcrypto.IdentityKey) string {
	return DirectID(n.id.Public().Fingerprint(), peer.Fingerprint())
}

// syncPolicy returns the frame type of a sync response for room and which
// messages the link's peer may be sent (nil: none, the room is not
// shared).
func (l *link) syncPolicy(room string) (session.FrameType, func(*Message) bool) {
	n := l.node
	if !isConvo(room) {
		if n.room(room) == nil || !l.inRoom(room) {
			return frameSyncResponse, nil
		}
		return frameSyncResponse, func(*Message) bool { return true }
	}
	c := n.convoOf(l.key, room)
	if c == nil || !c.mayHear(l.key) {
		return frameConvoSyncResponse, nil
	}
	return frameConvoSyncResponse, func(m *Message) bool { return c.mayPassOn(l.key, m) }
}

// startConvos starts catch-up of every conversation the link's peer is in:
// the direct conversation with it, and each private room it is a member of
// (a welcome first, so a member that was invited while away learns the
// room).
func (l *link) startConvos() {
	n := l.node
	dm := n.directID(l.key)
	l.requestSync(dm)
	n.sendReadMark(dm, l, nil)
	for _, c := range n.allConvos() {
		if c.kind == KindPrivate && c.mayHear(l.key) {
			l.sendWelcome(c)
			l.requestSync(c.id)
			n.sendReadMark(c.id, l, nil)
		}
	}
}

// resyncConvos asks the link's peer again for what this node misses of
// their conversations.
func (l *link) resyncConvos() {
	n := l.node
	l.requestSync(n.directID(l.key))
	for _, c := range n.allConvos() {
		if c.kind == KindPrivate && c.mayHear(l.key) {
			l.requestSync(c.id)
		}
	}
}

// syncBackIfBehind asks the peer for a conversation's messages when its
// sync request shows it holds more of some author than this node: so a
// message sent on a link that closed under it reaches the other side as
// soon as either side asks, not at the next link.
func (l *link) syncBackIfBehind(req syncRequest) {
	n := l.node
	c := n.convoOf(l.key, req.Room)
	if c == nil || !c.mayHear(l.key) {
		return
	}
	st, err := n.store.RoomState(req.Room)
	if err != nil {
		n.logf("sync %s: %v", req.Room, err)
		return
	}
	for k, head := range req.Heads {
		if head > st.Heads[k] {
			l.requestSync(req.Room)
			return
		}
	}
}

// welcome is the body of a convo-welcome frame: a private room's
// operations, as encoded messages.
//
//	room length u8 | room | count u16 (≤ 1024) | (length u16 | message)*
type welcome struct {
	Room string
	Ops  [][]byte
}

func (w welcome) encode() []byte {
	b := appendRoom(nil, w.Room)
	b = append(b, byte(len(w.Ops)>>8), byte(len(w.Ops)))
	for _, m := range w.Ops {
		b = append(b, byte(len(m)>>8), byte(len(m)))
		b = append(b, m...)
	}
	return b
}

func decodeWelcome(b []byte) (welcome, error) {
	r := reader{b: b}
	w := welcome{Room: r.room()}
	if r.err == nil && (!validConvoID(w.Room) || ConvoKind(w.Room) != KindPrivate) {
		return w, fmt.Errorf("%w: welcome for %q, not a private room", ErrFrame, w.Room)
	}
	n := int(r.u16())
	if n > maxWelcomeOps {
		return w, fmt.Errorf("%w: %d operations in a welcome", ErrFrame, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		l := int(r.u16())
		if l > MaxMessageSize {
			return w, fmt.Errorf("%w: %d-byte message", ErrFrame, l)
		}
		w.Ops = append(w.Ops, r.bytes(l))
	}
	return w, r.done()
}

// sendWelcome sends the link's peer every operation of a private room.
func (l *link) sendWelcome(c *convo) {
	n := l.node
	raws, err := n.opRaws(c.id)
	if err != nil {
		n.logf("welcome %s: %v", c.id, err)
		return
	}
	if len(raws) > maxWelcomeOps {
		raws = raws[:maxWelcomeOps]
	}
	if err := l.sess.Send(frameConvoWelcome, welcome{Room: c.id, Ops: raws}.encode()); err != nil {
		n.logf("welcome %s to %s: %v", c.id, l.key, err)
	}
}

// handleWelcome takes a private room's operations from a member. For a
// room this node does not hold, they must make both this node and the
// sender members, or nothing is kept; then the room is added and its
// messages are asked for.
func (l *link) handleWelcome(ctx context.Context, body []byte, out *deliveryLine) error {
	n := l.node
	w, err := decodeWelcome(body)
	if err != nil {
		return err
	}
	for _, raw := range w.Ops {
		m, err := DecodeMessage(raw)
		if err != nil {
			return err
		}
		if m.Room != w.Room {
			return fmt.Errorf("%w: a message of %s in a welcome to %s", ErrFrame, m.Room, w.Room)
		}
	}
	if n.convo(w.Room) == nil {
		if err := n.adoptRoom(l, w); err != nil {
			n.logf("welcome to %s from %s: %v", w.Room, l.key, err)
			return nil
		}
		defer l.requestSync(w.Room)
	}
	msgs, raws, err := n.screenWith(ctx, l, w.Ops, func(m *Message) bool { return n.wantedConvo(l, m) })
	if err != nil || len(msgs) == 0 {
		return err
	}
	return n.submit(ctx, out, delivery{msgs: msgs, raws: raws, catchUp: true})
}

// errNotInvited: a welcome whose operations do not make this node a member.
var errNotInvited = errors.New("its operations do not make this node and the sender members")

// adoptRoom adds a private room from a welcome: the operations are checked
// (signatures, records) and folded; the room is kept in memory only if the
// fold makes this node and the sender current members (the operations are
// stored as they are delivered).
func (n *Node) adoptRoom(from *link, w welcome) error {
	var ops []opEntry
	for _, raw := range w.Ops {
		m, _ := DecodeMessage(raw) // decoded by the caller
		if m.Verify() != nil {
			return ErrBadSignature
		}
		if e, ok := opEntryOf(&m); ok {
			ops = append(ops, e)
		}
	}
	ms := FoldMembership(w.Room, ops)
	if !ms.IsMember(n.id.Public()) || !ms.IsMember(from.key) {
		return errNotInvited
	}
	rs, err := n.newRoomState(w.Room)
	if err != nil {
		return err
	}
	// The operations are stored as they are delivered; until then this
	// node's clock must already be above them, or a message it sends at
	// once would sort before its own invitation.
	for _, e := range ops {
		storeMax(&rs.maxClock, e.pos.clock)
	}
	c := &convo{id: w.Room, kind: KindPrivate, rs: rs, members: ms, ops: ops}
	n.convos.Lock()
	defer n.convos.Unlock()
	if n.convos.byID[w.Room] != nil {
		return nil
	}
	if n.privateCountLocked() >= MaxPrivateRooms {
		return errTooManyRooms
	}
	n.convos.byID[w.Room] = c
	return nil
}

// privateCountLocked counts the private rooms held (n.convos held).
func (n *Node) privateCountLocked() int {
	count := 0
	for _, c := range n.convos.byID {
		if c.kind == KindPrivate {
			count++
		}
	}
	return count
}

// deliveredConvo shows and passes on a new, durable message of a
// conversation. Direct messages are never passed on. A private room's
// operation changes the membership first; its message then goes to every
// other linked member who may have it, and an invite brings the invitee a
// welcome — but not while an earlier message of its author is on its way
// in (passon.go): then it goes once that one is applied.
func (n *Node) deliveredConvo(from *link, m *Message, raw []byte, catchUp bool) {
	c := n.convo(m.Room)
	if c == nil {
		return
	}
	if c.kind == KindPrivate {
		if hook := n.cfg.beforeConvoApply; hook != nil {
			hook(m)
		}
		if e, ok := opEntryOf(m); ok {
			c.addOp(e)
		}
	}
	n.publishConvo(c, m, catchUp)
	if c.kind == KindPrivate {
		// Applied: it no longer holds back its author's later messages
		// (those of the same delivery included, which come next).
		ready := c.end(m)
		if wait, dropped := c.holdBack(m, from.key); dropped {
			n.logf("private room %s: message %d of %s waits for sync (%d held back already)", c.id, m.Seq, m.Author, maxHeldBack)
		} else if !wait {
			n.passOn(c, from.key, m, raw)
		}
		n.passOnHeld(c, ready)
	}
}

// publishConvo publishes a conversation message if it belongs (for a
// private room: it counts in the membership held).
func (n *Node) publishConvo(c *convo, m *Message, catchUp bool) {
	if ms := c.membership(); c.kind == KindPrivate && (ms == nil || !ms.Belongs(m)) {
		return
	}
	n.events.publish(Event{Kind: EventMessage, Room: m.Room, Message: n.view(m, catchUp)})
}

// passOn sends a private room's message to every linked member that may
// have it now (mayPassOn) but the link it came from (from: its peer's key,
// zero for this node's own) and its author; an applied invite brings the
// invitee a welcome and a sync request (what it wrote before this node held
// its invitation was dropped here, and comes now). It returns how many
// links it went to.
func (n *Node) passOn(c *convo, from lcrypto.IdentityKey, m *Message, raw []byte) int {
	sent := 0
	var invitee lcrypto.IdentityKey
	if op, err := DecodeOp(m.Body); err == nil && op.Kind == OpInvite {
		invitee = op.Subject
	}
	for _, l := range n.allLinks() {
		if l.key == from || l.key == m.Author || !c.mayPassOn(l.key, m) {
			continue
		}
		if l.key == invitee {
			l.sendWelcome(c)
			l.requestSync(c.id)
			sent++
			continue
		}
		if err := l.sess.Send(frameConvoMessage, raw); err != nil {
			if errors.Is(err, session.ErrQueueFull) {
				l.closeAsync("send queue full")
			}
			continue
		}
		sent++
	}
	return sent
}

// sendToConvo sends encoded messages of a conversation to every linked
// member but author (resolving an equivocation: both copies are the
// author's, so whoever may have one may have the other).
func (n *Node) sendToConvo(room string, author lcrypto.IdentityKey, raws ...[]byte) {
	c := n.convo(room)
	if c == nil {
		return
	}
	for _, l := range n.allLinks() {
		if l.key == author || !c.mayHear(l.key) {
			continue
		}
		for _, raw := range raws {
			if m, err := DecodeMessage(raw); err != nil || !c.mayPassOn(l.key, &m) {
				continue
			}
			if err := l.sess.Send(frameConvoMessage, raw); err != nil {
				n.logf("link with %s: %v", l.key, err)
			}
		}
	}
}
