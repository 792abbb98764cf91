// Package storagetest damages and rewrites lanchat database files for tests
// that check how lanchat refuses them. It works on the file with bbolt
// directly, so it mirrors storage's layout (bucket "meta", key "schema");
// storage's own tests check that it does.
package storagetest

import (
	"encoding/binary"
	"fmt"
	"os"

	"go.etcd.io/bbolt"
)

// SetSchema writes schema version v into the database at path, which must
// not be open.
func SetSchema(path string, v uint32) error {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("storagetest: %w", err)
	}
	defer db.Close()
	return db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta == nil {
			return fmt.Errorf("storagetest: %s has no meta bucket", path)
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, v))
	})
}

// DamagePages overwrites every page after the two meta pages with 0xA5
// bytes, keeping the size: the file still looks like a bbolt database, but
// none of its data is readable.
func DamagePages(path string) error {
	return rewrite(path, func(b []byte, pageSize int) []byte {
		for i := 2 * pageSize; i < len(b); i++ {
			b[i] = 0xA5
		}
		return b
	})
}

// DamageMeta flips a byte in the checksummed part of both meta pages.
func DamageMeta(path string) error {
	return rewrite(path, func(b []byte, pageSize int) []byte {
		const offset = 16 + 32 // page header, then into the meta's root bucket
		b[offset] ^= 0xFF
		b[pageSize+offset] ^= 0xFF
		return b
	})
}

// rewrite replaces the file's bytes with what damage makes of them; pageSize
// is read from the first meta page.
func rewrite(path string, damage func(b []byte, pageSize int) []byte) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("storagetest: %w", err)
	}
	const pageSizeOffset = 16 + 4 + 4 // page header, magic, version
	if len(b) < pageSizeOffset+4 {
		return fmt.Errorf("storagetest: %s is too short for a bbolt file", path)
	}
	pageSize := int(binary.LittleEndian.Uint32(b[pageSizeOffset:]))
	if pageSize <= 0 || len(b) < 2*pageSize {
		return fmt.Errorf("storagetest: %s: page size %d does not fit the file", path, pageSize)
	}
	b = damage(b, pageSize)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("storagetest: %w", err)
	}
	return nil
}

// EditMessage replaces the stored (sealed) bytes of message seq of author
// in room with edit's result, as a disk fault or a hand edit would: no index
// changes. Rooms are named in the file by a keyed id, so the message is
// looked up by author and sequence number in every room: it must be in
// exactly one (room only names it in errors). The database at path must
// not be open.
func EditMessage(path, room string, author [32]byte, seq uint64, edit func(sealed []byte) []byte) error {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("storagetest: %w", err)
	}
	defer db.Close()
	return db.Update(func(tx *bbolt.Tx) error {
		msgs := tx.Bucket([]byte("messages"))
		if msgs == nil {
			return fmt.Errorf("storagetest: %s has no messages", path)
		}
		ak := binary.BigEndian.AppendUint64(append([]byte{}, author[:]...), seq)
		var found *bbolt.Bucket
		var clock []byte
		err := msgs.ForEachBucket(func(id []byte) error {
			r := msgs.Bucket(id)
			if c := r.Bucket([]byte("a")).Get(ak); c != nil {
				if found != nil {
					return fmt.Errorf("storagetest: message %d of that author is in more than one room", seq)
				}
				found, clock = r, append([]byte{}, c...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if found == nil || len(clock) != 8 {
			return fmt.Errorf("storagetest: room %q has no message %d of that author", room, seq)
		}
		ok := append(clock, ak...)
		o := found.Bucket([]byte("o"))
		raw := o.Get(ok)
		if raw == nil {
			return fmt.Errorf("storagetest: room %q: message %d is indexed but missing", room, seq)
		}
		return o.Put(ok, edit(append([]byte{}, raw...)))
	})
}
