package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// frameOverhead is what a frame costs on the wire besides its body: the
// 2-byte Noise length, type (1) and body length (4) in the plaintext, and
// the 16-byte tag (PROTOCOL.md 4), for a body of one Noise message.
const frameOverhead = 2 + 1 + 4 + 16

// Receipts (PROTOCOL.md 5.11). "Stored by k of n" is derived from what
// each member holds: its version vector, learnt from its sync requests
// (5.5) and from the stored frames it sends after it stored new messages
// (to the authors of those messages only, at most one frame per link every
// Config.ReceiptDelay). Read markers are one position per member and room.
// A room's members, as this node knows them, are the trusted peers it has
// been linked with while they were in the room and that have not left it.

// receiptTable holds each room's member states, loaded from the store on
// first use, with its own lock (after links in the lock order).
type receiptTable struct {
	sync.Mutex
	byRoom map[string]*roomReceipts
	// pending: per peer, the rooms and authors whose heads it should be
	// told (a stored frame); readSend: per room, the authors whose
	// messages this node read since it last said so (they get a read
	// frame); both sent by receiptLoop.
	pending  map[lcrypto.IdentityKey]map[string]map[lcrypto.IdentityKey]bool
	readSend map[string]map[lcrypto.IdentityKey]bool
	kick     chan struct{}
}

// roomReceipts is one room's members, with its own lock.
type roomReceipts struct {
	mu      sync.Mutex
	members map[lcrypto.IdentityKey]*storage.MemberState
	dirty   map[lcrypto.IdentityKey]bool
	read    storage.Position // this node's read position
}

// receiptsOf returns room's receipts state, loading it on first use.
func (n *Node) receiptsOf(room string) (*roomReceipts, error) {
	n.rcpt.Lock()
	defer n.rcpt.Unlock()
	if rr := n.rcpt.byRoom[room]; rr != nil {
		return rr, nil
	}
	members, err := n.store.RoomMembers(room)
	if err != nil {
		return nil, err
	}
	read, err := n.store.ReadPosition(room)
	if err != nil {
		return nil, err
	}
	rr := &roomReceipts{members: make(map[lcrypto.IdentityKey]*storage.MemberState, len(members)), read: read}
	for k, m := range members {
		m := m
		rr.members[lcrypto.IdentityKey(k)] = &m
	}
	if n.rcpt.byRoom == nil {
		n.rcpt.byRoom = map[string]*roomReceipts{}
	}
	n.rcpt.byRoom[room] = rr
	return rr, nil
}

// update changes one member's state under the room's lock; change
// reports whether it changed anything (then it is stored later). A member
// not known yet is added only if create is set.
func (rr *roomReceipts) update(key lcrypto.IdentityKey, create bool, change func(m *storage.MemberState) bool) bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	m := rr.members[key]
	if m == nil {
		if !create {
			return false
		}
		m = &storage.MemberState{} // Heads made on the first head (a node in 1,000 rooms has many members)
		rr.members[key] = m
		rr.markDirtyLocked(key)
	}
	if change(m) {
		rr.markDirtyLocked(key)
		return true
	}
	return false
}

// markDirtyLocked marks key's state to be stored; dirty is nil while
// nothing is.
func (rr *roomReceipts) markDirtyLocked(key lcrypto.IdentityKey) {
	if rr.dirty == nil {
		rr.dirty = map[lcrypto.IdentityKey]bool{}
	}
	rr.dirty[key] = true
}

// memberSeen records that a linked peer is in room (join true) or left it.
func (n *Node) memberSeen(room string, key lcrypto.IdentityKey, join bool) {
	if key == n.id.Public() || n.room(room) == nil {
		return
	}
	rr, err := n.receiptsOf(room)
	if err != nil {
		n.logf("receipts of %s: %v", room, err)
		return
	}
	changed := rr.update(key, join, func(m *storage.MemberState) bool {
		was := m.Left
		m.Left = !join
		return was != m.Left
	})
	if changed {
		n.kickReceipts()
	}
}

