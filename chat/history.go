package chat

import (
	"encoding/binary"
	"strings"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// HistoryQuery selects stored messages.
type HistoryQuery struct {
	Rooms []string  // nil: every room
	Limit int       // newest Limit matches; 0: all
	Since time.Time // zero: no bound; else messages written at or after it (author's clock)
	Grep  string    // case-insensitive substring of the body; "": all
	// Unread keeps only the messages of others after this node's read
	// position in their room.
	Unread bool
	// Deleted adds a "deleted" view (MessageView.Deleted) where each
	// message this node held was deleted for everyone (not with Grep, Since
	// or Unread, which a deleted message never matches).
	Deleted bool
}

// ReadHistory returns stored messages matching q, oldest first, in the total
// order (Lamport clock, author key, sequence) that every node shares. self and
// selfNick mark this node's own messages; trusted names come from the store.
// A running node's History labels them as its live events do.
func ReadHistory(store *storage.DB, self lcrypto.IdentityKey, selfNick string, q HistoryQuery) ([]*MessageView, error) {
	stored, err := queryHistory(store, self, q)
	if err != nil {
		return nil, err
	}
	lb, err := storeLabels(store, self, selfNick, stored)
	if err != nil {
		return nil, err
	}
	if q.showsDeleted() {
		return withDeleted(store, q, stored, historyViews(stored, lb), lb)
	}
	return historyViews(stored, lb), nil
}

// History is ReadHistory on the node's store, each message labelled as the
// node's live events label it (the nicknames of its peers' hellos too).
func (n *Node) History(q HistoryQuery) ([]*MessageView, error) {
	stored, err := queryHistory(n.store, n.id.Public(), q)
	if err != nil {
		return nil, err
	}
	lb := n.labels()
	if q.showsDeleted() {
		return withDeleted(n.store, q, stored, historyViews(stored, lb), lb)
	}
	return historyViews(stored, lb), nil
}

// queryHistory reads the stored messages matching q.
func queryHistory(store *storage.DB, self lcrypto.IdentityKey, q HistoryQuery) ([]storage.StoredMessage, error) {
	rooms, err := normalizeRooms(q.Rooms)
	if err != nil {
		return nil, err
	}
	grep := strings.ToLower(q.Grep)
	sq := storage.HistoryQuery{Rooms: rooms, Limit: q.Limit, MergeKey: messageTimeMs}
	var read map[string]storage.Position
	if q.Unread {
		if rooms == nil {
			var err error
			if rooms, err = store.MessageRooms(); err != nil {
				return nil, err
			}
		}
		var err error
		if read, err = readPositions(store, rooms); err != nil {
			return nil, err
		}
	}
	private, err := privateFolds(store, rooms)
	if err != nil {
		return nil, err
	}
	if grep != "" || !q.Since.IsZero() || q.Unread || len(private) > 0 {
		sq.Match = func(raw []byte) bool {
			m, err := DecodeMessage(raw)
			if err != nil {
				return grep == "" && q.Since.IsZero() && !q.Unread // damaged: shown as such
			}
			if ms, ok := private[m.Room]; ok && !ms.Belongs(&m) {
				return false // not part of the room (PROTOCOL.md 5.10)
			}
			if m.Time.Before(q.Since) || !strings.Contains(strings.ToLower(m.Body), grep) {
				return false
			}
			return !q.Unread || m.Author != self &&
				(storage.Position{Clock: m.Clock, Author: m.Author, Seq: m.Seq}).Compare(read[m.Room]) > 0
		}
	}
	return store.History(sq)
}

// privateFolds returns the membership of each private room among rooms (nil:
// every room of the store), so history shows only what belongs to them.
func privateFolds(store *storage.DB, rooms []string) (map[string]*Membership, error) {
	if rooms == nil {
		var err error
		if rooms, err = store.MessageRooms(); err != nil {
			return nil, err
		}
	}
	out := map[string]*Membership{}
	for _, r := range rooms {
		if ConvoKind(r) != KindPrivate {
			continue
		}
		ms, err := ReadMembership(store, r)
		if err != nil {
			return nil, err
		}
		out[r] = ms
	}
	return out, nil
}

// historyViews decodes and verifies stored messages (a record that fails
// either is shown as damaged) and builds their views.
func historyViews(stored []storage.StoredMessage, lb *labels) []*MessageView {
	msgs := make([]Message, len(stored))
	decoded := make([]bool, len(stored))
	for i := range stored {
		m, err := decodeStored(&stored[i])
		msgs[i], decoded[i] = m, err == nil
	}
	verified := verifyAll(msgs)
	out := make([]*MessageView, 0, len(stored))
	for i := range stored {
		var damaged *storage.StoredMessage
		if !decoded[i] || !verified[i] {
			damaged = &stored[i]
		}
		out = append(out, lb.view(&msgs[i], damaged, false))
	}
	return out
}

// messageTimeMs reads a stored message's author time (Unix ms) without
// decoding the rest; 0 for an encoding too short to hold one.
func messageTimeMs(raw []byte) int64 {
	if len(raw) < 2 {
		return 0
	}
	off := 2 + int(raw[1]) + lcrypto.KeySize + 8 + 8
	if len(raw) < off+8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(raw[off:]))
}

// ForgetHistory deletes, in this node's store only, the messages of room
// written (by their author's clock) before before, or all of them when
// before is zero; a damaged record of the room goes too. It returns how
// many it deleted. Other members keep their copies: this is not a deletion
// for everyone.
func ForgetHistory(store *storage.DB, room string, before time.Time) (int, error) {
	name, err := NormalizeRoom(room)
	if err != nil {
		return 0, err
	}
	return store.Forget(name, func(m storage.StoredMessage) bool {
		return before.IsZero() || m.Damaged || messageTimeMs(m.Raw) < before.UnixMilli()
	})
}

// ApplyRetention deletes, in this node's store, the messages that the
// retention settings (storage.Retention) no longer keep at now, in every
// room, and compacts the file once if any went. It returns how many.
func ApplyRetention(store *storage.DB, now time.Time) (int, error) {
	r, err := store.Retention()
	if err != nil {
		return 0, err
	}
	rooms, err := store.MessageRooms()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, room := range rooms {
		keep := r.KeepFor(room)
		if keep <= 0 {
			continue
		}
		before := now.Add(-keep).UnixMilli()
		n, err := store.ForgetMessages(room, func(m storage.StoredMessage) bool {
			return m.Damaged || messageTimeMs(m.Raw) < before
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	if total > 0 {
		return total, store.Compact()
	}
	return total, nil
}
