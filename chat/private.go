package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Private (invite-only) rooms: create, invite, promote, remove, leave, each
// a signed operation in the room's own order (membership.go), and the
// rooms' state as this node holds it.

// opEntryOf returns the operation a message carries, if it is one.
func opEntryOf(m *Message) (opEntry, bool) {
	if !isOpBody(m.Body) {
		return opEntry{}, false
	}
	op, err := DecodeOp(m.Body)
	if err != nil {
		return opEntry{}, false
	}
	return opEntry{pos: posOf(m), op: op, time: m.Time}, true
}

// addOp adds an operation and folds the membership again.
func (c *convo) addOp(e opEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.ops {
		if c.ops[i].pos == e.pos {
			if c.ops[i].op == e.op {
				return // held already (a welcome's, now stored): nothing changes
			}
			c.ops[i] = e
			c.members = FoldMembership(c.id, c.ops)
			return
		}
	}
	c.ops = append(c.ops, e)
	c.members = FoldMembership(c.id, c.ops)
}

// storedOps reads a room's stored operations: their entries and encodings.
func storedOps(store *storage.DB, room string) ([]opEntry, [][]byte, error) {
	stored, err := store.History(storage.HistoryQuery{Rooms: []string{room},
		Match: func(raw []byte) bool { return opRecordIn(raw) }})
	if err != nil {
		return nil, nil, err
	}
	var ops []opEntry
	var raws [][]byte
	for i := range stored {
		m, err := decodeStored(&stored[i])
		if err != nil || m.Verify() != nil {
			continue
		}
		if e, ok := opEntryOf(&m); ok {
			ops, raws = append(ops, e), append(raws, stored[i].Raw)
		}
	}
	return ops, raws, nil
}

// opRecordIn reports, without a full decode, whether an encoded message's
// body starts like an operation record.
func opRecordIn(raw []byte) bool {
	if len(raw) < 2 {
		return false
	}
	off := 2 + int(raw[1]) + lcrypto.KeySize + 8 + 8 + 8 + 2
	return len(raw) > off && raw[off] == 0
}

// opRaws returns the encodings of a private room's stored operations.
func (n *Node) opRaws(room string) ([][]byte, error) {
	_, raws, err := storedOps(n.store, room)
	return raws, err
}

// reloadOps folds a private room's membership again from the store (after
// one of its messages was replaced).
func (n *Node) reloadOps(room string) {
	c := n.convo(room)
	if c == nil || c.kind != KindPrivate {
		return
	}
	ops, _, err := storedOps(n.store, room)
	if err != nil {
		n.logf("private room %s: %v", room, err)
		return
	}
	c.mu.Lock()
	c.ops, c.members = ops, FoldMembership(room, ops)
	c.mu.Unlock()
}

// loadPrivateRooms adds the private rooms of the store that this node was
// ever a member of (a removed member keeps its history, and is told when
// it is invited again).
func (n *Node) loadPrivateRooms() error {
	rooms, err := n.store.MessageRooms()
	if err != nil {
		return err
	}
	for _, r := range rooms {
		if ConvoKind(r) != KindPrivate || !validConvoID(r) {
			continue
		}
		ops, _, err := storedOps(n.store, r)
		if err != nil {
			return err
		}
		ms := FoldMembership(r, ops)
		if !ms.Known(n.id.Public()) {
			continue
		}
		rs, err := n.newRoomState(r)
		if err != nil {
			return err
		}
		n.convos.byID[r] = &convo{id: r, kind: KindPrivate, rs: rs, members: ms, ops: ops}
	}
	return nil
}

// CreateRoom creates a private room named name: this node is its first
// member and admin. It returns the room's identifier.
func (n *Node) CreateRoom(ctx context.Context, name string) (string, error) {
	norm, err := NormalizeOpenRoom(name)
	if err != nil {
		return "", err
	}
	op := Op{Kind: OpCreate, Name: norm}
	if _, err := rand.Read(op.Nonce[:]); err != nil {
		return "", fmt.Errorf("creating room: %w", err)
	}
	id := PrivateID(n.id.Public(), op.Nonce)
	rs, err := n.newRoomState(id)
	if err != nil {
		return "", err
	}
	c := &convo{id: id, kind: KindPrivate, rs: rs}
	n.convos.Lock()
	if n.privateCountLocked() >= MaxPrivateRooms {
		n.convos.Unlock()
		return "", fmt.Errorf("creating room: %w", errTooManyRooms)
	}
	n.convos.byID[id] = c
	n.convos.Unlock()
	if _, _, err := n.sendOp(ctx, c, op); err != nil {
		n.convos.Lock()
		delete(n.convos.byID, id)
		n.convos.Unlock()
		return "", err
	}
	return id, nil
}