// noteHeads merges what member holds in room (a sync request or a stored
// frame); an own message that member now holds is announced as an
// EventReceipt.
func (n *Node) noteHeads(room string, member lcrypto.IdentityKey, heads map[lcrypto.IdentityKey]uint64) {
	if member == n.id.Public() || !n.receiptPeer(member, room) { // a peer's frames never make state for other rooms
		return
	}
	rr, err := n.receiptsOf(room)
	if err != nil {
		n.logf("receipts of %s: %v", room, err)
		return
	}
	self := n.id.Public()
	ownMoved := false
	changed := rr.update(member, isConvo(room), func(m *storage.MemberState) bool {
		moved := false
		for a, h := range heads {
			if h > m.Heads[a] {
				if m.Heads == nil {
					m.Heads = map[[storage.AuthorKeySize]byte]uint64{}
				}
				m.Heads[a] = h
				moved = true
				ownMoved = ownMoved || a == self
			}
		}
		return moved
	})
	if changed {
		n.kickReceipts()
	}
	if ownMoved {
		n.events.publish(Event{Kind: EventReceipt, Room: room, Peer: n.memberView(member), Reason: "stored"})
	}
}

// noteRead merges a member's read position in room.
func (n *Node) noteRead(room string, member lcrypto.IdentityKey, pos storage.Position) {
	if member == n.id.Public() || !n.receiptPeer(member, room) {
		return
	}
	rr, err := n.receiptsOf(room)
	if err != nil {
		n.logf("receipts of %s: %v", room, err)
		return
	}
	if rr.update(member, isConvo(room), func(m *storage.MemberState) bool {
		if m.Read.Compare(pos) >= 0 {
			return false
		}
		m.Read = pos
		return true
	}) {
		n.kickReceipts()
		n.events.publish(Event{Kind: EventReceipt, Room: room, Peer: n.memberView(member), Reason: "read"})
	}
}

// memberView is a member as events name it: linked or not.
func (n *Node) memberView(key lcrypto.IdentityKey) *PeerView {
	if l := n.linkTo(key); l != nil {
		return n.peerViewOf(l)
	}
	pv := peerView(key)
	pv.Nick, pv.Trusted = n.authorName(key)
	return pv
}

// storedNew queues, after messages were stored, a stored frame to each of
// their authors that is linked: what this node now holds of them.
func (n *Node) storedNew(msgs []Message, added []bool) {
	queued := false
	n.rcpt.Lock()
	for i, isNew := range added {
		m := &msgs[i]
		if !isNew || m.Author == n.id.Public() {
			continue
		}
		if n.rcpt.pending == nil {
			n.rcpt.pending = map[lcrypto.IdentityKey]map[string]map[lcrypto.IdentityKey]bool{}
		}
		byRoom := n.rcpt.pending[m.Author]
		if byRoom == nil {
			byRoom = map[string]map[lcrypto.IdentityKey]bool{}
			n.rcpt.pending[m.Author] = byRoom
		}
		if byRoom[m.Room] == nil {
			byRoom[m.Room] = map[lcrypto.IdentityKey]bool{}
		}
		byRoom[m.Room][m.Author] = true
		queued = true
	}
	n.rcpt.Unlock()
	if queued {
		n.kickReceipts()
	}
}

// kickReceipts wakes receiptLoop.
func (n *Node) kickReceipts() {
	select {
	case n.rcpt.kick <- struct{}{}:
	default:
	}
}

// receiptLoop sends the queued stored and read frames and stores the
// changed member states, at most once per Config.ReceiptDelay, until ctx
// ends; then it stores what changed one last time.
func (n *Node) receiptLoop(ctx context.Context) {
	defer n.wg.Done()
	defer n.flushMembers()
	delay := n.cfg.ReceiptDelay
	if delay <= 0 {
		delay = DefaultConfig().ReceiptDelay
	}
	t := time.NewTimer(delay)
	t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.rcpt.kick:
		}
		t.Reset(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		n.sendReceipts()
		n.flushMembers()
	}
}

