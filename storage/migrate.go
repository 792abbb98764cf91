package storage

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Sealing a schema-1 database (written by lanchat before history was
// sealed, with every record in the clear). The sealed file is written
// beside the old one ("<db>.sealing"), then the old file gets a second
// name as its backup ("<db>.bak-<time>-plaintext", a hard link), then the
// new file is renamed over the old name. A crash (SIGKILL) at any point
// leaves the database either as it was or sealed, never half of each, and
// the next open starts over or is done: the old file is never written.

// sealBatch bounds the records one transaction of the migration writes;
// tests lower it to make many kill points.
var sealBatch = 20000

// migrateHook, when set (tests), is called at each step of a migration:
// after each committed batch ("batch"), before the backup link ("link"),
// before the rename ("rename") and after it ("renamed").
var migrateHook func(step string)

func hook(step string) {
	if migrateHook != nil {
		migrateHook(step)
	}
}

// sealLegacy rewrites the schema-1 database b (open read-write, so no one
// else writes it) at path sealed, and returns the backup's path. ask gives
// the passphrase when the legacy identity is sealed with one; it is checked
// against that identity before anything is written.
func sealLegacy(b *bbolt.DB, path string, ask func() ([]byte, error)) (string, error) {
	var id *IdentityRecord
	err := b.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketIdentity).Get(keySelf)
		if v == nil {
			return nil
		}
		rec, err := decodeIdentity(v)
		id = &rec
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sealing the history of an older lanchat: %w", err)
	}
	var pass []byte
	var kdf lcrypto.KDFParams
	if id != nil && id.Sealed {
		if ask == nil {
			return "", fmt.Errorf("%w (the database is from an older lanchat and is sealed on its first unlock)", ErrSealed)
		}
		if pass, err = ask(); err != nil {
			return "", err
		}
		defer clear(pass)
		secret, err := lcrypto.Unseal(id.Secret, pass)
		if err != nil {
			return "", fmt.Errorf("unlock your key: %w", err)
		}
		clear(secret)
		if kdf, err = lcrypto.SealedParams(id.Secret); err != nil {
			return "", err
		}
	}
	tmp := path + ".sealing"
	if err := writeSealed(b, tmp, pass, kdf); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("sealing the history of an older lanchat: %w", err)
	}
	hook("link")
	backup, err := linkBackup(path)
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("sealing the history: keeping a backup: %w", err)
	}
	hook("rename")
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("sealing the history: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	hook("renamed")
	return backup, nil
}

// linkBackup gives the file at path a second name,
// "<path>.bak-<time>-plaintext", and returns it. A name that an interrupted
// run already gave the same file is used again.
func linkBackup(path string) (string, error) {
	base := path + ".bak-" + time.Now().UTC().Format("20060102T150405Z")
	cur, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	for i := 1; i <= 100; i++ {
		name := base + "-plaintext"
		if i > 1 {
			name = fmt.Sprintf("%s-%d-plaintext", base, i)
		}
		err := os.Link(path, name)
		if err == nil {
			return name, syncDir(filepath.Dir(path))
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if info, err := os.Stat(name); err == nil && os.SameFile(cur, info) {
			return name, nil
		}
	}
	return "", fmt.Errorf("too many backups named %s-*", base)
}

// writeSealed writes the content of the schema-1 database src into a new
// file at path, sealed with a new data key (itself sealed with pass, or in
// the clear when pass is nil).
func writeSealed(src *bbolt.DB, path string, pass []byte, kdf lcrypto.KDFParams) error {
	dst, err := newFileBeside(path)
	if err != nil {
		return err
	}
	defer dst.Close()
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	defer clear(key)
	k, err := newKeyring(key)
	if err != nil {
		return err
	}
	rec, err := sealDataKey(key, pass, kdf)
	if err != nil {
		return err
	}
	w := &batchWriter{db: dst}
	// The schema is written last: a file without it is never taken for a
	// finished one (and it is renamed into place only when complete).
	if err := w.put(func(tx *bbolt.Tx) error {
		if err := setUp(tx, fileState{fresh: true}, migrations[:1]); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyDataPub, k.box.PublicKey().Bytes()); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyDataKey, rec)
	}); err != nil {
		return err
	}
	err = src.View(func(tx *bbolt.Tx) error {
		return copyLegacy(tx, k, w)
	})
	if err != nil {
		return err
	}
	if err := w.put(func(tx *bbolt.Tx) error { return putSchema(tx, SchemaVersion) }); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	return dst.Close()
}

// batchWriter groups puts into transactions of sealBatch records.
type batchWriter struct {
	db      *bbolt.DB
	pending []func(tx *bbolt.Tx) error
}