// Invite makes peer (a trusted peer) a member of a private room.
func (n *Node) Invite(ctx context.Context, room string, peer lcrypto.IdentityKey) (*MessageView, error) {
	if !n.isTrusted(peer) {
		return nil, fmt.Errorf("%w: trust %s first (lanchat trust)", ErrNoPeer, peer.Fingerprint().Short())
	}
	return n.memberOp(ctx, room, Op{Kind: OpInvite, Subject: peer})
}

// Remove ends peer's membership of a private room (admins only). Its
// messages up to the last one this node holds stay in the room.
func (n *Node) Remove(ctx context.Context, room string, peer lcrypto.IdentityKey) (*MessageView, error) {
	last, err := n.store.LastSeq(room, peer)
	if err != nil {
		return nil, err
	}
	return n.memberOp(ctx, room, Op{Kind: OpRemove, Subject: peer, Cut: last})
}

// Promote makes a member of a private room an admin (admins only).
func (n *Node) Promote(ctx context.Context, room string, peer lcrypto.IdentityKey) (*MessageView, error) {
	return n.memberOp(ctx, room, Op{Kind: OpPromote, Subject: peer})
}

// LeavePrivate ends this node's membership of a private room.
func (n *Node) LeavePrivate(ctx context.Context, room string) (*MessageView, error) {
	return n.memberOp(ctx, room, Op{Kind: OpLeave})
}

func (n *Node) memberOp(ctx context.Context, room string, op Op) (*MessageView, error) {
	c := n.convo(room)
	if c == nil || c.kind != KindPrivate {
		return nil, fmt.Errorf("%w: %s", ErrNotMember, room)
	}
	v, _, err := n.sendOp(ctx, c, op)
	return v, err
}

// errOpRefused: the operation would not apply at its place in the order.
var errOpRefused = errors.New("the room's rules refuse it")

// sendOp signs, stores and passes on an operation, after checking that it
// would apply where it will sort.
func (n *Node) sendOp(ctx context.Context, c *convo, op Op) (*MessageView, int, error) {
	c.rs.sendMu.Lock()
	defer c.rs.sendMu.Unlock()
	seq := c.rs.nextSeq.Load()
	probe := opEntry{pos: position{min(c.rs.maxClock.Load()+1, ClockBound(seq)), n.id.Public(), seq}, op: op}
	c.mu.Lock()
	trial := FoldMembership(c.id, append(slices.Clone(c.ops), probe))
	c.mu.Unlock()
	if !trial.applied[probe.pos] {
		return nil, 0, fmt.Errorf("%w: %s %s", ErrNotMember, op.Kind, opRefusal(trial, n.id.Public(), op))
	}
	return n.sendConvoLocked(ctx, c, op.Encode())
}

// opRefusal says why an operation would not apply.
func opRefusal(ms *Membership, self lcrypto.IdentityKey, op Op) string {
	switch {
	case op.Kind == OpCreate:
		return errOpRefused.Error()
	case !ms.IsMember(self):
		return "refused: you are not a member"
	case (op.Kind == OpRemove || op.Kind == OpPromote) && !ms.IsAdmin(self):
		return "refused: only admins " + op.Kind
	case op.Kind == OpInvite:
		return "refused: " + op.Subject.Fingerprint().Short() + " is a member already"
	case op.Kind == OpRemove && op.Subject == self:
		return "refused: leave the room instead"
	case op.Kind == OpRemove || op.Kind == OpPromote:
		return "refused: " + op.Subject.Fingerprint().Short() + " is not a member (or already an admin)"
	}
	return errOpRefused.Error()
}

// sendConvo sends a chat message to a conversation.
func (n *Node) sendConvo(ctx context.Context, c *convo, body string) (*MessageView, int, error) {
	body = strings.TrimRight(body, "\r\n")
	if body == "" {
		return nil, 0, errors.New("empty message")
	}
	if isOpBody(body) {
		return nil, 0, fmt.Errorf("%w: a message may not start with U+0000", ErrMalformed)
	}
	if c.kind == KindPrivate {
		if ms := c.membership(); ms == nil || !ms.IsMember(n.id.Public()) {
			return nil, 0, fmt.Errorf("%w: %s", ErrNotMember, c.id)
		}
	}
	c.rs.sendMu.Lock()
	defer c.rs.sendMu.Unlock()
	return n.sendConvoLocked(ctx, c, body)
}