// sendReceipts sends what is queued.
func (n *Node) sendReceipts() {
	n.rcpt.Lock()
	pending, reads := n.rcpt.pending, n.rcpt.readSend
	n.rcpt.pending, n.rcpt.readSend = nil, nil
	n.rcpt.Unlock()
	for key, byRoom := range pending {
		l := n.linkTo(key)
		if l == nil {
			continue
		}
		for room, authors := range byRoom {
			if !n.mayTellReceipts(l, room) {
				continue
			}
			list := make([][storage.AuthorKeySize]byte, 0, len(authors))
			for a := range authors {
				list = append(list, a)
			}
			heads, err := n.store.Heads(room, list)
			if err != nil {
				n.logf("receipts for %s: %v", l.key, err)
				continue
			}
			st := stored{Room: room, Heads: map[lcrypto.IdentityKey]uint64{}}
			for a, h := range heads {
				if h > 0 {
					st.Heads[lcrypto.IdentityKey(a)] = h
				}
			}
			if len(st.Heads) > 0 {
				n.sendReceiptFrame(l, frameStored, st.encode())
			}
		}
	}
	for room, authors := range reads {
		n.sendReadMark(room, nil, authors)
	}
}

// sendReadMark sends this node's read position in room, unless read
// receipts are off: to the given link, else to the links in room of the
// given authors (those whose messages were read since the last one).
func (n *Node) sendReadMark(room string, only *link, authors map[lcrypto.IdentityKey]bool) {
	if n.cfg.NoReadReceipts {
		return
	}
	pos, err := n.readPosition(room)
	if err != nil || pos.IsZero() {
		return
	}
	body := readMark{Room: room, Pos: pos}.encode()
	for _, l := range n.linksOf(room) {
		if l == only || only == nil && authors[l.key] {
			n.sendReceiptFrame(l, frameRead, body)
		}
	}
}

// readPosition is this node's read position in room, from the loaded
// receipts state, else from the store without loading it (a link coming
// up asks for every conversation it shares; most have no position).
func (n *Node) readPosition(room string) (storage.Position, error) {
	n.rcpt.Lock()
	rr := n.rcpt.byRoom[room]
	n.rcpt.Unlock()
	if rr == nil {
		return n.store.ReadPosition(room)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.read, nil
}

// sendReceiptFrame sends one receipts frame and counts it (Stats).
func (n *Node) sendReceiptFrame(l *link, t session.FrameType, body []byte) {
	if err := l.sess.Send(t, body); err != nil {
		n.logf("receipts for %s: %v", l.key, err)
		return
	}
	size := uint64(frameOverhead + len(body))
	if t == frameRead {
		n.stats.readFrames.Add(1)
		n.stats.readBytes.Add(size)
		return
	}
	n.stats.storedFrames.Add(1)
	n.stats.storedBytes.Add(size)
}

// flushMembers stores the member states that changed.
func (n *Node) flushMembers() {
	n.rcpt.Lock()
	rooms := make(map[string]*roomReceipts, len(n.rcpt.byRoom))
	for r, rr := range n.rcpt.byRoom {
		rooms[r] = rr
	}
	n.rcpt.Unlock()
	all := map[string]map[[storage.AuthorKeySize]byte]storage.MemberState{}
	for room, rr := range rooms {
		rr.mu.Lock()
		out := map[[storage.AuthorKeySize]byte]storage.MemberState{}
		for k := range rr.dirty {
			m := *rr.members[k]
			m.Heads = make(map[[storage.AuthorKeySize]byte]uint64, len(rr.members[k].Heads))
			for a, h := range rr.members[k].Heads {
				m.Heads[a] = h
			}
			out[k] = m
		}
		rr.dirty = nil
		rr.mu.Unlock()
		if len(out) > 0 {
			all[room] = out
		}
	}
	if len(all) == 0 {
		return
	}
	// One transaction for every room: one fsync, not one per room.
	if err := n.store.PutMembersOfRooms(all); err != nil {
		n.logf("storing receipts: %v", err)
	}
}

// ReceiptView says how far a message got: which current members of its
// room hold it durably, and which said they read it.
type ReceiptView struct {
	Room   string `json:"room"`
	Author string `json:"author"` // fingerprint
	Seq    uint64 `json:"seq"`
	ID     string `json:"id"`
	// Members counts the room's current members besides this node, as it
	// knows them (trusted peers it was linked with in the room, that have
	// not left it).
	Members int `json:"members"`
	// Stored counts those that hold the message durably (their version
	// vector covers it); the author counts as holding its own messages.
	Stored int `json:"stored"`
	// Read counts those whose read marker is at or after the message.
	Read     int      `json:"read"`
	StoredBy []string `json:"stored_by"` // fingerprints
	ReadBy   []string `json:"read_by"`
	Waiting  []string `json:"waiting"` // members that do not hold it yet
}

// State is the receipt in words: "only here", "stored by 2 of 3 members",
// "stored by all 3 members", "no other members".
func (r *ReceiptView) State() string {
	switch {
	case r.Members == 0:
		return "no other members"
	case r.Stored == 0:
		return "only here"
	case r.Stored == r.Members:
		return fmt.Sprintf("stored by all %d members", r.Members)
	}
	return fmt.Sprintf("stored by %d of %d members", r.Stored, r.Members)
}

// receiptOf computes a message's receipt from a room's members; trusted
// says whether a key is on the trust list.
func receiptOf(self lcrypto.IdentityKey, members map[lcrypto.IdentityKey]*storage.MemberState,
	trusted func(lcrypto.IdentityKey) bool, sm *storage.StoredMessage) *ReceiptView {
	author := lcrypto.IdentityKey(sm.Author)
	r := &ReceiptView{Room: sm.Room, Author: author.Fingerprint().String(), Seq: sm.Seq,
		StoredBy: []string{}, ReadBy: []string{}, Waiting: []string{}}
	if m, err := decodeStored(sm); err == nil {
		r.ID = m.ID()
	}
	pos := storage.PositionOf(sm)
	keys := make([]lcrypto.IdentityKey, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b lcrypto.IdentityKey) int {
		return strings.Compare(a.Fingerprint().String(), b.Fingerprint().String())
	})
	for _, k := range keys {
		m := members[k]
		if k == self || m.Left || !trusted(k) {
			continue
		}
		fp := k.Fingerprint().String()
		r.Members++
		if k == author || m.Heads[sm.Author] >= sm.Seq {
			r.Stored++
			r.StoredBy = append(r.StoredBy, fp)
		} else {
			r.Waiting = append(r.Waiting, fp)
		}
		if m.Read.Compare(pos) >= 0 {
			r.Read++
			r.ReadBy = append(r.ReadBy, fp)
		}
	}
	return r
}