func (w *batchWriter) put(fn func(tx *bbolt.Tx) error) error {
	w.pending = append(w.pending, fn)
	if len(w.pending) >= sealBatch {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.db.Update(func(tx *bbolt.Tx) error {
		for _, fn := range w.pending {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	w.pending = w.pending[:0]
	if err == nil {
		hook("batch")
	}
	return err
}

// putAt returns a put of value v under key in the bucket path (created as
// needed), both copied now.
func putAt(v, key []byte, path ...[]byte) func(tx *bbolt.Tx) error {
	v, key = bytes.Clone(v), bytes.Clone(key)
	path = append([][]byte(nil), path...)
	return func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(path[0])
		if err != nil {
			return err
		}
		for _, p := range path[1:] {
			if b, err = b.CreateBucketIfNotExists(p); err != nil {
				return err
			}
		}
		if v == nil {
			v = []byte{}
		}
		return b.Put(key, v)
	}
}

// copyLegacy copies every record of a schema-1 file, sealing what a user
// wrote: the identity's nickname, trusted-peer records, room names,
// messages and equivocation evidence.
func copyLegacy(tx *bbolt.Tx, k *keyring, w *batchWriter) error {
	if v := tx.Bucket(bucketIdentity).Get(keySelf); v != nil {
		rec, err := decodeIdentity(v)
		if err != nil {
			return err
		}
		nick := rec.Nickname
		rec.Nickname = ""
		enc, err := encodeIdentity(rec)
		if err != nil {
			return err
		}
		if err := w.put(putAt(enc, keySelf, bucketIdentity)); err != nil {
			return err
		}
		if err := w.put(putAt(k.seal([]byte(nick), recordAD(keyNick, bucketIdentity)), keyNick, bucketIdentity)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketTrusted).ForEach(func(fp, v []byte) error {
		if len(fp) != len(lcrypto.Fingerprint{}) {
			return fmt.Errorf("%w: trust list key of %d bytes", ErrRecord, len(fp))
		}
		p, err := decodeTrustedPeer(lcrypto.Fingerprint(fp), v)
		if err != nil {
			return err
		}
		rec := encodeSealedPeer(p, k.seal([]byte(p.Name), recordAD(fp, bucketTrusted)))
		return w.put(putAt(rec, fp, bucketTrusted))
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketRooms).ForEach(func(name, _ []byte) error {
		id := k.roomID(string(name))
		return w.put(putAt(k.seal(name, recordAD(id, bucketRooms)), id, bucketRooms))
	}); err != nil {
		return err
	}
	top := tx.Bucket(bucketMessages)
	return top.ForEachBucket(func(name []byte) error {
		return copyLegacyRoom(top.Bucket(name), string(name), k, w)
	})
}

func copyLegacyRoom(r *bbolt.Bucket, room string, k *keyring, w *batchWriter) error {
	id := k.roomID(room)
	if err := w.put(putAt(k.seal([]byte(room), recordAD(keyRoomName, bucketMessages, id, bktRoomMeta)), keyRoomName, bucketMessages, id, bktRoomMeta)); err != nil {
		return err
	}
	o, a, h, m := r.Bucket(bktOrder), r.Bucket(bktByAuthor), r.Bucket(bktHeads), r.Bucket(bktRoomMeta)
	if o == nil || a == nil || h == nil || m == nil {
		return fmt.Errorf("%w: room %q is missing a bucket", ErrCorrupt, room)
	}
	for _, b := range [][]byte{bktOrder, bktByAuthor, bktHeads} {
		if err := w.put(func(tx *bbolt.Tx) error {
			_, err := tx.Bucket(bucketMessages).Bucket(id).CreateBucketIfNotExists(b)
			return err
		}); err != nil {
			return err
		}
	}
	copyAll := func(b *bbolt.Bucket, name []byte, seal func(key, v []byte) []byte) error {
		return b.ForEach(func(key, v []byte) error {
			return w.put(putAt(seal(key, v), key, bucketMessages, id, name))
		})
	}
	clearText := func(_, v []byte) []byte { return v }
	if err := copyAll(o, bktOrder, func(key, v []byte) []byte {
		return k.seal(v, recordAD(key, bucketMessages, id, bktOrder))
	}); err != nil {
		return err
	}
	if err := copyAll(a, bktByAuthor, clearText); err != nil {
		return err
	}
	if err := copyAll(h, bktHeads, clearText); err != nil {
		return err
	}
	return copyAll(m, bktRoomMeta, func(key, v []byte) []byte {
		if bytes.HasPrefix(key, keyEquivocatorPrefix) {
			return k.seal(v, recordAD(key, bucketMessages, id, bktRoomMeta))
		}
		return v
	})
}

// errNeedsSealing: upgrade found a schema-1 file with content, which
// sealLegacy rewrites.
var errNeedsSealing = errors.New("the database needs sealing")
