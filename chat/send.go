package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Send signs body as this node's next message in room, stores it durably,
// and only then hands it to every link in the room. It returns the message as
// shown and how many links it was handed to. A Send before Run starts the
// node's message writer, which Run stops when it returns.
func (n *Node) Send(ctx context.Context, roomName, body string) (*MessageView, int, error) {
	name, err := NormalizeRoom(roomName)
	if err != nil {
		return nil, 0, err
	}
	if isConvo(name) { // a private room (or direct conversation) by its id
		c := n.convo(name)
		if c == nil {
			return nil, 0, fmt.Errorf("%w: %s", ErrNotMember, name)
		}
		return n.sendConvo(ctx, c, body)
	}
	rs := n.room(name)
	if rs == nil {
		return nil, 0, fmt.Errorf("%w %q: join it first", ErrNotJoined, name)
	}
	body = strings.TrimRight(body, "\r\n")
	if body == "" {
		return nil, 0, fmt.Errorf("empty message")
	}
	rs.sendMu.Lock()
	defer rs.sendMu.Unlock()
	m, raw, err := n.storeOwn(ctx, rs, name, body)
	if err != nil {
		return nil, 0, err
	}
	v := n.view(&m, false)
	n.events.publish(Event{Kind: EventMessage, Room: name, Message: v})
	return v, n.relay(nil, name, m.Author, raw), nil
}

// storeOwn signs and durably stores this node's next message in a room
// (rs.sendMu held). A sequence number found taken — this node's own earlier
// messages came back by sync, e.g. after restoring an old backup — is
// skipped, so a send is never reported that no store holds.
func (n *Node) storeOwn(ctx context.Context, rs *room, name, body string) (Message, []byte, error) {
	for try := 0; try < 3; try++ {
		seq := rs.nextSeq.Load()
		m := Message{Room: name, Seq: seq, Clock: min(rs.maxClock.Load()+1, ClockBound(seq)),
			Time: time.Now().Truncate(time.Millisecond), Body: body}
		if err := m.Validate(); err != nil {
			return Message{}, nil, err
		}
		m.Sign(n.id)
		raw := m.Encode()
		added, err := n.committer().Add(ctx, toStored(&m, raw))
		if err != nil {
			return Message{}, nil, fmt.Errorf("storing message: %w", err)
		}
		if added[0] {
			n.recent.add(raw) // a copy offered back (by sync) is dropped unread
			storeMax(&rs.nextSeq, m.Seq+1)
			storeMax(&rs.maxClock, m.Clock)
			return m, raw, nil
		}
		last, err := n.store.LastSeq(name, m.Author)
		if err != nil {
			return Message{}, nil, err
		}
		storeMax(&rs.nextSeq, last+1)
	}
	return Message{}, nil, errors.New("storing message: its sequence number stayed taken")
}

// Join enters a room: peers are told, and the room's history is synced.
func (n *Node) Join(roomName string) (string, error) {
	if _, err := NormalizeOpenRoom(roomName); err != nil {
		return "", err
	}
	name, err := n.loadRoom(roomName)
	if err != nil {
		return "", err
	}
	n.rememberRooms()
	n.announceRoom(name, true)
	for _, l := range n.linksInRoom(name) {
		n.memberSeen(name, l.key, true)
		l.requestSync(name)
		n.sendReadMark(name, l, nil)
	}
	return name, nil
}

// Leave quits a room: no more of its messages are received or relayed (its
// history stays in the store).
func (n *Node) Leave(roomName string) (string, error) {
	name, err := NormalizeRoom(roomName)
	if err != nil {
		return "", err
	}
	if !n.dropRoom(name) {
		return "", fmt.Errorf("%w %q", ErrNotJoined, name)
	}
	n.rememberRooms()
	n.announceRoom(name, false)
	return name, nil
}

// announceRoom tells every link that this node joined (or left) a room,
// each as far as its peer may hear it (roomsmore.go).
func (n *Node) announceRoom(name string, join bool) {
	for _, l := range n.allLinks() {
		l.announceRoom(name, join)
	}
}

// LinkedPeers returns the peers with a live link.
func (n *Node) LinkedPeers() []*PeerView {
	all := n.allLinks()
	out := make([]*PeerView, 0, len(all))
	for _, l := range all {
		out = append(out, n.peerViewOf(l))
	}
	return out
}

// Trust adds a peer to the trust list; the node links to it as soon as it is
// found (no restart needed). added is false if it was already trusted.
func (n *Node) Trust(fp lcrypto.Fingerprint, name string) (added bool, err error) {
	return n.store.Trust(fp, name)
}

// Untrust removes a peer from the trust list and closes its link.
func (n *Node) Untrust(fp lcrypto.Fingerprint) error {
	if err := n.store.Untrust(fp); err != nil {
		return err
	}
	for _, l := range n.allLinks() {
		if l.key.Fingerprint() == fp {
			l.closeAsync("no longer trusted")
		}
	}
	return nil
}

// Peers returns every peer the node knows of: those its beacons listener
// hears and those linked (a --peer link may have no beacons), each marked
// trusted and linked or not, sorted by fingerprint.
func (n *Node) Peers() []*PeerView {
	byKey := map[lcrypto.IdentityKey]*PeerView{}
	for _, l := range n.allLinks() {
		byKey[l.key] = n.peerViewOf(l)
	}
	if disc := n.disc.Load(); disc != nil {
		for _, p := range disc.Peers() {
			if _, ok := byKey[p.Key]; ok || p.Key == n.id.Public() {
				continue
			}
			pv := peerView(p.Key)
			pv.Addr = p.Addr.String()
			pv.Nick, pv.Trusted = n.authorName(p.Key)
			byKey[p.Key] = pv
		}
	}
	out := make([]*PeerView, 0, len(byKey))
	for _, pv := range byKey {
		out = append(out, pv)
	}
	slices.SortFunc(out, func(a, b *PeerView) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}

// rememberRooms keeps the joined rooms for the next start (a node started
// without rooms of its own joins them again).
func (n *Node) rememberRooms() {
	if err := n.store.SetJoinedRooms(n.Rooms()); err != nil {
		n.logf("remembering the rooms: %v", err)
	}
}
