package chat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Conversations besides open rooms (PROTOCOL.md 5.9 and 5.10): a direct
// conversation between two people, and an invite-only (private) room. Both
// use the message encoding and the per-room order, history and sync of open
// rooms, under a room identifier of their own, but they travel in frames of
// their own (convo-message, convo-sync-*, convo-welcome) and only ever to
// their members: they are never announced in hellos or join frames, never
// relayed or served to anyone else.

// Conversation kinds, as front ends and --json name them.
const (
	KindRoom    = "room"    // an open room, joinable by name
	KindDirect  = "direct"  // a direct conversation: exactly two people
	KindPrivate = "private" // an invite-only room
)

// Identifier prefixes of conversations. Open room names may not start with
// them (NormalizeOpenRoom), so an identifier never names an open room.
const (
	directPrefix  = "dm."
	privatePrefix = "pr."
	// convoHexLen is how many hex digits of a hash follow the prefix: the
	// identifier fills MaxRoomLen (116 bits).
	convoHexLen = MaxRoomLen - len(directPrefix)
)

// Domain separation of the hashes behind conversation identifiers.
const (
	domainDirectID  = "lanchat/v1/direct:"
	domainPrivateID = "lanchat/v1/private-room:"
)

// ErrReservedRoom is returned for an open room name that uses a
// conversation identifier's prefix.
var ErrReservedRoom = fmt.Errorf("%w: names starting with %q or %q are conversation identifiers", ErrRoomName, directPrefix, privatePrefix)

// ConvoKind returns the kind of conversation a room identifier names.
func ConvoKind(room string) string {
	switch {
	case strings.HasPrefix(room, directPrefix):
		return KindDirect
	case strings.HasPrefix(room, privatePrefix):
		return KindPrivate
	}
	return KindRoom
}

// isConvo reports whether room is a direct or private conversation's id.
func isConvo(room string) bool { return ConvoKind(room) != KindRoom }

