package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The rooms bucket remembers the rooms the node is in, across restarts:
// room name → empty value.

// JoinedRooms returns the rooms remembered as joined, sorted.
func (db *DB) JoinedRooms() ([]string, error) {
	var out []string
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRooms)
		if b == nil {
			return fmt.Errorf("%w: rooms bucket missing", ErrCorrupt)
		}
		return b.ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading joined rooms: %w", err)
	}
	return out, nil
}

// SetJoined remembers room as joined (or not).
func (db *DB) SetJoined(room string, joined bool) error {
	err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRooms)
		if b == nil {
			return fmt.Errorf("%w: rooms bucket missing", ErrCorrupt)
		}
		if joined {
			if b.Get([]byte(room)) != nil {
				return errNothingNew
			}
			return b.Put([]byte(room), nil)
		}
		if b.Get([]byte(room)) == nil {
			return errNothingNew
		}
		return b.Delete([]byte(room))
	})
	if err != nil && err != errNothingNew {
		return fmt.Errorf("remembering room %q: %w", room, err)
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
