package storage

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// TrustedPeer is an entry of the trust list: a peer this node links with.
type TrustedPeer struct {
	Fingerprint lcrypto.Fingerprint
	Name        string    // chosen by the user at trust time; may be empty
	AddedAt     time.Time // when it was trusted
	LastSeen    time.Time // last link up (see TouchPeer); zero if never
	// NameSealed is set when the name is sealed and the data key is not
	// unlocked: Name is then empty.
	NameSealed bool
}

// Trust adds fp to the trust list with name (which may be empty). If fp is
// already trusted, it keeps its entry, takes the new name if one is given,
// and added is false. The node's own fingerprint gives ErrSelf.
func (db *DB) Trust(fp lcrypto.Fingerprint, name string) (added bool, err error) {
	if fp.IsZero() {
		return false, fmt.Errorf("trust: %w: fingerprint is all zeros", ErrRecord)
	}
	if err := CheckName(name); err != nil {
		return false, fmt.Errorf("trust: %w", err)
	}
	self, err := db.Identity()
	switch {
	case err == nil && self.Key.Fingerprint() == fp:
		return false, fmt.Errorf("trust %s: %w", fp.Short(), ErrSelf)
	case err != nil && !errors.Is(err, ErrNoIdentity):
		return false, fmt.Errorf("trust %s: %w", fp.Short(), err)
	}
	err = db.updatePeer(fp, func(p *TrustedPeer, found bool) bool {
		added = !found
		if !found {
			*p = TrustedPeer{Fingerprint: fp, Name: name, AddedAt: db.now()}
			return true
		}
		if name == "" || name == p.Name {
			return false
		}
		p.Name = name
		return true
	})
	if err != nil {
		return false, fmt.Errorf("trust %s: %w", fp.Short(), err)
	}
	return added, nil
}

// Untrust removes fp from the trust list, or returns ErrNotTrusted.
func (db *DB) Untrust(fp lcrypto.Fingerprint) error {
	err := db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTrusted)
		if b.Get(fp[:]) == nil {
			return ErrNotTrusted
		}
		if err := forgetAddrs(tx, fp); err != nil {
			return err
		}
		return b.Delete(fp[:])
	})
	if err != nil {
		return fmt.Errorf("untrust %s: %w", fp.Short(), err)
	}
	return nil
}

// IsTrusted returns fp's entry and whether it is on the trust list.
func (db *DB) IsTrusted(fp lcrypto.Fingerprint) (TrustedPeer, bool, error) {
	var p TrustedPeer
	var found bool
	k := db.readRing()
	err := db.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketTrusted).Get(fp[:])
		if v == nil {
			return nil
		}
		found = true
		var err error
		p, _, err = decodeSealedPeer(fp, v, k)
		return err
	})
	if err != nil {
		return TrustedPeer{}, false, fmt.Errorf("look up %s: %w", fp.Short(), err)
	}
	return p, found, nil
}

