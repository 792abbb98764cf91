package chat

import (
	"encoding/binary"
	"fmt"
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
}

// ReadHistory returns stored messages matching q, oldest first, in the total
// order (Lamport clock, author key, sequence) that every node shares. self and
// selfNick mark this node's own messages; trusted names come from the store.
func ReadHistory(store *storage.DB, self lcrypto.IdentityKey, selfNick string, q HistoryQuery) ([]*MessageView, error) {
	var rooms []string
	for _, r := range q.Rooms {
		name, err := NormalizeRoom(r)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, name)
	}
	grep := strings.ToLower(q.Grep)
	sq := storage.HistoryQuery{Rooms: rooms, Limit: q.Limit, MergeKey: messageTimeMs}
	if grep != "" || !q.Since.IsZero() {
		sq.Match = func(raw []byte) bool {
			m, err := DecodeMessage(raw)
			return err == nil && !m.Time.Before(q.Since) && strings.Contains(strings.ToLower(m.Body), grep)
		}
	}
	stored, err := store.History(sq)
	if err != nil {
		return nil, err
	}
	names := trustedNames(store)
	out := make([]*MessageView, 0, len(stored))
	for _, s := range stored {
		m, err := DecodeMessage(s.Raw)
		if err != nil {
			return nil, fmt.Errorf("%w: stored message in %s: %w", storage.ErrCorrupt, s.Room, err)
		}
		fp := m.Author.Fingerprint()
		v := &MessageView{ID: m.ID(), Room: m.Room, Author: fp.String(), AuthorShort: fp.Short(),
			Seq: m.Seq, Clock: m.Clock, Time: m.Time, Body: m.Body}
		if m.Author == self {
			v.Own, v.Trusted, v.Nick = true, true, selfNick
		} else if name, ok := names[fp]; ok {
			v.Trusted, v.Nick = true, name
		}
		out = append(out, v)
	}
	return out, nil
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

func trustedNames(store *storage.DB) map[lcrypto.Fingerprint]string {
	out := map[lcrypto.Fingerprint]string{}
	peers, err := store.TrustedPeers()
	if err != nil {
		return out
	}
	for _, p := range peers {
		out[p.Fingerprint] = p.Name
	}
	return out
}
