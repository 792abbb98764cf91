package storage

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// IdentityRecord is the node's own identity as stored. The public keys are in
// the clear, so showing them needs no passphrase; the secret is sealed with
// one (crypto.Seal) unless the user chose otherwise.
type IdentityRecord struct {
	Key         lcrypto.IdentityKey   // Ed25519 public key: who this node is
	NoiseStatic [lcrypto.KeySize]byte // X25519 public key used in Noise handshakes
	Secret      []byte                // sealed blob if Sealed, else crypto.Identity.MarshalSecret
	Sealed      bool                  // Secret is sealed with a passphrase
	Nickname    string                // shown to trusted peers; may be empty
	Created     time.Time             // when the keys were made
	// NickLocked is set by Identity when the nickname is sealed and the
	// data key is not unlocked: Nickname is then empty.
	NickLocked bool
}

var keySelf = []byte("self")

// keyNick holds the nickname, sealed (schema 2): the identity record itself
// keeps an empty one.
var keyNick = []byte("nick")

// PutIdentity stores rec as the node's identity, replacing any earlier one.
// A zero Created is set to now. The nickname is sealed with the data key.
func (db *DB) PutIdentity(rec IdentityRecord) error {
	if rec.Created.IsZero() {
		rec.Created = db.now()
	}
	if err := checkIdentity(rec); err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	nick := rec.Nickname
	rec.Nickname = ""
	v, err := encodeIdentity(rec)
	if err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	k, err := db.ring()
	if err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	return db.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIdentity)
		if err := b.Put(keySelf, v); err != nil {
			return fmt.Errorf("store identity: %w", err)
		}
		if err := b.Put(keyNick, k.seal([]byte(nick), recordAD(keyNick, bucketIdentity))); err != nil {
			return fmt.Errorf("store identity: %w", err)
		}
		return nil
	})
}

// Identity returns the stored identity, or ErrNoIdentity.
func (db *DB) Identity() (IdentityRecord, error) {
	var rec IdentityRecord
	k := db.keys.Load()
	if info, err := db.DataKey(); k == nil && err == nil && info.Exists && !info.Sealed {
		k, _ = db.ring() // a key in the clear opens without asking
	}
	err := db.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIdentity)
		v := b.Get(keySelf)
		if v == nil {
			return ErrNoIdentity
		}
		var err error
		rec, err = decodeIdentity(v) // copies out of the transaction
		if err != nil {
			return err
		}
		sealed := b.Get(keyNick)
		switch {
		case sealed == nil:
		case k == nil:
			rec.NickLocked = true
		default:
			nick, err := k.open(sealed, recordAD(keyNick, bucketIdentity))
			if err != nil {
				return fmt.Errorf("the nickname: %w", err)
			}
			rec.Nickname = string(nick)
		}
		return nil
	})
	if err != nil {
		return IdentityRecord{}, fmt.Errorf("read identity: %w", err)
	}
	return rec, nil
}

// Identity record, version 1 (integers big-endian):
//
//	version   byte  1
//	flags     byte  bit 0: sealed; other bits zero
//	key       32    identity public key, not all zero
//	static    32    Noise static public key, not all zero
//	created   u64   Unix nanoseconds (0: unknown)
//	nickLen   byte  ≤ MaxNameLen, then the nickname (see CheckName)
//	secretLen u32   then the secret: crypto.SecretSize bytes if not sealed,
//	                1..crypto.MaxSealedSize if sealed
const (
	identityVersion = 1
	flagSealed      = 1 << 0
)

func encodeIdentity(r IdentityRecord) ([]byte, error) {
	if err := checkIdentity(r); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 2+2*lcrypto.KeySize+8+1+len(r.Nickname)+4+len(r.Secret))
	var flags byte
	if r.Sealed {
		flags |= flagSealed
	}
	b = append(b, identityVersion, flags)
	b = append(b, r.Key[:]...)
	b = append(b, r.NoiseStatic[:]...)
	b = appendTime(b, r.Created)
	b = append(b, byte(len(r.Nickname)))
	b = append(b, r.Nickname...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Secret)))
	return append(b, r.Secret...), nil
}

func decodeIdentity(v []byte) (IdentityRecord, error) {
	rd := reader{b: v}
	var r IdentityRecord
	if ver := rd.byte(); rd.err == nil && ver != identityVersion {
		return r, fmt.Errorf("%w: identity record version %d", ErrRecord, ver)
	}
	flags := rd.byte()
	copy(r.Key[:], rd.take(lcrypto.KeySize))
	copy(r.NoiseStatic[:], rd.take(lcrypto.KeySize))
	r.Created = rd.time()
	r.Nickname = rd.name()
	n := rd.uint32()
	if rd.err == nil && n > lcrypto.MaxSealedSize {
		return IdentityRecord{}, fmt.Errorf("%w: secret of %d bytes", ErrRecord, n)
	}
	r.Secret = append([]byte(nil), rd.take(int(n))...)
	if err := rd.done(); err != nil {
		return IdentityRecord{}, err
	}
	if flags&^flagSealed != 0 {
		return IdentityRecord{}, fmt.Errorf("%w: unknown identity flags %#x", ErrRecord, flags)
	}
	r.Sealed = flags&flagSealed != 0
	if err := checkIdentity(r); err != nil {
		return IdentityRecord{}, err
	}
	return r, nil
}

func checkIdentity(r IdentityRecord) error {
	switch {
	case r.Key.IsZero():
		return fmt.Errorf("%w: identity key is all zeros", ErrRecord)
	case r.NoiseStatic == [lcrypto.KeySize]byte{}:
		return fmt.Errorf("%w: noise static key is all zeros", ErrRecord)
	case !r.Sealed && len(r.Secret) != lcrypto.SecretSize:
		return fmt.Errorf("%w: unsealed secret of %d bytes, want %d", ErrRecord, len(r.Secret), lcrypto.SecretSize)
	case r.Sealed && (len(r.Secret) == 0 || len(r.Secret) > lcrypto.MaxSealedSize):
		return fmt.Errorf("%w: sealed secret of %d bytes", ErrRecord, len(r.Secret))
	}
	return CheckName(r.Nickname)
}
