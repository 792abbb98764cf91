package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// Equivocation: an author that signs two different messages with one
// (room, author, seq). Every node keeps the same one of the two — the one
// whose encoding has the smaller SHA-256 (the smaller message id) — so the
// choice does not depend on which a node saw first, and marks the author in
// that room. Sync repairs nodes that kept the other: after a catch-up each
// side sends a sync-check frame with, per author, its head and a chain hash
// over that author's messages 1..head; a side whose chain differs at the
// same head answers with all of that author's messages, and the receiver
// resolves each differing copy by the same rule.

// chainHash is the running hash over an author's messages 1..head:
// c₀ = 32 zero bytes, cᵢ = SHA-256(cᵢ₋₁ ‖ SHA-256(message i's encoding)).
type chainHash [sha256.Size]byte

func (c chainHash) next(raw []byte) chainHash { return c.nextSum(sha256.Sum256(raw)) }

// nextSum is next given SHA-256(message i's encoding).
func (c chainHash) nextSum(sum [sha256.Size]byte) chainHash {
	h := sha256.New()
	h.Write(c[:])
	h.Write(sum[:])
	var out chainHash
	h.Sum(out[:0])
	return out
}

// chainState caches an author's chain at a head, so each check only hashes
// what arrived since the last one.
type chainState struct {
	head  uint64
	chain chainHash
}

// chainAt returns the chain of author's messages 1..head in room, extending
// the room's cache. head must not be above the author's contiguous head.
func (n *Node) chainAt(rs *room, name string, author lcrypto.IdentityKey, head uint64) (chainHash, error) {
	rs.mu.Lock()
	st, ok := rs.chains[author]
	gen := rs.chainGen
	rs.mu.Unlock()
	if !ok || st.head > head {
		st = chainState{}
	}
	for st.head < head {
		// the hashes, not the messages: a message forgotten here (its
		// hash kept) chains as it does on the members that still hold it
		sums, err := n.store.MessageSums(name, author, st.head, syncBatchMessages)
		if err != nil {
			return chainHash{}, err
		}
		if len(sums) == 0 {
			return chainHash{}, fmt.Errorf("room %s: messages of %s missing below its head %d", name, author, head)
		}
		for _, m := range sums {
			if st.head == head {
				break
			}
			if m.Seq != st.head+1 {
				return chainHash{}, fmt.Errorf("room %s: a gap in %s's messages below its head %d", name, author, head)
			}
			st.chain, st.head = st.chain.nextSum(m.Sum), m.Seq
		}
	}
	rs.mu.Lock()
	if rs.chains == nil {
		rs.chains = map[lcrypto.IdentityKey]chainState{}
	}
	// A message replaced while this ran may have been hashed in its old
	// form: then the result is not cached.
	if cur, ok := rs.chains[author]; gen == rs.chainGen && (!ok || cur.head <= st.head) {
		rs.chains[author] = st
	}
	rs.mu.Unlock()
	return st.chain, nil
}

// markEquivocator notes in the room's cache an author found signing two
// messages with one sequence number.
func (rs *room) markEquivocator(author lcrypto.IdentityKey, e storage.Equivocation) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.equivocators == nil {
		rs.equivocators = map[lcrypto.IdentityKey]storage.Equivocation{}
	}
	if _, ok := rs.equivocators[author]; !ok {
		rs.equivocators[author] = e
	}
}

// evidence returns the copy not kept of author's equivocation in the
// room, if author is marked and held at head ≥ that sequence number.
func (rs *room) evidence(author lcrypto.IdentityKey, head uint64) []byte {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	e, ok := rs.equivocators[author]
	if !ok || head < e.Seq {
		return nil
	}
	return e.Other
}

// isEquivocator reports whether author is marked in the room.
func (rs *room) isEquivocator(author lcrypto.IdentityKey) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	_, ok := rs.equivocators[author]
	return ok
}

// forgetChain drops a cached chain after one of the author's messages was
// replaced.
func (rs *room) forgetChain(author lcrypto.IdentityKey) {
	rs.mu.Lock()
	delete(rs.chains, author)
	rs.chainGen++
	rs.mu.Unlock()
}

// syncCheck is the body of a sync-check frame:
//
//	room | count u16 (≤ 4096) | count × (author [32] | head u64 | chain [32])
//
// authors in strictly ascending key order, heads above 0.
type syncCheck struct {
	Room    string
	Entries []checkEntry
}

type checkEntry struct {
	Author lcrypto.IdentityKey
	Head   uint64
	Chain  chainHash
}

func (s syncCheck) encode() []byte {
	b := appendRoom(nil, s.Room)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Entries)))
	for _, e := range s.Entries {
		b = append(b, e.Author[:]...)
		b = binary.BigEndian.AppendUint64(b, e.Head)
		b = append(b, e.Chain[:]...)
	}
	return b
}