// TrustedPeers returns the trust list in fingerprint byte order.
func (db *DB) TrustedPeers() ([]TrustedPeer, error) {
	var peers []TrustedPeer
	ring := db.readRing()
	err := db.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTrusted).ForEach(func(k, v []byte) error {
			if len(k) != len(lcrypto.Fingerprint{}) {
				return fmt.Errorf("%w: trust list key of %d bytes", ErrRecord, len(k))
			}
			p, _, err := decodeSealedPeer(lcrypto.Fingerprint(k), v, ring)
			if err != nil {
				return err
			}
			peers = append(peers, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read trust list: %w", err)
	}
	return peers, nil
}

// TouchPeer records that fp was seen at seen (a link came up). An earlier
// time than the stored one is ignored. ErrNotTrusted if fp is not trusted.
func (db *DB) TouchPeer(fp lcrypto.Fingerprint, seen time.Time) error {
	if err := db.updatePeer(fp, touch(seen)); err != nil {
		return fmt.Errorf("touch %s: %w", fp.Short(), err)
	}
	return nil
}

// touch is TouchPeer's change: a later last-seen time.
func touch(seen time.Time) func(p *TrustedPeer, found bool) bool {
	return func(p *TrustedPeer, found bool) bool {
		if !found || !seen.After(p.LastSeen) {
			return false
		}
		p.LastSeen = seen
		return true
	}
}

// updatePeer reads fp's entry, lets change edit it, and writes it back if
// change returns true. change sees found=false for a peer not on the list;
// only Trust may create one, others get ErrNotTrusted.
func (db *DB) updatePeer(fp lcrypto.Fingerprint, change func(p *TrustedPeer, found bool) bool) error {
	wk, err := db.writeKey()
	if err != nil {
		return err
	}
	k := db.readRing()
	return db.update(func(tx *bbolt.Tx) error { return updatePeerTx(tx, wk, k, fp, change) })
}

// updatePeerTx is updatePeer inside tx, with the keys it needs: wk to seal
// a changed name, k to open the stored one.
func updatePeerTx(tx *bbolt.Tx, wk writeKey, k *keyring, fp lcrypto.Fingerprint, change func(p *TrustedPeer, found bool) bool) error {
	b := tx.Bucket(bucketTrusted)
	var p TrustedPeer
	var sealedName []byte
	v := b.Get(fp[:])
	if v != nil {
		var err error
		if p, sealedName, err = decodeSealedPeer(fp, v, k); err != nil {
			return err
		}
	}
	name := p.Name
	if !change(&p, v != nil) {
		if v == nil {
			return ErrNotTrusted
		}
		return nil
	}
	if err := CheckName(p.Name); err != nil {
		return err
	}
	if v == nil || p.Name != name {
		sealedName = wk.seal([]byte(p.Name), recordAD(fp[:], bucketTrusted))
	}
	return b.Put(fp[:], encodeSealedPeer(p, sealedName))
}

// Trusted-peer record as stored from schema 2 on (integers big-endian):
//
//	version  byte  2
//	added    u64   Unix nanoseconds
//	lastSeen u64   Unix nanoseconds (0: never)
//	name           the name, sealed (sealed.go): with the data key, or to
//	               its public key by a command that had no passphrase
//
// The name is the one thing in it a user wrote; the times stay in the
// clear, so that trust and a link coming up need no passphrase.
const sealedPeerVersion = 2

func encodeSealedPeer(p TrustedPeer, sealedName []byte) []byte {
	b := []byte{sealedPeerVersion}
	b = appendTime(b, p.AddedAt)
	b = appendTime(b, p.LastSeen)
	return append(b, sealedName...)
}

// decodeSealedPeer decodes a stored trusted-peer record, opening its name
// with k (nil: the name is left sealed, NameSealed set). It returns the
// sealed name too, to be kept as it is.
func decodeSealedPeer(fp lcrypto.Fingerprint, v []byte, k *keyring) (TrustedPeer, []byte, error) {
	rd := reader{b: v}
	if ver := rd.byte(); rd.err == nil && ver != sealedPeerVersion {
		return TrustedPeer{}, nil, fmt.Errorf("%w: trusted-peer record version %d", ErrRecord, ver)
	}
	p := TrustedPeer{Fingerprint: fp, AddedAt: rd.time(), LastSeen: rd.time()}
	if rd.err != nil {
		return TrustedPeer{}, nil, rd.err
	}
	sealedName := append([]byte(nil), rd.b...)
	if k == nil {
		p.NameSealed = true
		return p, sealedName, nil
	}
	name, err := k.open(sealedName, recordAD(fp[:], bucketTrusted))
	if err != nil {
		return TrustedPeer{}, nil, fmt.Errorf("trusted peer %s: its name: %w", fp.Short(), err)
	}
	if err := CheckName(string(name)); err != nil {
		return TrustedPeer{}, nil, err
	}
	p.Name = string(name)
	return p, sealedName, nil
}

// Trusted-peer record, version 1, keyed by the 32-byte fingerprint
// (integers big-endian):
//
//	version  byte  1
//	added    u64   Unix nanoseconds
//	lastSeen u64   Unix nanoseconds (0: never)
//	nameLen  byte  ≤ MaxNameLen, then the name (see CheckName)
const trustedVersion = 1

func encodeTrustedPeer(p TrustedPeer) ([]byte, error) {
	if err := CheckName(p.Name); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+8+8+1+len(p.Name))
	b = append(b, trustedVersion)
	b = appendTime(b, p.AddedAt)
	b = appendTime(b, p.LastSeen)
	b = append(b, byte(len(p.Name)))
	return append(b, p.Name...), nil
}

func decodeTrustedPeer(fp lcrypto.Fingerprint, v []byte) (TrustedPeer, error) {
	rd := reader{b: v}
	if ver := rd.byte(); rd.err == nil && ver != trustedVersion {
		return TrustedPeer{}, fmt.Errorf("%w: trusted-peer record version %d", ErrRecord, ver)
	}
	p := TrustedPeer{Fingerprint: fp, AddedAt: rd.time(), LastSeen: rd.time(), Name: rd.name()}
	if err := rd.done(); err != nil {
		return TrustedPeer{}, err
	}
	return p, nil
}
