package chat

import (
	"encoding/hex"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// showsDeleted reports whether history for q shows the messages deleted
// for everyone as "deleted" lines: when asked, and not when it selects by
// body, time or read position (a deleted message matches none of them).
func (q HistoryQuery) showsDeleted() bool {
	return q.Deleted && q.Grep == "" && q.Since.IsZero() && !q.Unread
}

// withDeleted returns views (views[i] is the view of stored[i]) with a
// "deleted" line where each message of their rooms deleted for everyone
// was: right before the first message after it in its room, or after the
// room's last message shown. When q.Limit left older messages out,
// deletions before the oldest message shown of a room are outside the
// window and left out too; the lines are not counted by the limit.
func withDeleted(store *storage.DB, q HistoryQuery, stored []storage.StoredMessage, views []*MessageView, lb *labels) ([]*MessageView, error) {
	rooms, err := historyRooms(store, q)
	if err != nil {
		return nil, err
	}
	deleted := map[string][]storage.DeletedMessage{}
	any := false
	for _, r := range rooms {
		d, err := store.DeletedMessages(r)
		if err != nil {
			return nil, err
		}
		deleted[r], any = d, any || len(d) > 0
	}
	if !any {
		return views, nil
	}
	cut := q.Limit > 0 && len(stored) >= q.Limit // older messages may be left out
	shown := map[string]bool{}
	out := make([]*MessageView, 0, len(views))
	for i := range stored {
		room := stored[i].Room
		pos := storage.PositionOf(&stored[i])
		d := deleted[room]
		n := 0
		for n < len(d) && d[n].Compare(pos) < 0 {
			n++
		}
		if shown[room] || !cut {
			for _, dm := range d[:n] {
				out = append(out, lb.deletedView(room, dm))
			}
		}
		deleted[room], shown[room] = d[n:], true
		out = append(out, views[i])
	}
	for _, r := range rooms {
		for _, dm := range deleted[r] {
			out = append(out, lb.deletedView(r, dm))
		}
	}
	return out, nil
}

// historyRooms is the rooms q reads.
func historyRooms(store *storage.DB, q HistoryQuery) ([]string, error) {
	if q.Rooms == nil {
		return store.MessageRooms()
	}
	return normalizeRooms(q.Rooms)
}

// normalizeRooms returns the normal names of rooms (nil for nil).
func normalizeRooms(rooms []string) ([]string, error) {
	var out []string
	for _, r := range rooms {
		name, err := NormalizeRoom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

// deletedView is the view of a message deleted for everyone: its place,
// author and id, no body and no time (neither is kept).
func (lb *labels) deletedView(room string, d storage.DeletedMessage) *MessageView {
	author := lcrypto.IdentityKey(d.Author)
	fp := author.Fingerprint()
	v := &MessageView{Room: room, Seq: d.Seq, Clock: d.Clock, ID: hex.EncodeToString(d.Sum[:]), Deleted: true}
	v.Author, v.AuthorShort = fp.String(), fp.Short()
	v.Own = author == lb.self
	v.Nick, v.Trusted = lb.author(author)
	lb.convoView(v, nil, false)
	return v
}
