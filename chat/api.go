package chat

import (
	"errors"

	"github.com/lanchat/lanchat/storage"
)

// The node's state as front ends see it, through package control.

// NoiseStaticKey returns the node's Noise static public key (X25519).
func (n *Node) NoiseStaticKey() [32]byte {
	_, pub := n.id.NoiseStatic()
	return pub
}

// Nickname returns the nickname the node announces to its peers.
func (n *Node) Nickname() string { return *n.nick.Load() }

// SetNick changes the nickname: it is kept in the stored identity for the
// next start, and linked peers are told at once (a nick frame; a node that
// does not know it learns the nickname at the next link).
func (n *Node) SetNick(nick string) error {
	if err := CheckNick(nick); err != nil {
		return err
	}
	if err := n.store.SetNickname(nick); err != nil && !errors.Is(err, storage.ErrNoIdentity) {
		return err
	}
	n.nick.Store(&nick)
	body := encodeNick(nick)
	for _, l := range n.allLinks() {
		if err := l.sess.Send(frameNick, body); err != nil {
			n.logf("telling %s the new nickname: %v", l.key, err)
		}
	}
	return nil
}

// ListenAddr returns the link listener's address, or "" before Run listens.
func (n *Node) ListenAddr() string {
	select {
	case <-n.listening: // n.addr is set before listening closes
		return n.addr.String()
	default:
		return ""
	}
}

// InRoom reports whether the node is in the room (a normal name).
func (n *Node) InRoom(name string) bool { return n.room(name) != nil }
