package storage

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/chacha20poly1305"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Sealed records (schema 2). Everything a user wrote or received — message
// bodies, room names, nicknames, trusted-peer names — is encrypted in the
// file with a random 32-byte data key. The data key is kept in the meta
// bucket, sealed with the passphrase (crypto.Seal: argon2id → a
// key-encryption key → XChaCha20-Poly1305), or in the clear for a node made
// with --no-passphrase. Changing the passphrase re-seals that one key.
//
// A sealed record is
//
//	version  byte  1
//	nonce    24    random
//	ciphertext     XChaCha20-Poly1305 of the plain record, 16-byte tag
//
// with the record's position as additional data: recordAD(bucket path,
// key). A record moved to another key or bucket, or altered, fails to open
// (ErrDamaged) and is shown as damaged, never as genuine.
//
// Rooms are named in the file by a room id, HMAC-SHA256(index key, name)
// cut to 16 bytes: equal names give equal ids (so a message finds its room
// without a scan), and the id says nothing about the name without the key.
const (
	sealedVersion  = 1
	sealedOverhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	dataKeySize    = 32
	roomIDSize     = 16

	dataKeyVersion = 1
	dataKeyPlain   = 0 // the key follows in the clear (--no-passphrase)
	dataKeySealed  = 1 // crypto.Seal(key, passphrase) follows
)

// Domain separation of the keys derived from the data key.
const (
	labelRecordKey = "lanchat/v1/storage/record-key"
	labelIndexKey  = "lanchat/v1/storage/room-id"
	labelRecordAD  = "lanchat/v1/storage/record"
)

var keyDataKey = []byte("datakey")

// Errors of sealed records.
var (
	// ErrSealed: the data key is needed (to read or write history, names,
	// nicknames) and the database has not been unlocked.
	ErrSealed = errors.New("the history is sealed: the passphrase is needed to unlock it")
	// ErrDamaged: a sealed record does not open: it was altered or moved on
	// disk. It is reported, never shown as genuine.
	ErrDamaged = errors.New("a sealed record was altered on disk")
	// ErrNoDataKey: a schema-2 file without its data key.
	ErrNoDataKey = errors.New("the database has no data key")
)

// keyring is an unlocked data key: the AEAD of records and the key of
// room ids.
type keyring struct {
	aead  cipher.AEAD
	index []byte
	box   *ecdh.PrivateKey // opens what was sealed to the data key's public key
	raw   []byte           // the data key itself, for re-sealing

	// roomIDs remembers roomID's answers, up to maxCachedRoomIDs rooms:
	// every read or write of a room names it, and an HMAC costs a
	// kilobyte of garbage each time (a link coming up reads each shared
	// room several times).
	roomIDs     sync.Map // room → [roomIDSize]byte
	roomIDCount atomic.Int32
}

// maxCachedRoomIDs bounds the room ids a keyring remembers (a node's rooms
// and conversations are far fewer; names a peer sends are not all kept).
const maxCachedRoomIDs = 4096

func newKeyring(dataKey []byte) (*keyring, error) {
	if len(dataKey) != dataKeySize {
		return nil, fmt.Errorf("%w: data key of %d bytes", ErrCorrupt, len(dataKey))
	}
	aead, err := chacha20poly1305.NewX(derive(dataKey, labelRecordKey))
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	box, err := ecdh.X25519().NewPrivateKey(derive(dataKey, labelBoxKey))
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return &keyring{aead: aead, index: derive(dataKey, labelIndexKey), box: box, raw: bytes.Clone(dataKey)}, nil
}

// Sealed to the data key's public key (version 2): what a command without
// the passphrase writes (a trusted peer's name), which only the data key
// opens:
//
//	version  byte  2
//	eph      32    an ephemeral X25519 public key
//	nonce    24    random
//	ciphertext     XChaCha20-Poly1305 under HMAC-SHA256(X25519(eph, pub),
//	               labelBoxSeal ‖ eph ‖ pub), the position as AD
const (
	sealedToKeyVersion = 2
	labelBoxKey        = "lanchat/v1/storage/box-key"
	labelBoxSeal       = "lanchat/v1/storage/box-seal"
)

var keyDataPub = []byte("datapub")

func boxKey(shared, eph, pub []byte) []byte {
	return derive(shared, labelBoxSeal+string(eph)+string(pub))
}

// sealTo seals plain for position ad to the data key's public key pub.
func sealTo(pub *ecdh.PublicKey, plain, ad []byte) []byte {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("storage: no randomness: %v", err))
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		panic(fmt.Sprintf("storage: X25519: %v", err)) // pub was checked when read
	}
	aead, err := chacha20poly1305.NewX(boxKey(shared, eph.PublicKey().Bytes(), pub.Bytes()))
	if err != nil {
		panic(err)
	}
	out := append([]byte{sealedToKeyVersion}, eph.PublicKey().Bytes()...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("storage: no randomness: %v", err))
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, ad)
}