func decodeSyncCheck(b []byte) (syncCheck, error) {
	r := reader{b: b}
	s := syncCheck{Room: r.room()}
	n := int(r.u16())
	if n > MaxSyncAuthors {
		return s, fmt.Errorf("%w: %d authors in a sync check", ErrFrame, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		var e checkEntry
		copy(e.Author[:], r.bytes(lcrypto.KeySize))
		e.Head = r.u64()
		copy(e.Chain[:], r.bytes(sha256.Size))
		if r.err != nil {
			break
		}
		if e.Head == 0 {
			return s, fmt.Errorf("%w: head 0 in a sync check", ErrFrame)
		}
		if i > 0 && bytes.Compare(s.Entries[i-1].Author[:], e.Author[:]) >= 0 {
			return s, fmt.Errorf("%w: sync check authors not in ascending order", ErrFrame)
		}
		s.Entries = append(s.Entries, e)
	}
	return s, r.done()
}

// sendSyncCheck tells the peer, once a catch-up from it is durable, the
// chain of every author of the room this node holds without gaps.
// A conversation's goes in a convo-sync-check frame, to a member only.
func (l *link) sendSyncCheck(name string) {
	n := l.node
	rs, ftype := l.checkState(name)
	if rs == nil {
		return
	}
	st, err := n.store.RoomState(name)
	if err != nil {
		n.logf("sync check %s: %v", name, err)
		return
	}
	chk := syncCheck{Room: name}
	for _, e := range sortedHeads(toKeyHeads(st.Heads)) {
		if e.head == 0 {
			continue
		}
		if len(chk.Entries) == MaxSyncAuthors {
			break
		}
		c, err := n.chainAt(rs, name, e.key, e.head)
		if err != nil {
			n.logf("sync check %s: %v", name, err)
			return
		}
		chk.Entries = append(chk.Entries, checkEntry{Author: e.key, Head: e.head, Chain: c})
	}
	if len(chk.Entries) == 0 {
		return
	}
	if err := l.sess.Send(ftype, chk.encode()); err != nil {
		n.logf("sync check %s with %s: %v", name, l.key, err)
	}
}

// checkState returns the order state of room and the frame type of its
// sync checks, if room is shared with the link's peer: an open room this
// node is in, or a conversation the peer may hear (nil otherwise).
func (l *link) checkState(room string) (*room, session.FrameType) {
	n := l.node
	if !isConvo(room) {
		return n.room(room), frameSyncCheck
	}
	c := n.convoOf(l.key, room)
	if c == nil || !c.mayHear(l.key) {
		return nil, frameConvoSyncCheck
	}
	return c.rs, frameConvoSyncCheck
}

// mayGetEvidence reports whether the peer may be sent the stored copy raw
// of a message of room: always in an open room, in a conversation only if
// the message is one it may receive.
func (l *link) mayGetEvidence(room string, raw []byte) bool {
	if !isConvo(room) {
		return true
	}
	m, err := DecodeMessage(raw)
	c := l.node.convoOf(l.key, room)
	return err == nil && c != nil && c.mayReceive(l.key, &m)
}

func toKeyHeads(h map[[storage.AuthorKeySize]byte]uint64) map[lcrypto.IdentityKey]uint64 {
	out := make(map[lcrypto.IdentityKey]uint64, len(h))
	for k, v := range h {
		out[lcrypto.IdentityKey(k)] = v
	}
	return out
}

// handleSyncCheck compares a peer's chains with this node's: for every
// author held to the same head with another chain, the peer gets all of
// that author's messages (a sync limited to those authors), so it can
// resolve each copy that differs. Authors at other heads are left to a
// later check (a catch-up is still under way on one side).
// convo tells which frame type brought it (convo-sync-check or sync-check).
func (l *link) handleSyncCheck(ctx context.Context, body []byte, convo bool) error {
	n := l.node
	chk, err := decodeSyncCheck(body)
	if err != nil {
		return err
	}
	if isConvo(chk.Room) != convo {
		return fmt.Errorf("%w: a sync check for %s in the wrong frame type", ErrFrame, chk.Room)
	}
	rs, _ := l.checkState(chk.Room)
	if rs == nil {
		return nil
	}
	st, err := n.store.RoomState(chk.Room)
	if err != nil {
		return err
	}
	only := map[lcrypto.IdentityKey]bool{}
	for _, e := range chk.Entries {
		// A member that holds the kept copy of a marked author's message
		// gets the other as evidence, so members who joined later find the
		// author out too.
		if ev := rs.evidence(e.Author, e.Head); ev != nil && e.Author != l.key && l.mayGetEvidence(chk.Room, ev) {
			if err := l.sess.Send(messageFrame(chk.Room), ev); err != nil {
				n.logf("sync check %s with %s: %v", chk.Room, l.key, err)
			}
		}
		if st.Heads[e.Author] != e.Head {
			continue
		}
		c, err := n.chainAt(rs, chk.Room, e.Author, e.Head)
		if err != nil {
			n.logf("sync check %s: %v", chk.Room, err)
			continue
		}
		if c != e.Chain {
			only[e.Author] = true
		}
	}
	if len(only) == 0 {
		return nil
	}
	n.logf("sync check %s with %s: %d authors' messages differ; sending them all", chk.Room, l.key, len(only))
	l.startSync(ctx, syncRequest{Room: chk.Room, Heads: map[lcrypto.IdentityKey]uint64{}, only: only})
	return nil
}

// resolveConflict handles a verified message m whose (room, author, seq)
// is stored with other bytes. A stored copy that no longer decodes or
// verifies (damaged on disk) is repaired with m. Otherwise the author has
// signed two messages under one sequence number: the author is marked in
// the room and the copy with the smaller SHA-256 is kept (replacing the
// stored one if that is m). What is sent on makes every member converge
// and terminates: the first time a node finds the author out, it sends
// both copies to the room's links (each member then finds it out too);
// after a replacement it sends the kept copy; else it sends the kept copy
// back to the link that brought the other.
func (n *Node) resolveConflict(from *link, m *Message, raw []byte) error {
	rs := n.roomState(m.Room)
	if rs == nil {
		return nil
	}
	for try := 0; try < 3; try++ {
		stored, ok, err := n.store.Message(m.Room, m.Author, m.Seq)
		if err != nil || !ok {
			return err
		}
		if bytes.Equal(stored.Raw, raw) {
			return nil
		}
		damaged := checkStored(&stored) != nil
		wins := damaged || winsConflict(raw, stored.Raw)
		keep, other := stored.Raw, raw
		if wins {
			keep, other = raw, stored.Raw
		}
		found := false
		if !damaged {
			if found, err = n.store.MarkEquivocator(m.Room, m.Author, m.Seq, other); err != nil {
				return err
			}
			if found {
				n.reportEquivocator(rs, m, other)
			}
		}
		replaced := false
		if wins {
			if replaced, err = n.store.ReplaceMessage(stored, toStored(m, raw)); err != nil {
				return err
			}
			if !replaced {
				continue // replaced meanwhile through another link: look again
			}
			rs.forgetChain(m.Author)
			storeMax(&rs.maxClock, m.Clock)
			n.reloadOps(m.Room)
			if damaged {
				n.logf("repaired damaged message %d of %s in %s with the copy from %s", m.Seq, m.Author, m.Room, from.key)
			}
			n.events.publish(Event{Kind: EventMessage, Room: m.Room, Message: n.view(m, true)})
		}
		switch {
		case damaged:
		case found:
			n.sendToRoom(m.Room, m.Author, keep, other)
		case replaced:
			n.sendToRoom(m.Room, m.Author, keep)
		default:
			_ = from.sess.Send(messageFrame(m.Room), keep)
		}
		return nil
	}
	return fmt.Errorf("room %s: message %d of %s kept changing", m.Room, m.Seq, m.Author)
}

// reportEquivocator tells the user, once per author and room, that the
// author signed two different messages with one sequence number.
func (n *Node) reportEquivocator(rs *room, m *Message, other []byte) {
	rs.markEquivocator(m.Author, storage.Equivocation{Seq: m.Seq, Other: other})
	n.logf("%s signed two different messages with sequence %d in %s; every member keeps the same one", m.Author, m.Seq, m.Room)
	pv := peerView(m.Author)
	pv.Nick, pv.Trusted = n.authorName(m.Author)
	n.events.publish(Event{Kind: EventEquivocation, Room: m.Room, Peer: pv,
		Reason: fmt.Sprintf("signed two different messages with sequence number %d", m.Seq)})
}

// sendToRoom sends encoded messages to every link in the room but the
// author's.
func (n *Node) sendToRoom(room string, author lcrypto.IdentityKey, raws ...[]byte) {
	if isConvo(room) {
		n.sendToConvo(room, author, raws...)
		return
	}
	for _, l := range n.linksInRoom(room) {
		if l.key == author {
			continue
		}
		for _, raw := range raws {
			if err := l.sess.Send(frameChat, raw); err != nil {
				n.logf("link with %s: %v", l.key, err)
			}
		}
	}
}

// winsConflict reports whether encoding a is kept over b: the smaller
// SHA-256 (the smaller message id) wins.
func winsConflict(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return bytes.Compare(ha[:], hb[:]) < 0
}

// decodeStored decodes a stored record and checks that it is the message
// it is stored as: the same room, author, sequence number and clock.
func decodeStored(s *storage.StoredMessage) (Message, error) {
	m, err := DecodeMessage(s.Raw)
	if err != nil {
		return Message{}, err
	}
	if m.Room != s.Room || m.Author != lcrypto.IdentityKey(s.Author) || m.Seq != s.Seq || m.Clock != s.Clock {
		return Message{}, fmt.Errorf("%w: stored under another room, author, sequence or clock", ErrMalformed)
	}
	return m, nil
}

// checkStored reports why a stored record is not a message this node would
// accept: it does not decode, is not the message it is stored as, or its
// signature does not verify.
func checkStored(s *storage.StoredMessage) error {
	m, err := decodeStored(s)
	if err != nil {
		return err
	}
	return m.Verify()
}
