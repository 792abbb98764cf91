package chat

import (
	"slices"
	"strings"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Receipts of direct conversations and private rooms (PROTOCOL.md 5.11):
// the same stored and read frames, naming the conversation's identifier
// where they name a room. Their members are exact: the other person of a
// direct conversation, the current members of a private room's signed
// membership (met or not). The frames go only to, and are taken only from,
// those members.

// receiptPeer reports whether key may tell or be told receipts of room: a
// member of an open room this node is in (the caller checks the link's
// rooms), the other person of the direct conversation, or a current member
// of a private room.
func (n *Node) receiptPeer(key lcrypto.IdentityKey, room string) bool {
	if !isConvo(room) {
		return n.room(room) != nil
	}
	c := n.convoOf(key, room)
	return c != nil && c.mayHear(key)
}

// mayTellReceipts reports whether a receipts frame about room may go on l.
func (n *Node) mayTellReceipts(l *link, room string) bool {
	if !isConvo(room) {
		return l.inRoom(room)
	}
	return n.receiptPeer(l.key, room)
}

// linksOf returns the links that share room: that may be told its
// receipts, and asked for or served its files.
func (n *Node) linksOf(room string) []*link {
	if !isConvo(room) {
		return n.linksInRoom(room)
	}
	var out []*link
	for _, l := range n.allLinks() {
		if n.receiptPeer(l.key, room) {
			out = append(out, l)
		}
	}
	return out
}

// convoRoster returns the members of conversation room besides self: the
// other person of a direct conversation (found on the trust list), the
// current members of a private room. ok is false for a direct conversation
// with nobody trusted.
func convoRoster(store *storage.DB, self lcrypto.IdentityKey, room string, ms *Membership) (roster []lcrypto.Fingerprint, ok bool) {
	if ConvoKind(room) == KindDirect {
		fp, ok := directPeerIn(store, self, room)
		if !ok {
			return nil, false
		}
		return []lcrypto.Fingerprint{fp}, true
	}
	if ms == nil {
		return nil, true
	}
	for _, m := range ms.Members() {
		if m.Key != self {
			roster = append(roster, m.Key.Fingerprint())
		}
	}
	return roster, true
}

// directPeerIn finds the trusted peer that room is the direct conversation with.
func directPeerIn(store *storage.DB, self lcrypto.IdentityKey, room string) (lcrypto.Fingerprint, bool) {
	for fp := range trustedNames(store) {
		if DirectID(self.Fingerprint(), fp) == room {
			return fp, true
		}
	}
	return lcrypto.Fingerprint{}, false
}

// roster returns this node's view of conversation room's other members.
func (n *Node) roster(room string) []lcrypto.Fingerprint {
	var ms *Membership
	if c := n.convo(room); c != nil {
		if c.kind == KindDirect {
			return []lcrypto.Fingerprint{c.peer}
		}
		ms = c.membership()
	}
	r, _ := convoRoster(n.store, n.id.Public(), room, ms)
	return r
}

// convoReceiptOf is receiptOf for a conversation: the members are the
// roster, whether this node has met them or not.
func convoReceiptOf(members map[lcrypto.IdentityKey]*storage.MemberState, roster []lcrypto.Fingerprint, sm *storage.StoredMessage) *ReceiptView {
	author := lcrypto.IdentityKey(sm.Author)
	r := &ReceiptView{Room: sm.Room, Author: author.Fingerprint().String(), Seq: sm.Seq,
		StoredBy: []string{}, ReadBy: []string{}, Waiting: []string{}}
	if m, err := decodeStored(sm); err == nil {
		r.ID = m.ID()
	}
	byFP := make(map[lcrypto.Fingerprint]*storage.MemberState, len(members))
	for k, m := range members {
		byFP[k.Fingerprint()] = m
	}
	pos := storage.PositionOf(sm)
	fps := slices.Clone(roster)
	slices.SortFunc(fps, func(a, b lcrypto.Fingerprint) int { return strings.Compare(a.String(), b.String()) })
	for _, fp := range fps {
		r.Members++
		m := byFP[fp]
		if fp == author.Fingerprint() || m != nil && m.Heads[sm.Author] >= sm.Seq {
			r.Stored++
			r.StoredBy = append(r.StoredBy, fp.String())
		} else {
			r.Waiting = append(r.Waiting, fp.String())
		}
		if m != nil && m.Read.Compare(pos) >= 0 {
			r.Read++
			r.ReadBy = append(r.ReadBy, fp.String())
		}
	}
	return r
}

// convoMember reports whether this node may use conversation room now:
// the direct conversation with a trusted peer (loaded on first use), or a
// private room it is a current member of.
func (n *Node) convoMember(room string) bool {
	if ConvoKind(room) == KindDirect {
		fp, ok := directPeerIn(n.store, n.id.Public(), room)
		if !ok {
			return false
		}
		_, err := n.directWith(fp)
		return err == nil
	}
	c := n.convo(room)
	if c == nil {
		return false
	}
	ms := c.membership()
	return ms != nil && ms.IsMember(n.id.Public())
}
