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
	// MergeKey, when set, orders messages of different rooms: each room
	// keeps its own total order, and between rooms the message with the
	// greater MergeKey (the chat package: the author's time) counts as newer.
	MergeKey func(raw []byte) int64
}

// History returns the newest messages that match q, oldest first: each
// room in its total order (clock, author, seq); several rooms merged by
// q.MergeKey, else by that order.
func (db *DB) History(q HistoryQuery) ([]StoredMessage, error) {
	rooms := q.Rooms
	if rooms == nil {
		var err error
		if rooms, err = db.MessageRooms(); err != nil {
			return nil, err
		}
	}
	k, err := db.ring()
	if err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	var out []StoredMessage
	err = db.view(func(tx *bolt.Tx) error {
		var curs []*roomCursor
		for _, r := range rooms {
			rt, err := roomBuckets(tx, k, r, false)
			if err != nil {
				return err
			}
			if rt != nil {
				rc := &roomCursor{room: r, rt: rt, c: rt.o.Cursor()}
				rc.move(rc.c.Last())
				curs = append(curs, rc)
			}
		}
		for q.Limit == 0 || len(out) < q.Limit {
			best := newestCursor(curs, q.MergeKey)
			if best == nil {
				break
			}
			if m, ok := q.keep(best); ok {
				out = append(out, m)
			}
			best.move(best.c.Prev())
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
	room    string
	rt      *roomTx
	c       *bolt.Cursor
	k       []byte
	v       []byte // the opened record (the sealed bytes if damaged)
	damaged bool
}

// move puts the cursor on (k, sealed) and opens the record.
func (rc *roomCursor) move(k, sealed []byte) {
	rc.k, rc.v, rc.damaged = k, nil, false
	if k == nil {
		return
	}
	v, err := rc.rt.openMsg(k, sealed)
	if err != nil {
		v, rc.damaged = bytes.Clone(sealed), true
	}
	rc.v = v
}

// newestCursor returns the cursor whose current message is newest: by
// mergeKey when set, else by order key; ties break by room name.
func newestCursor(curs []*roomCursor, mergeKey func([]byte) int64) *roomCursor {
	var best *roomCursor
	for _, rc := range curs {
		if rc.k == nil {
			continue
		}
		if best == nil || newer(rc, best, mergeKey) {
			best = rc
		}
	}
	return best
}

func newer(a, b *roomCursor, mergeKey func([]byte) int64) bool {
	if mergeKey != nil {
		if ka, kb := mergeKey(a.v), mergeKey(b.v); ka != kb {
			return ka > kb
		}
	}
	if c := bytes.Compare(a.k, b.k); c != 0 {
		return c > 0
	}
	return a.room > b.room
}

func (q HistoryQuery) keep(rc *roomCursor) (StoredMessage, bool) {
	k, v := rc.k, rc.v
	if len(k) != orderKeyLen {
		return StoredMessage{}, false
	}
	if q.Match != nil && !q.Match(v) {
		return StoredMessage{}, false
	}
	m := StoredMessage{
		Room:    rc.room,
		Clock:   u64(k[:8]),
		Author:  [AuthorKeySize]byte(k[8 : 8+AuthorKeySize]),
		Seq:     u64(k[8+AuthorKeySize:]),
		Damaged: rc.damaged,
	}
	m.Raw = v // opened into a new slice: not the transaction's
	return m, true
}
