package chat

import (
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// The trust list holds fingerprints (hashes of identity keys); an invite to
// a private room names the key itself. A key is known once the peer was
// linked or its beacon heard (by a running node), or it wrote a stored
// message in any room or conversation.

// storedKeys returns every author key of the store's rooms, by fingerprint.
func storedKeys(store *storage.DB) (map[lcrypto.Fingerprint]lcrypto.IdentityKey, error) {
	rooms, err := store.MessageRooms()
	if err != nil {
		return nil, err
	}
	out := map[lcrypto.Fingerprint]lcrypto.IdentityKey{}
	for _, r := range rooms {
		st, err := store.RoomState(r)
		if err != nil {
			return nil, err
		}
		for a := range st.Heads {
			k := lcrypto.IdentityKey(a)
			out[k.Fingerprint()] = k
		}
	}
	return out, nil
}

// ErrKeyUnknown is returned for a trusted peer whose identity key this node
// has not learnt yet.
var ErrKeyUnknown = fmt.Errorf("%w: its identity key is not known yet", ErrNoPeer)

// KeyOfIn finds the identity key of fp in a store alone.
func KeyOfIn(store *storage.DB, fp lcrypto.Fingerprint) (lcrypto.IdentityKey, error) {
	keys, err := storedKeys(store)
	if err != nil {
		return lcrypto.IdentityKey{}, err
	}
	if k, ok := keys[fp]; ok {
		return k, nil
	}
	return lcrypto.IdentityKey{}, fmt.Errorf("%w (%s: it is learnt once the peer has linked with this node)", ErrKeyUnknown, fp.Short())
}

// KeyOf finds the identity key of fp: a linked peer's, a heard beacon's, or
// a stored author's.
func (n *Node) KeyOf(fp lcrypto.Fingerprint) (lcrypto.IdentityKey, error) {
	for _, l := range n.allLinks() {
		if l.key.Fingerprint() == fp {
			return l.key, nil
		}
	}
	if disc := n.disc.Load(); disc != nil {
		for _, p := range disc.Peers() {
			if p.Key.Fingerprint() == fp {
				return p.Key, nil
			}
		}
	}
	return KeyOfIn(n.store, fp)
}
