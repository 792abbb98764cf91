package storage

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The rooms bucket remembers the rooms the node is in, across restarts:
// room id (see sealed.go) → the sealed room name.

// JoinedRooms returns the rooms remembered as joined, sorted.
func (db *DB) JoinedRooms() ([]string, error) {
	var out []string
	ring, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("reading joined rooms: %w", err)
	}
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRooms)
		if b == nil {
			return fmt.Errorf("%w: rooms bucket missing", ErrCorrupt)
		}
		return b.ForEach(func(k, v []byte) error {
			name, err := ring.open(v, recordAD(k, bucketRooms))
			if err != nil {
				return fmt.Errorf("a joined room: %w", err)
			}
			out = append(out, string(name))
			return nil
		})
	})
	slices.Sort(out)
	if err != nil {
		return nil, fmt.Errorf("reading joined rooms: %w", err)
	}
	return out, nil
}

// SetJoinedRooms remembers exactly rooms as joined.
func (db *DB) SetJoinedRooms(rooms []string) error {
	ring, err := db.ring()
	if err != nil {
		return fmt.Errorf("remembering the joined rooms: %w", err)
	}
	err = db.update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketRooms); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketRooms)
		if err != nil {
			return err
		}
		for _, r := range rooms {
			id := ring.roomID(r)
			if err := b.Put(id, ring.seal([]byte(r), recordAD(id, bucketRooms))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remembering the joined rooms: %w", err)
	}
	return nil
}

// SetNickname changes the nickname of the stored identity.
func (db *DB) SetNickname(nick string) error {
	rec, err := db.Identity()
	if err != nil {
		return err
	}
	if rec.Nickname == nick {
		return nil
	}
	rec.Nickname = nick
	return db.PutIdentity(rec)
}