func (k *keyring) openBox(sealed, ad []byte) ([]byte, error) {
	const head = 1 + 32 + chacha20poly1305.NonceSizeX
	if len(sealed) < head+chacha20poly1305.Overhead {
		return nil, ErrDamaged
	}
	eph, err := ecdh.X25519().NewPublicKey(sealed[1:33])
	if err != nil {
		return nil, ErrDamaged
	}
	shared, err := k.box.ECDH(eph)
	if err != nil {
		return nil, ErrDamaged
	}
	aead, err := chacha20poly1305.NewX(boxKey(shared, sealed[1:33], k.box.PublicKey().Bytes()))
	if err != nil {
		return nil, ErrDamaged
	}
	plain, err := aead.Open(nil, sealed[33:head], sealed[head:], ad)
	if err != nil {
		return nil, ErrDamaged
	}
	return plain, nil
}

// writeKey seals what a command writes: with the data key when it is open
// (or in the clear), else to its public key, so that writing a name needs
// no passphrase.
type writeKey struct {
	k   *keyring
	pub *ecdh.PublicKey
}

func (w writeKey) seal(plain, ad []byte) []byte {
	if w.k != nil {
		return w.k.seal(plain, ad)
	}
	return sealTo(w.pub, plain, ad)
}

// writeKey returns the key to seal writes with; call it outside a
// transaction.
func (db *DB) writeKey() (writeKey, error) {
	if k := db.readRing(); k != nil {
		return writeKey{k: k}, nil
	}
	var pub []byte
	if err := db.view(func(tx *bbolt.Tx) error {
		pub = bytes.Clone(tx.Bucket(bucketMeta).Get(keyDataPub))
		return nil
	}); err != nil {
		return writeKey{}, err
	}
	if pub == nil { // no data key yet, or one without a public key
		k, err := db.ring()
		return writeKey{k: k}, err
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return writeKey{}, fmt.Errorf("%w: the data key's public key: %w", ErrCorrupt, err)
	}
	return writeKey{pub: p}, nil
}

// readRing returns the data key if it opens without asking: unlocked
// already, or kept in the clear; else nil.
func (db *DB) readRing() *keyring {
	if k := db.keys.Load(); k != nil {
		return k
	}
	info, err := db.DataKey()
	switch {
	case err != nil || !info.Exists:
		return nil
	case !info.Sealed:
		k, _ := db.ring()
		return k
	}
	db.unlockMu.Lock()
	quiet := db.quiet
	db.quiet = nil // tried once
	db.unlockMu.Unlock()
	if quiet == nil {
		return nil
	}
	if pass := quiet(); pass != nil {
		_ = db.Unlock(pass) // a wrong one leaves the names sealed
		clear(pass)
	}
	return db.keys.Load()
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// recordAD is the additional data of a record: a label, then each bucket
// name and the key, each behind a 2-byte length.
func recordAD(key []byte, path ...[]byte) []byte {
	ad := append([]byte(nil), labelRecordAD...)
	for _, p := range append(path, key) {
		ad = binary.BigEndian.AppendUint16(ad, uint16(len(p)))
		ad = append(ad, p...)
	}
	return ad
}

// seal encrypts plain for the position ad.
func (k *keyring) seal(plain, ad []byte) []byte {
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, sealedOverhead+len(plain))
	out[0] = sealedVersion
	if _, err := rand.Read(out[1:]); err != nil {
		panic(fmt.Sprintf("storage: no randomness: %v", err)) // crypto/rand never fails on supported systems
	}
	return k.aead.Seal(out, out[1:1+chacha20poly1305.NonceSizeX], plain, ad)
}

// open decrypts a sealed record stored at position ad, or ErrDamaged.
func (k *keyring) open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) > 0 && sealed[0] == sealedToKeyVersion {
		return k.openBox(sealed, ad)
	}
	if len(sealed) < sealedOverhead || sealed[0] != sealedVersion {
		return nil, ErrDamaged
	}
	plain, err := k.aead.Open(nil, sealed[1:1+chacha20poly1305.NonceSizeX], sealed[1+chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return nil, ErrDamaged
	}
	return plain, nil
}

// roomID names room in the file. The caller may keep or change the slice.
func (k *keyring) roomID(room string) []byte {
	if id, ok := k.roomIDs.Load(room); ok {
		a := id.([roomIDSize]byte)
		return a[:]
	}
	id := computeRoomID(k.index, room)
	if k.roomIDCount.Load() < maxCachedRoomIDs {
		if _, loaded := k.roomIDs.LoadOrStore(room, [roomIDSize]byte(id)); !loaded {
			k.roomIDCount.Add(1)
		}
	}
	return id
}