// Receipt returns how far the message (room, author, seq) got.
func (n *Node) Receipt(room string, author lcrypto.IdentityKey, seq uint64) (*ReceiptView, error) {
	sm, ok, err := n.store.Message(room, author, seq)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: message %d of %s in %s", ErrNoMessage, seq, author.Fingerprint().Short(), room)
	}
	rr, err := n.receiptsOf(room)
	if err != nil {
		return nil, err
	}
	var roster []lcrypto.Fingerprint
	if isConvo(room) {
		roster = n.roster(room)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if isConvo(room) {
		return convoReceiptOf(rr.members, roster, &sm), nil
	}
	return receiptOf(n.id.Public(), rr.members, n.isTrustedKey, &sm), nil
}

// ReadReceipt is Receipt from the store alone (no node runs).
func ReadReceipt(store *storage.DB, self lcrypto.IdentityKey, room string, author lcrypto.IdentityKey, seq uint64) (*ReceiptView, error) {
	sm, ok, err := store.Message(room, author, seq)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: message %d of %s in %s", ErrNoMessage, seq, author.Fingerprint().Short(), room)
	}
	stored, err := store.RoomMembers(room)
	if err != nil {
		return nil, err
	}
	members := make(map[lcrypto.IdentityKey]*storage.MemberState, len(stored))
	for k, m := range stored {
		m := m
		members[lcrypto.IdentityKey(k)] = &m
	}
	if isConvo(room) {
		var ms *Membership
		if ConvoKind(room) == KindPrivate {
			if ms, err = ReadMembership(store, room); err != nil {
				return nil, err
			}
		}
		roster, _ := convoRoster(store, self, room, ms)
		return convoReceiptOf(members, roster, &sm), nil
	}
	names := trustedNames(store)
	trusted := func(k lcrypto.IdentityKey) bool { _, ok := names[k.Fingerprint()]; return ok }
	return receiptOf(self, members, trusted, &sm), nil
}

// isTrustedKey is isTrusted without the log line of a failed lookup.
func (n *Node) isTrustedKey(k lcrypto.IdentityKey) bool {
	_, ok, err := n.store.IsTrusted(k.Fingerprint())
	return err == nil && ok
}

// ErrNoMessage is returned for a message the store does not hold.
var ErrNoMessage = fmt.Errorf("no such message")
