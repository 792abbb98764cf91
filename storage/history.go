package storage

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// HistoryQuery selects messages for `lanchat history`.
type HistoryQuery struct {
	Rooms []string // nil: every room
	Limit int      // the newest Limit matches; 0: all
	// Match, when set, keeps only messages whose encoded bytes it accepts
	// (the chat package filters by time and text here).
	Match func(raw []byte) bool
}

// History returns the newest messages that match q, oldest first, in the
// total order (clock, author, seq); several rooms are merged in that order.
func (db *DB) History(q HistoryQuery) ([]StoredMessage, error) {
	rooms := q.Rooms
	if rooms == nil {
		var err error
		if rooms, err = db.MessageRooms(); err != nil {
			return nil, err
		}
	}
	var out []StoredMessage
	err := db.View(func(tx *bolt.Tx) error {
		var curs []*roomCursor
		for _, r := range rooms {
			o, _, _, _, err := roomBuckets(tx, r, false)
			if err != nil {
				return err
			}
			if o != nil {
				rc := &roomCursor{room: r, c: o.Cursor()}
				rc.k, rc.v = rc.c.Last()
				curs = append(curs, rc)
			}
		}
		for q.Limit == 0 || len(out) < q.Limit {
			best := newestCursor(curs)
			if best == nil {
				break
			}
			if m, ok := q.keep(best.room, best.k, best.v); ok {
				out = append(out, m)
			}
			best.k, best.v = best.c.Prev()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

type roomCursor struct {
	room string
	c    *bolt.Cursor
	k, v []byte
}

// newestCursor returns the cursor whose current key is greatest (ties, which
// need one message in two rooms, break by room name).
func newestCursor(curs []*roomCursor) *roomCursor {
	var best *roomCursor
	for _, rc := range curs {
		if rc.k == nil {
			continue
		}
		if best == nil {
			best = rc
			continue
		}
		if c := bytes.Compare(rc.k, best.k); c > 0 || c == 0 && rc.room > best.room {
			best = rc
		}
	}
	return best
}

func (q HistoryQuery) keep(room string, k, v []byte) (StoredMessage, bool) {
	if len(k) != orderKeyLen {
		return StoredMessage{}, false
	}
	if q.Match != nil && !q.Match(v) {
		return StoredMessage{}, false
	}
	m := StoredMessage{
		Room:   room,
		Clock:  u64(k[:8]),
		Author: [AuthorKeySize]byte(k[8 : 8+AuthorKeySize]),
		Seq:    u64(k[8+AuthorKeySize:]),
	}
	m.Raw = bytes.Clone(v)
	return m, true
}
