package chat

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// Delete for everyone (PROTOCOL.md 5.13). An author asks every member to
// wipe one of its messages with a signed tombstone frame:
//
//	version  byte  1
//	roomLen  byte, then the room name
//	author   32    the message's author: the signer
//	seq      u64   the message's sequence number
//	sum      32    SHA-256 of the message's encoding
//	sig      64    Ed25519 by author over DomainDelete ‖ all of the above
//
// A member that holds the message wipes its body and keeps its place (the
// author's sequence number stays taken, the sync check chains sum); one that
// does not hold it yet never will. Whether a tombstone is honoured depends on
// it alone (its signature), never on what the receiver saw first; of two for
// one message, every member keeps the one naming the smaller hash.
// Tombstones are relayed like messages and sent on every catch-up of the
// room, so members that were away get them. An older node skips the frame
// and keeps the message.
const (
	deleteVersion = 1
	deleteFixed   = 1 + 1 + lcrypto.KeySize + 8 + sha256.Size + lcrypto.SignatureSize
)

// tombstone is a decoded delete frame.
type tombstone struct {
	Room   string
	Author lcrypto.IdentityKey
	Seq    uint64
	Sum    [sha256.Size]byte
	Sig    [lcrypto.SignatureSize]byte
}

func (t *tombstone) signedBytes() []byte {
	b := []byte{deleteVersion, byte(len(t.Room))}
	b = append(b, t.Room...)
	b = append(b, t.Author[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Seq)
	return append(b, t.Sum[:]...)
}

func (t *tombstone) encode() []byte { return append(t.signedBytes(), t.Sig[:]...) }

func decodeTombstone(b []byte) (tombstone, error) {
	var t tombstone
	if len(b) < deleteFixed || b[0] != deleteVersion || len(b) != deleteFixed+int(b[1]) {
		return t, fmt.Errorf("%w: a delete frame of %d bytes", ErrFrame, len(b))
	}
	n := 2 + int(b[1])
	t.Room = string(b[2:n])
	if _, err := NormalizeRoom(t.Room); err != nil {
		return t, fmt.Errorf("%w: a delete frame: %w", ErrFrame, err)
	}
	t.Author = lcrypto.IdentityKey(b[n : n+lcrypto.KeySize])
	n += lcrypto.KeySize
	t.Seq = binary.BigEndian.Uint64(b[n:])
	n += 8
	t.Sum = [sha256.Size]byte(b[n : n+sha256.Size])
	n += sha256.Size
	t.Sig = [lcrypto.SignatureSize]byte(b[n:])
	if t.Seq == 0 {
		return t, fmt.Errorf("%w: a delete frame for sequence number 0", ErrFrame)
	}
	return t, nil
}

func (t *tombstone) verify() bool {
	return t.Author.Check() == nil && lcrypto.Verify(t.Author, lcrypto.DomainDelete, t.signedBytes(), t.Sig[:])
}

// ErrNotYours: only a message's author can delete it for everyone.
var ErrNotYours = errors.New("you can delete only your own messages for everyone")

// DeleteForEveryone deletes this node's message seq in room here and asks
// every member to wipe it too (a signed tombstone). It returns to how many
// links the request went now; the others get it at their next catch-up.
func (n *Node) DeleteForEveryone(room string, seq uint64) (int, error) {
	name, err := NormalizeRoom(room)
	if err != nil {
		return 0, err
	}
	self := n.id.Public()
	m, ok, err := n.store.Message(name, [32]byte(self), seq)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("room %s: no message %d of yours here (%w; or it was deleted already)", name, seq, ErrNotYours)
	}
	t := tombstone{Room: name, Author: self, Seq: seq, Sum: sha256.Sum256(m.Raw)}
	t.Sig = n.id.Sign(lcrypto.DomainDelete, t.signedBytes())
	if _, err := n.honour(&t); err != nil {
		return 0, err
	}
	return n.sendTombstone(nil, name, t.encode()), nil
}

// honour wipes the message t names and keeps t; it reports whether that
// changed anything.
func (n *Node) honour(t *tombstone) (bool, error) {
	changed, err := n.store.DeleteMessage(t.Room, [32]byte(t.Author), t.Seq, t.Sum, t.encode())
	if err != nil || !changed {
		return changed, err
	}
	if rs := n.room(t.Room); rs != nil {
		rs.mu.Lock()
		delete(rs.chains, t.Author) // its chain now hashes t.Sum at t.Seq
		rs.chainGen++
		rs.mu.Unlock()
	}
	n.publishDeleted(t)
	return true, nil
}

// publishDeleted tells the front ends that the message t names, which
// this node held, is deleted (nothing if it never held it: it was never
// shown).
func (n *Node) publishDeleted(t *tombstone) {
	deleted, err := n.store.DeletedMessages(t.Room)
	if err != nil {
		n.logf("deleted message %d in %s: %v", t.Seq, t.Room, err)
		return
	}
	for _, d := range deleted {
		if d.Author == [32]byte(t.Author) && d.Seq == t.Seq {
			n.events.publish(Event{Kind: EventDeleted, Time: time.Now(), Room: t.Room, Message: n.labels().deletedView(t.Room, d)})
			return
		}
	}
}

// handleDelete honours a peer's tombstone for a room both are in, and
// relays it when it changed something here.
func (l *link) handleDelete(body []byte) error {
	t, err := decodeTombstone(body)
	if err != nil {
		return err
	}
	n := l.node
	if n.room(t.Room) == nil || !l.inRoom(t.Room) {
		return nil
	}
	if !t.verify() {
		n.logf("a delete frame from %s for %s's message %d in %s does not verify; ignored", l.key, t.Author, t.Seq, t.Room)
		return nil
	}
	changed, err := n.honour(&t)
	if err != nil || !changed {
		return err
	}
	n.sendTombstone(l, t.Room, body)
	return nil
}

// sendTombstone sends a delete frame to the room's links but from.
func (n *Node) sendTombstone(from *link, room string, body []byte) int {
	sent := 0
	for _, l := range n.linksInRoom(room) {
		if l == from {
			continue
		}
		if err := l.sess.Send(frameDelete, body); err != nil {
			if errors.Is(err, session.ErrQueueFull) {
				l.closeAsync("send queue full")
			}
			continue
		}
		sent++
	}
	return sent
}

// sendTombstones sends the room's kept tombstones on l (at a catch-up).
func (l *link) sendTombstones(room string) {
	ts, err := l.node.store.Tombstones(room)
	if err != nil {
		l.node.logf("sync %s: %v", room, err)
		return
	}
	for _, t := range ts {
		if err := l.sess.Send(frameDelete, t); err != nil {
			return
		}
	}
}
