package chat

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
	equiv := map[string]map[[storage.AuthorKeySize]byte]storage.Equivocation{}
	msgs := make([]Message, len(stored))
	decoded := make([]bool, len(stored))
	for i := range stored {
		m, err := decodeStored(&stored[i])
		msgs[i], decoded[i] = m, err == nil
	}
	verified := verifyAll(msgs)
	out := make([]*MessageView, 0, len(stored))
	for i := range stored {
		s := &stored[i]
		if _, ok := equiv[s.Room]; !ok {
			if equiv[s.Room], err = store.Equivocators(s.Room); err != nil {
				return nil, err
			}
		}
		out = append(out, historyView(s, &msgs[i], decoded[i] && verified[i], self, selfNick, names, equiv[s.Room]))
	}
	return out, nil
}

// historyView is a stored message as history shows it. A record that does
// not decode or verify is shown as damaged, with what its storage key says
// (room, author, sequence, clock) and no text that could pass for the
// author's.
func historyView(s *storage.StoredMessage, m *Message, ok bool, self lcrypto.IdentityKey, selfNick string,
	names map[lcrypto.Fingerprint]string, equiv map[[storage.AuthorKeySize]byte]storage.Equivocation) *MessageView {
	author := lcrypto.IdentityKey(s.Author)
	fp := author.Fingerprint()
	v := &MessageView{Room: s.Room, Author: fp.String(), AuthorShort: fp.Short(), Seq: s.Seq, Clock: s.Clock}
	if ok {
		v.ID, v.Time, v.Body = m.ID(), m.Time, m.Body
	} else {
		sum := sha256.Sum256(s.Raw)
		v.ID, v.Damaged = hex.EncodeToString(sum[:]), true
		v.Time = time.UnixMilli(messageTimeMs(s.Raw))
	}
	if author == self {
		v.Own, v.Trusted, v.Nick = true, true, selfNick
	} else if name, ok := names[fp]; ok {
		v.Trusted, v.Nick = true, name
	}
	_, v.Equivocator = equiv[s.Author]
	return v
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
