package chat

import (
	"sync"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Presence and typing (PROTOCOL.md 5.11): said to linked trusted peers
// only, never in beacons; a peer's presence ends with its link.

// Typing indicators are rate-limited on both sides.
const (
	// typingEvery: a node sends at most one typing frame per room this often.
	typingEvery = 3 * time.Second
	// typingShown: a receiver turns one typing frame into at most one
	// event per peer and room this often.
	typingShown = 2 * time.Second
)

// presenceState is the node's own presence and its typing rate limits,
// with its own lock.
type presenceState struct {
	sync.Mutex
	own        presence
	typingSent map[string]time.Time // room → last typing frame sent
	typingSeen map[typingKey]time.Time
}

type typingKey struct {
	room string
	key  lcrypto.IdentityKey
}

// SetPresence changes what linked peers are told of this node's user, and
// tells them at once.
func (n *Node) SetPresence(state Presence, status string) error {
	if state > Busy {
		return ErrPresence
	}
	if err := CheckStatus(status); err != nil {
		return err
	}
	n.pres.Lock()
	n.pres.own = presence{State: state, Status: status}
	body := n.pres.own.encode()
	n.pres.Unlock()
	for _, l := range n.allLinks() {
		if err := l.sess.Send(framePresence, body); err != nil {
			n.logf("telling %s the presence: %v", l.key, err)
		}
	}
	return nil
}

// OwnPresence returns what the node tells its peers.
func (n *Node) OwnPresence() (Presence, string) {
	n.pres.Lock()
	defer n.pres.Unlock()
	return n.pres.own.State, n.pres.own.Status
}

// sendPresence tells a new link this node's presence.
func (n *Node) sendPresence(l *link) {
	n.pres.Lock()
	body := n.pres.own.encode()
	n.pres.Unlock()
	_ = l.sess.Send(framePresence, body)
}

// handlePresence takes a peer's presence frame.
func (l *link) handlePresence(body []byte) error {
	p, err := decodePresence(body)
	if err != nil {
		return err
	}
	l.mu.Lock()
	changed := l.presence == nil || *l.presence != p
	l.presence = &p
	l.mu.Unlock()
	if changed {
		l.node.events.publish(Event{Kind: EventPresence, Peer: l.node.peerViewOf(l)})
	}
	return nil
}

// peerPresence returns what the peer said of its presence, if it did.
func (l *link) peerPresence() *presence {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.presence
}

// Typing tells the peers in room that this node's user is typing there,
// at most once per typingEvery (more calls are dropped).
func (n *Node) Typing(room string) error {
	name, err := NormalizeRoom(room)
	if err != nil {
		return err
	}
	if isConvo(name) {
		if !n.convoMember(name) {
			return ErrNotMember
		}
	} else if n.room(name) == nil {
		return ErrNotJoined
	}
	now := time.Now()
	n.pres.Lock()
	if n.pres.typingSent == nil {
		n.pres.typingSent = map[string]time.Time{}
	}
	last := n.pres.typingSent[name]
	if !last.IsZero() && now.Sub(last) < typingEvery {
		n.pres.Unlock()
		return nil
	}
	n.pres.typingSent[name] = now
	n.pres.Unlock()
	body := encodeRoomFrame(name)
	for _, l := range n.linksOf(name) { // a conversation's: its members' links only
		_ = l.sess.Send(frameTyping, body)
	}
	return nil
}

// handleTyping takes a peer's typing frame: an event, at most one per
// peer and room per typingShown.
func (l *link) handleTyping(body []byte) error {
	room, err := decodeRoomFrame(body)
	if err != nil {
		return err
	}
	n := l.node
	if isConvo(room) {
		if !n.convoMember(room) || !n.mayTellReceipts(l, room) { // both members
			return nil
		}
	} else if n.room(room) == nil || !l.inRoom(room) {
		return nil
	}
	now := time.Now()
	k := typingKey{room, l.key}
	n.pres.Lock()
	if n.pres.typingSeen == nil {
		n.pres.typingSeen = map[typingKey]time.Time{}
	}
	last := n.pres.typingSeen[k]
	show := last.IsZero() || now.Sub(last) >= typingShown
	if show {
		n.pres.typingSeen[k] = now
	}
	n.pres.Unlock()
	if show {
		n.events.publish(Event{Kind: EventTyping, Room: room, Peer: n.peerViewOf(l)})
	}
	return nil
}
