package storage

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// bucketAddrs holds the addresses trusted peers were last linked at, so a
// restarted node can try them where broadcast and multicast both fail. It
// is optional: created by the first RememberAddr, absent in files written
// before it (and read as empty), so it needs no schema step and an older
// lanchat opens the file as ever (it ignores the bucket).
var bucketAddrs = []byte("addrs")

// MaxPeerAddrs is how many addresses are remembered per peer.
const MaxPeerAddrs = 4

// Peer-address record, version 1, keyed by the 32-byte fingerprint, sealed
// with the data key (AD: the bucket and the fingerprint) since the addresses
// tell where and when a trusted peer was:
//
//	version  byte  1
//	count    byte  1..MaxPeerAddrs
//	count ×  (len byte, then "IP:port" text as netip.AddrPort prints it), latest first
//
// Files written before the addresses were sealed hold the record in the
// clear: it is still read, and the first RememberAddr re-seals every such
// record of the bucket in its transaction.
const addrsVersion = 1

// openAddrs decodes the stored value v of fingerprint key fp: sealed, or
// in the clear as an older lanchat wrote it (legacy true).
func openAddrs(k *keyring, fp, v []byte) (list []netip.AddrPort, legacy bool, err error) {
	if plain, err := k.open(v, recordAD(fp, bucketAddrs)); err == nil {
		list, err := decodeAddrs(plain)
		return list, false, err
	}
	list, err = decodeAddrs(v)
	if err != nil {
		return nil, false, fmt.Errorf("%w (%w)", err, ErrDamaged)
	}
	return list, true, nil
}

