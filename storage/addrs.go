package storage

import (
	"fmt"
	"net/netip"
	"slices"

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

// Peer-address record, version 1, keyed by the 32-byte fingerprint:
//
//	version  byte  1
//	count    byte  1..MaxPeerAddrs
//	count ×  (len byte, then "IP:port" text as netip.AddrPort prints it), latest first
const addrsVersion = 1

// RememberAddr records that the trusted peer fp was linked at addr: it
// becomes the first of its addresses, at most MaxPeerAddrs are kept. A
// peer not on the trust list gives ErrNotTrusted.
func (db *DB) RememberAddr(fp lcrypto.Fingerprint, addr netip.AddrPort) error {
	if !addr.IsValid() || addr.Port() == 0 {
		return fmt.Errorf("remember %s: %w: address %v", fp.Short(), ErrRecord, addr)
	}
	err := db.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketTrusted).Get(fp[:]) == nil {
			return ErrNotTrusted
		}
		b, err := tx.CreateBucketIfNotExists(bucketAddrs)
		if err != nil {
			return err
		}
		var list []netip.AddrPort
		if v := b.Get(fp[:]); v != nil {
			if list, err = decodeAddrs(v); err != nil {
				return err
			}
		}
		if len(list) > 0 && list[0] == addr {
			return nil // nothing new: no write
		}
		list = slices.DeleteFunc(list, func(a netip.AddrPort) bool { return a == addr })
		list = append([]netip.AddrPort{addr}, list...)
		if len(list) > MaxPeerAddrs {
			list = list[:MaxPeerAddrs]
		}
		return b.Put(fp[:], encodeAddrs(list))
	})
	if err != nil {
		return fmt.Errorf("remember %s: %w", fp.Short(), err)
	}
	return nil
}

// PeerAddrs returns the remembered addresses of every trusted peer, latest
// first. Entries of peers no longer trusted are left out.
func (db *DB) PeerAddrs() (map[lcrypto.Fingerprint][]netip.AddrPort, error) {
	out := map[lcrypto.Fingerprint][]netip.AddrPort{}
	err := db.view(func(tx *bbolt.Tx) error {
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
			list, err := decodeAddrs(v)
			if err != nil {
				return err
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