// sendConvoLocked stores body as this node's next message of c
// (c.rs.sendMu held), shows it, and hands it to who may have it.
func (n *Node) sendConvoLocked(ctx context.Context, c *convo, body string) (*MessageView, int, error) {
	m, raw, err := n.storeOwn(ctx, c.rs, c.id, body)
	if err != nil {
		return nil, 0, err
	}
	if e, ok := opEntryOf(&m); ok {
		c.addOp(e)
	}
	v := n.view(&m, false)
	n.events.publish(Event{Kind: EventMessage, Room: c.id, Message: v})
	if c.kind == KindPrivate {
		return v, n.passOn(c, lcrypto.IdentityKey{}, &m, raw), nil
	}
	for _, l := range n.allLinks() {
		if l.key.Fingerprint() == c.peer {
			if err := l.sess.Send(frameConvoMessage, raw); err == nil {
				return v, 1, nil
			}
		}
	}
	return v, 0, nil // delivered when the two are linked again (sync)
}

// SendDirect sends body to peer, a trusted peer, in the direct conversation
// with it. A peer that is not linked gets it when the two link again.
func (n *Node) SendDirect(ctx context.Context, peer lcrypto.Fingerprint, body string) (*MessageView, int, error) {
	if _, ok, err := n.store.IsTrusted(peer); err != nil || !ok {
		return nil, 0, fmt.Errorf("%w: trust %s first (lanchat trust)", ErrNoPeer, peer.Short())
	}
	c, err := n.directWith(peer)
	if err != nil {
		return nil, 0, err
	}
	return n.sendConvo(ctx, c, body)
}

// RoomInfo describes a private room as this node holds it.
type RoomInfo struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"` // KindPrivate
	Member  bool     `json:"member"`
	Admin   bool     `json:"admin"`
	Members []Member `json:"-"`
}

// PrivateRooms returns the private rooms held (current and former
// membership), sorted by name then id.
func (n *Node) PrivateRooms() []RoomInfo {
	var out []RoomInfo
	for _, c := range n.allConvos() {
		if c.kind != KindPrivate {
			continue
		}
		ms := c.membership()
		out = append(out, RoomInfo{ID: c.id, Name: ms.Name, Kind: KindPrivate,
			Member: ms.IsMember(n.id.Public()), Admin: ms.IsAdmin(n.id.Public()), Members: ms.Members()})
	}
	slices.SortFunc(out, func(a, b RoomInfo) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// ResolvePrivate finds a private room by identifier (or a unique prefix of
// it of at least 6 characters after "pr.") or by name among those held.
func (n *Node) ResolvePrivate(s string) (string, error) {
	return resolvePrivate(n.PrivateRooms(), s)
}

func resolvePrivate(rooms []RoomInfo, s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	var hits []RoomInfo
	for _, r := range rooms {
		if r.ID == s || r.Name == s || len(s) >= len(privatePrefix)+6 && strings.HasPrefix(r.ID, s) {
			hits = append(hits, r)
		}
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("%w: no private room %q here", ErrNotMember, s)
	case 1:
		return hits[0].ID, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return "", fmt.Errorf("%w: %d private rooms are called %q (%s): name one by its id", ErrAmbiguous, len(hits), s, strings.Join(ids, ", "))
}

// ErrAmbiguous is returned for a room name that several private rooms have.
var ErrAmbiguous = errors.New("ambiguous room name")

// RoomMembers returns a private room's membership as this node holds it.
func (n *Node) RoomMembers(room string) (*Membership, error) {
	c := n.convo(room)
	if c == nil || c.kind != KindPrivate {
		return nil, fmt.Errorf("%w: %s", ErrNotMember, room)
	}
	return c.membership(), nil
}

// ReadMembership folds a private room's membership from a store alone.
func ReadMembership(store *storage.DB, room string) (*Membership, error) {
	ops, _, err := storedOps(store, room)
	if err != nil {
		return nil, err
	}
	return FoldMembership(room, ops), nil
}

// PrivateRoomsIn lists a store's private rooms that self was ever a member of.
func PrivateRoomsIn(store *storage.DB, self lcrypto.IdentityKey) ([]RoomInfo, error) {
	rooms, err := store.MessageRooms()
	if err != nil {
		return nil, err
	}
	var out []RoomInfo
	for _, r := range rooms {
		if ConvoKind(r) != KindPrivate || !validConvoID(r) {
			continue
		}
		ms, err := ReadMembership(store, r)
		if err != nil {
			return nil, err
		}
		if ms.Known(self) {
			out = append(out, RoomInfo{ID: r, Name: ms.Name, Kind: KindPrivate, Member: ms.IsMember(self),
				Admin: ms.IsAdmin(self), Members: ms.Members()})
		}
	}
	return out, nil
}

// ResolvePrivateIn is ResolvePrivate over a store alone.
func ResolvePrivateIn(store *storage.DB, self lcrypto.IdentityKey, s string) (string, error) {
	rooms, err := PrivateRoomsIn(store, self)
	if err != nil {
		return "", err
	}
	return resolvePrivate(rooms, s)
}