// sealLegacyAddrs re-seals the records of b still in the clear.
func sealLegacyAddrs(k *keyring, b *bbolt.Bucket) error {
	resealed := map[string][]byte{}
	err := b.ForEach(func(fp, v []byte) error {
		if list, legacy, err := openAddrs(k, fp, v); err == nil && legacy {
			resealed[string(fp)] = k.seal(encodeAddrs(list), recordAD(fp, bucketAddrs))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for fp, v := range resealed {
		if err := b.Put([]byte(fp), v); err != nil {
			return err
		}
	}
	return nil
}

// RememberAddr records that the trusted peer fp was linked at addr: it
// becomes the first of its addresses, at most MaxPeerAddrs are kept. A
// peer not on the trust list gives ErrNotTrusted.
func (db *DB) RememberAddr(fp lcrypto.Fingerprint, addr netip.AddrPort) error {
	if !addr.IsValid() || addr.Port() == 0 {
		return fmt.Errorf("remember %s: %w: address %v", fp.Short(), ErrRecord, addr)
	}
	k, err := db.ring()
	if err != nil {
		return fmt.Errorf("remember %s: %w", fp.Short(), err)
	}
	if err := db.update(func(tx *bbolt.Tx) error { return rememberAddrTx(tx, k, fp, addr) }); err != nil {
		return fmt.Errorf("remember %s: %w", fp.Short(), err)
	}
	return nil
}

// rememberAddrTx is RememberAddr inside tx.
func rememberAddrTx(tx *bbolt.Tx, k *keyring, fp lcrypto.Fingerprint, addr netip.AddrPort) error {
	if tx.Bucket(bucketTrusted).Get(fp[:]) == nil {
		return ErrNotTrusted
	}
	b, err := tx.CreateBucketIfNotExists(bucketAddrs)
	if err != nil {
		return err
	}
	var list []netip.AddrPort
	legacy := false
	if v := b.Get(fp[:]); v != nil {
		list, legacy, err = openAddrs(k, fp[:], v)
		if errors.Is(err, ErrDamaged) {
			list, err = nil, nil // a damaged hint is replaced, never trusted
		}
		if err != nil {
			return err
		}
	}
	if err := sealLegacyAddrs(k, b); err != nil {
		return err
	}
	if len(list) > 0 && list[0] == addr && !legacy {
		return nil // nothing new: no write
	}
	list = slices.DeleteFunc(list, func(a netip.AddrPort) bool { return a == addr })
	list = append([]netip.AddrPort{addr}, list...)
	if len(list) > MaxPeerAddrs {
		list = list[:MaxPeerAddrs]
	}
	return b.Put(fp[:], k.seal(encodeAddrs(list), recordAD(fp[:], bucketAddrs)))
}

// PeerLinked records that a link with the trusted peer fp came up at seen,
// in one transaction (one commit and one fsync where two were): TouchPeer's
// last-seen time and, unless addr is the zero AddrPort, RememberAddr's
// address. A peer not on the trust list gives ErrNotTrusted and changes
// nothing.
func (db *DB) PeerLinked(fp lcrypto.Fingerprint, seen time.Time, addr netip.AddrPort) error {
	if addr.IsValid() && addr.Port() == 0 {
		return fmt.Errorf("link with %s: %w: address %v", fp.Short(), ErrRecord, addr)
	}
	wk, err := db.writeKey()
	if err != nil {
		return fmt.Errorf("link with %s: %w", fp.Short(), err)
	}
	open := db.readRing()
	var k *keyring
	if addr.IsValid() {
		if k, err = db.ring(); err != nil {
			return fmt.Errorf("link with %s: %w", fp.Short(), err)
		}
	}
	err = db.update(func(tx *bbolt.Tx) error {
		if err := updatePeerTx(tx, wk, open, fp, touch(seen)); err != nil {
			return err
		}
		if !addr.IsValid() {
			return nil
		}
		return rememberAddrTx(tx, k, fp, addr)
	})
	if err != nil {
		return fmt.Errorf("link with %s: %w", fp.Short(), err)
	}
	return nil
}

// PeerAddrs returns the remembered addresses of every trusted peer, latest
// first. Entries of peers no longer trusted are left out.
func (db *DB) PeerAddrs() (map[lcrypto.Fingerprint][]netip.AddrPort, error) {
	out := map[lcrypto.Fingerprint][]netip.AddrPort{}
	ring, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("read peer addresses: %w", err)
	}
	err = db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAddrs)
		if b == nil {
			return nil
		}
		trusted := tx.Bucket(bucketTrusted)
		return b.ForEach(func(k, v []byte) error {
			if len(k) != len(lcrypto.Fingerprint{}) {
				return fmt.Errorf("%w: address key of %d bytes", ErrRecord, len(k))
			}
			if trusted.Get(k) == nil {
				return nil
			}
			list, _, err := openAddrs(ring, k, v)
			if err != nil {
				return nil // a damaged hint is left out (the next link replaces it)
			}
			out[lcrypto.Fingerprint(k)] = list
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read peer addresses: %w", err)
	}
	return out, nil
}

// forgetAddrs removes fp's addresses (inside an update transaction).
func forgetAddrs(tx *bbolt.Tx, fp lcrypto.Fingerprint) error {
	if b := tx.Bucket(bucketAddrs); b != nil {
		return b.Delete(fp[:])
	}
	return nil
}

func encodeAddrs(list []netip.AddrPort) []byte {
	b := []byte{addrsVersion, byte(len(list))}
	for _, a := range list {
		s := a.String()
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

func decodeAddrs(v []byte) ([]netip.AddrPort, error) {
	bad := func(why string) error { return fmt.Errorf("%w: peer-address record: %s", ErrRecord, why) }
	if len(v) < 2 || v[0] != addrsVersion {
		return nil, bad("version or length")
	}
	n, rest := int(v[1]), v[2:]
	if n < 1 || n > MaxPeerAddrs {
		return nil, bad(fmt.Sprintf("%d addresses", n))
	}
	list := make([]netip.AddrPort, 0, n)
	for range n {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, bad("truncated")
		}
		a, err := netip.ParseAddrPort(string(rest[1 : 1+int(rest[0])]))
		if err != nil || a.Port() == 0 || a.String() != string(rest[1:1+int(rest[0])]) {
			return nil, bad("not an address")
		}
		list = append(list, a)
		rest = rest[1+int(rest[0]):]
	}
	if len(rest) != 0 {
		return nil, bad("trailing bytes")
	}
	return list, nil
}
