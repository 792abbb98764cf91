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
	k, err := db.ring()
	if err != nil {
		return TrustedPeer{}, false, fmt.Errorf("look up %s: %w", fp.Short(), err)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketTrusted).Get(fp[:])
		if v == nil {
			return nil
		}
		found = true
		var err error
		p, err = k.openPeer(fp, v)
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
	ring, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("read trust list: %w", err)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTrusted).ForEach(func(k, v []byte) error {
			if len(k) != len(lcrypto.Fingerprint{}) {
				return fmt.Errorf("%w: trust list key of %d bytes", ErrRecord, len(k))
			}
			p, err := ring.openPeer(lcrypto.Fingerprint(k), v)
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
	err := db.updatePeer(fp, func(p *TrustedPeer, found bool) bool {
		if !found || !seen.After(p.LastSeen) {
			return false
		}
		p.LastSeen = seen
		return true
	})
	if err != nil {
		return fmt.Errorf("touch %s: %w", fp.Short(), err)
	}
	return nil
}

// updatePeer reads fp's entry, lets change edit it, and writes it back if
// change returns true. change sees found=false for a peer not on the list;
// only Trust may create one, others get ErrNotTrusted.
func (db *DB) updatePeer(fp lcrypto.Fingerprint, change func(p *TrustedPeer, found bool) bool) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	return db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTrusted)
		var p TrustedPeer
		v := b.Get(fp[:])
		if v != nil {
			var err error
			if p, err = k.openPeer(fp, v); err != nil {
				return err
			}
		}
		if !change(&p, v != nil) {
			if v == nil {
				return ErrNotTrusted
			}
			return nil
		}
		nv, err := encodeTrustedPeer(p)
		if err != nil {
			return err
		}
		return b.Put(fp[:], k.seal(nv, recordAD(fp[:], bucketTrusted)))
	})
}

// openPeer opens a trusted-peer record sealed under its fingerprint
// (schema 2 keeps the record below sealed, see sealed.go).
func (k *keyring) openPeer(fp lcrypto.Fingerprint, sealed []byte) (TrustedPeer, error) {
	v, err := k.open(sealed, recordAD(fp[:], bucketTrusted))
	if err != nil {
		return TrustedPeer{}, fmt.Errorf("trusted peer %s: %w", fp.Short(), err)
	}
	return decodeTrustedPeer(fp, v)
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