// computeRoomID is roomID without the cache: HMAC-SHA256(index key, room),
// cut to roomIDSize bytes.
func computeRoomID(index []byte, room string) []byte {
	m := hmac.New(sha256.New, index)
	m.Write([]byte(room))
	return m.Sum(nil)[:roomIDSize]
}

// DataKeyInfo says how the data key is kept.
type DataKeyInfo struct {
	Exists bool // false: a file not set up yet
	Sealed bool // sealed with the passphrase; false: in the clear (--no-passphrase)
}

// encodeDataKey: version byte 1 | kind byte | the key (plain) or its
// crypto.Seal blob (sealed).
func encodeDataKey(kind byte, blob []byte) []byte {
	return append([]byte{dataKeyVersion, kind}, blob...)
}

func decodeDataKey(v []byte) (kind byte, blob []byte, err error) {
	if len(v) < 2 || v[0] != dataKeyVersion || v[1] > dataKeySealed {
		return 0, nil, fmt.Errorf("%w: data key record unreadable", ErrCorrupt)
	}
	if v[1] == dataKeyPlain && len(v) != 2+dataKeySize {
		return 0, nil, fmt.Errorf("%w: plain data key of %d bytes", ErrCorrupt, len(v)-2)
	}
	return v[1], bytes.Clone(v[2:]), nil
}

// readDataKey returns the stored data key record (nil, nil when none).
func readDataKey(tx *bbolt.Tx) (kind byte, blob []byte, err error) {
	v := tx.Bucket(bucketMeta).Get(keyDataKey)
	if v == nil {
		return 0, nil, ErrNoDataKey
	}
	return decodeDataKey(v)
}

// DataKey reports how the data key is kept, without unlocking it.
func (db *DB) DataKey() (DataKeyInfo, error) {
	var info DataKeyInfo
	err := db.view(func(tx *bbolt.Tx) error {
		kind, _, err := readDataKey(tx)
		if errors.Is(err, ErrNoDataKey) {
			return nil
		}
		info = DataKeyInfo{Exists: err == nil, Sealed: kind == dataKeySealed}
		return err
	})
	return info, err
}

// Unlock opens the data key with passphrase (ignored when the key is kept
// in the clear). A wrong passphrase is crypto.ErrWrongPassphrase and
// changes nothing.
func (db *DB) Unlock(passphrase []byte) error {
	var kind byte
	var blob []byte
	err := db.view(func(tx *bbolt.Tx) (err error) {
		kind, blob, err = readDataKey(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("unlock the history: %w", err)
	}
	key := blob
	if kind == dataKeySealed {
		if key, err = lcrypto.Unseal(blob, passphrase); err != nil {
			return fmt.Errorf("unlock the history: %w", err)
		}
		defer clear(key)
	}
	k, err := newKeyring(key)
	if err != nil {
		return err
	}
	db.keys.Store(k)
	return nil
}

// UnlockNow opens the data key now (asking the unlocker if it must), for
// a caller about to read what is sealed.
func (db *DB) UnlockNow() error {
	_, err := db.ring()
	return err
}

// SetQuietPassphrase gives the database a passphrase it may try, without
// asking anyone, when it reads something sealed that it can also show
// sealed (a nickname, a trusted peer's name): nil from quiet means none.
func (db *DB) SetQuietPassphrase(quiet func() []byte) {
	db.unlockMu.Lock()
	defer db.unlockMu.Unlock()
	db.quiet = quiet
}

// Unlocked reports whether the data key is open.
func (db *DB) Unlocked() bool { return db.keys.Load() != nil }

// SetUnlocker gives the database a way to ask for the passphrase the first
// time the data key is needed (a command that reads history without a
// running node). Without one, a sealed key that is needed gives ErrSealed.
func (db *DB) SetUnlocker(ask func() ([]byte, error)) {
	db.unlockMu.Lock()
	defer db.unlockMu.Unlock()
	db.unlocker = ask
}

// ring returns the open data key: unlocked already, kept in the clear,
// created in the clear on a file that has none yet (a new database: init
// seals it), or unlocked with the unlocker.
func (db *DB) ring() (*keyring, error) {
	if k := db.keys.Load(); k != nil {
		return k, nil
	}
	db.unlockMu.Lock()
	defer db.unlockMu.Unlock()
	if k := db.keys.Load(); k != nil {
		return k, nil
	}
	info, err := db.DataKey()
	if err != nil {
		return nil, err
	}
	switch {
	case !info.Exists:
		if err := db.createDataKey(nil, lcrypto.KDFParams{}); err != nil {
			return nil, err
		}
	case info.Sealed && db.unlocker == nil:
		return nil, ErrSealed
	case info.Sealed:
		pass, err := db.unlocker()
		if err != nil {
			return nil, err
		}
		err = db.Unlock(pass)
		clear(pass)
		if err != nil {
			return nil, err
		}
	default:
		if err := db.Unlock(nil); err != nil {
			return nil, err
		}
	}
	return db.keys.Load(), nil
}

// createDataKey makes a new data key, sealed with passphrase (nil: in the
// clear), stores it and unlocks it. It refuses to replace an existing key.
func (db *DB) createDataKey(passphrase []byte, p lcrypto.KDFParams) error {
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("data key: %w", err)
	}
	defer clear(key)
	rec, err := sealDataKey(key, passphrase, p)
	if err != nil {
		return err
	}
	k, err := newKeyring(key)
	if err != nil {
		return err
	}
	err = db.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyDataKey) != nil {
			return fmt.Errorf("%w: a data key exists already", ErrRecord)
		}
		if err := tx.Bucket(bucketMeta).Put(keyDataPub, k.box.PublicKey().Bytes()); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyDataKey, rec)
	})
	if err != nil {
		return fmt.Errorf("store the data key: %w", err)
	}
	db.keys.Store(k)
	return nil
}