// validConvoID checks a conversation identifier's form: its prefix and
// convoHexLen lower-case hex digits.
func validConvoID(room string) bool {
	if !isConvo(room) || len(room) != MaxRoomLen {
		return false
	}
	for _, c := range room[len(directPrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NormalizeOpenRoom is NormalizeRoom for the name of an open room: the
// conversation prefixes are refused.
func NormalizeOpenRoom(s string) (string, error) {
	r, err := NormalizeRoom(s)
	if err != nil {
		return "", err
	}
	if isConvo(r) {
		return "", fmt.Errorf("%w (%q)", ErrReservedRoom, r)
	}
	return r, nil
}

// DirectID returns the identifier of the direct conversation between the
// identities with fingerprints a and b (the same whichever is first): "dm."
// and the first 29 hex digits of SHA-256("lanchat/v1/direct:" ‖ lower
// fingerprint ‖ higher fingerprint). Fingerprints, not keys: the trust list
// holds fingerprints, so either side finds the conversation from it alone.
func DirectID(a, b lcrypto.Fingerprint) string {
	lo, hi := a, b
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	h := sha256.New()
	h.Write([]byte(domainDirectID))
	h.Write(lo[:])
	h.Write(hi[:])
	return directPrefix + hex.EncodeToString(h.Sum(nil))[:convoHexLen]
}

// PrivateID returns the identifier of the private room that creator
// creates with nonce: "pr." and the first 29 hex digits of
// SHA-256("lanchat/v1/private-room:" ‖ creator ‖ nonce). Binding the
// creator makes a create operation by anyone else for that room invalid.
func PrivateID(creator lcrypto.IdentityKey, nonce [NonceSize]byte) string {
	h := sha256.New()
	h.Write([]byte(domainPrivateID))
	h.Write(creator[:])
	h.Write(nonce[:])
	return privatePrefix + hex.EncodeToString(h.Sum(nil))[:convoHexLen]
}

// ErrNotMember is returned for a private room this node is not a member of
// (or that it does not know), and for an operation the rules refuse.
var ErrNotMember = errors.New("not a member of that private room")

// ErrNoPeer is returned when a direct message names nobody this node trusts.
var ErrNoPeer = errors.New("no trusted peer by that name or fingerprint")

// convoTable is the node's direct and private conversations, with its own
// lock (taken after rooms, never while holding a link's lock).
type convoTable struct {
	sync.Mutex
	byID map[string]*convo
}

// convo is one direct or private conversation's local state.
type convo struct {
	id   string
	kind string
	peer lcrypto.Fingerprint // KindDirect: the other person
	rs   *room               // sequence, clock and equivocation state, as for rooms

	mu      sync.Mutex
	members *Membership // KindPrivate: the fold of the operations held (guarded by mu)
	ops     []opEntry   // KindPrivate: every operation held, any order (guarded by mu)
	// pending: per author, the sequence numbers on their way in (submitted,
	// not yet applied); held: messages whose pass-on waits for them
	// (KindPrivate: passon.go; guarded by mu).
	pending map[lcrypto.IdentityKey]map[uint64]int
	held    []heldBack
}

// membership returns the conversation's current membership (nil for a
// direct conversation).
func (c *convo) membership() *Membership {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members
}

// mayReceive reports whether key may be sent message m of the
// conversation: the other person of a direct conversation; a member of a
// private room for whom m counts (ops: any current member, and the
// subject of the operation).
func (c *convo) mayReceive(key lcrypto.IdentityKey, m *Message) bool {
	if c.kind == KindDirect {
		return key.Fingerprint() == c.peer
	}
	ms := c.membership()
	if ms == nil {
		return false
	}
	return ms.Delivers(key, m)
}

// mayHear reports whether a link with key may bring messages of the
// conversation at all: the other person, or a current member.
func (c *convo) mayHear(key lcrypto.IdentityKey) bool {
	if c.kind == KindDirect {
		return key.Fingerprint() == c.peer
	}
	ms := c.membership()
	return ms != nil && ms.IsMember(key)
}

// convo returns the conversation with id, or nil.
func (n *Node) convo(id string) *convo {
	n.convos.Lock()
	defer n.convos.Unlock()
	return n.convos.byID[id]
}

// allConvos returns the conversations the node holds.
func (n *Node) allConvos() []*convo {
	n.convos.Lock()
	defer n.convos.Unlock()
	out := make([]*convo, 0, len(n.convos.byID))
	for _, c := range n.convos.byID {
		out = append(out, c)
	}
	return out
}

// roomState returns the send and order state of an open room or a
// conversation, or nil.
func (n *Node) roomState(name string) *room {
	if isConvo(name) {
		if c := n.convo(name); c != nil {
			return c.rs
		}
		return nil
	}
	return n.room(name)
}

// newRoomState loads a room's sequence, clock and equivocators from the store.
func (n *Node) newRoomState(name string) (*room, error) {
	st, err := n.store.RoomState(name)
	if err != nil {
		return nil, err
	}
	last, err := n.store.LastSeq(name, n.id.Public())
	if err != nil {
		return nil, err
	}
	equiv, err := n.store.Equivocators(name)
	if err != nil {
		return nil, err
	}
	rs := &room{}
	for a, e := range equiv {
		rs.markEquivocator(lcrypto.IdentityKey(a), e)
	}
	rs.nextSeq.Store(last + 1)
	rs.maxClock.Store(st.MaxClock)
	return rs, nil
}

// directWith returns the direct conversation with peer, loading it on first use.
func (n *Node) directWith(peer lcrypto.Fingerprint) (*convo, error) {
	id := DirectID(n.id.Public().Fingerprint(), peer)
	n.convos.Lock()
	defer n.convos.Unlock()
	if c := n.convos.byID[id]; c != nil {
		return c, nil
	}
	rs, err := n.newRoomState(id)
	if err != nil {
		return nil, err
	}
	c := &convo{id: id, kind: KindDirect, peer: peer, rs: rs}
	n.convos.byID[id] = c
	return c, nil
}