func sealDataKey(key, passphrase []byte, p lcrypto.KDFParams) ([]byte, error) {
	if passphrase == nil {
		return encodeDataKey(dataKeyPlain, key), nil
	}
	blob, err := lcrypto.Seal(key, passphrase, p, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seal the data key: %w", err)
	}
	return encodeDataKey(dataKeySealed, blob), nil
}

// SealDataKey keeps the (unlocked) data key sealed with passphrase from now
// on (nil: in the clear), creating it on a new database. The file is then
// compacted, so the free pages do not keep the key as it was.
func (db *DB) SealDataKey(passphrase []byte, p lcrypto.KDFParams) error {
	k, err := db.ring()
	if err != nil {
		return err
	}
	rec, err := sealDataKey(k.raw, passphrase, p)
	if err != nil {
		return err
	}
	if err := db.update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyDataKey, rec) }); err != nil {
		return fmt.Errorf("store the data key: %w", err)
	}
	return db.Compact()
}

// ChangePassphrase re-seals the data key and the identity's secret key
// with newPass (nil: keeps both in the clear), after checking that oldPass
// opens what is sealed now (oldPass is not looked at for what is in the
// clear). A wrong oldPass is crypto.ErrWrongPassphrase and writes nothing.
// The history is not re-encrypted: its data key stays. The file is then
// compacted, so the free pages do not keep the keys sealed the old way.
func (db *DB) ChangePassphrase(oldPass, newPass []byte, p lcrypto.KDFParams) error {
	var kind byte
	var blob, self []byte
	err := db.view(func(tx *bbolt.Tx) (err error) {
		if kind, blob, err = readDataKey(tx); err != nil {
			return err
		}
		self = bytes.Clone(tx.Bucket(bucketIdentity).Get(keySelf))
		return nil
	})
	if err != nil {
		return fmt.Errorf("change the passphrase: %w", err)
	}
	if self == nil {
		return fmt.Errorf("change the passphrase: %w", ErrNoIdentity)
	}
	rec, err := decodeIdentity(self)
	if err != nil {
		return fmt.Errorf("change the passphrase: %w", err)
	}
	key := blob
	if kind == dataKeySealed {
		if key, err = lcrypto.Unseal(blob, oldPass); err != nil {
			return fmt.Errorf("change the passphrase: %w", err)
		}
	}
	defer clear(key)
	secret := rec.Secret
	if rec.Sealed {
		if secret, err = lcrypto.Unseal(rec.Secret, oldPass); err != nil {
			return fmt.Errorf("change the passphrase: %w", err)
		}
	}
	defer clear(secret)
	keyRec, err := sealDataKey(key, newPass, p)
	if err != nil {
		return err
	}
	rec.Secret, rec.Sealed = bytes.Clone(secret), false
	if newPass != nil {
		if rec.Secret, err = lcrypto.Seal(secret, newPass, p, rand.Reader); err != nil {
			return fmt.Errorf("change the passphrase: %w", err)
		}
		rec.Sealed = true
	}
	enc, err := encodeIdentity(rec)
	if err != nil {
		return fmt.Errorf("change the passphrase: %w", err)
	}
	err = db.update(func(tx *bbolt.Tx) error {
		if !bytes.Equal(tx.Bucket(bucketIdentity).Get(keySelf), self) {
			return fmt.Errorf("the identity changed meanwhile; try again")
		}
		if err := tx.Bucket(bucketMeta).Put(keyDataKey, keyRec); err != nil {
			return err
		}
		return tx.Bucket(bucketIdentity).Put(keySelf, enc)
	})
	if err != nil {
		return fmt.Errorf("change the passphrase: %w", err)
	}
	k, err := newKeyring(key)
	if err != nil {
		return err
	}
	db.keys.Store(k)
	return db.Compact()
}
