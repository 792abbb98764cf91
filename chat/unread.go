package chat

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Read positions, unread counts and mentions.

// RoomStatus is a room's unread state for this node.
type RoomStatus struct {
	Room   string `json:"room"`
	Joined bool   `json:"joined"`
	// Unread counts the messages of others after this node's read
	// position; Mentions those of them that mention it (@nick).
	Unread   int `json:"unread"`
	Mentions int `json:"mentions"`
	// LastRead is the id of the last message read; "" if none.
	LastRead string `json:"last_read,omitempty"`
	// Conversation is KindRoom, KindDirect or KindPrivate; for a direct
	// conversation With is the other person's fingerprint, and Name is
	// the name you gave them (a private room: its name).
	Conversation string `json:"conversation"`
	With         string `json:"with,omitempty"`
	Name         string `json:"name,omitempty"`
}

// Mentions reports whether body mentions nick or short ("@nick",
// "@SHORT"): case-insensitive, not followed by a letter or digit.
func Mentions(body, nick, short string) bool {
	for _, name := range []string{nick, short} {
		if name != "" && mentionOf(body, name) {
			return true
		}
	}
	return false
}

func mentionOf(body, name string) bool {
	lb, ln := strings.ToLower(body), "@"+strings.ToLower(name)
	for i := 0; ; {
		j := strings.Index(lb[i:], ln)
		if j < 0 {
			return false
		}
		at := i + j
		end := at + len(ln)
		before, _ := utf8.DecodeLastRuneInString(lb[:at])
		after, _ := utf8.DecodeRuneInString(lb[end:])
		if (at == 0 || !isWordRune(before)) && (end == len(lb) || !isWordRune(after)) {
			return true
		}
		i = at + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// MarkRead moves this node's read position in room to the message id (""
// : the room's last message), never back; peers in the room are told
// (unless Config.NoReadReceipts). It returns the room's status after it.
func (n *Node) MarkRead(room, id string) (*RoomStatus, error) {
	name, err := NormalizeRoom(room)
	if err != nil {
		return nil, err
	}
	pos, err := positionIn(n.store, name, id)
	if err != nil {
		return nil, err
	}
	if !pos.IsZero() {
		rr, err := n.receiptsOf(name)
		if err != nil {
			return nil, err
		}
		rr.mu.Lock()
		old := rr.read
		rr.mu.Unlock()
		moved, err := n.store.SetReadPosition(name, pos)
		if err != nil {
			return nil, err
		}
		rr.mu.Lock()
		if rr.read.Compare(pos) < 0 {
			rr.read = pos
		}
		rr.mu.Unlock()
		if moved {
			n.readAuthors(name, old, pos)
		}
	}
	return n.roomStatus(name)
}

// readAuthors queues a read frame for the authors of the messages of room
// in (from, to]: only they are shown who read their messages, so a read
// costs one frame per author read, not one per member.
func (n *Node) readAuthors(room string, from, to storage.Position) {
	authors := map[lcrypto.IdentityKey]bool{}
	err := n.store.MessagesSince(room, from, func(m *storage.StoredMessage) bool {
		if storage.PositionOf(m).Compare(to) > 0 {
			return false
		}
		if a := lcrypto.IdentityKey(m.Author); a != n.id.Public() {
			authors[a] = true
		}
		return true
	})
	if err != nil {
		n.logf("read position of %s: %v", room, err)
		return
	}
	if len(authors) == 0 {
		return
	}
	n.rcpt.Lock()
	if n.rcpt.readSend == nil {
		n.rcpt.readSend = map[string]map[lcrypto.IdentityKey]bool{}
	}
	if n.rcpt.readSend[room] == nil {
		n.rcpt.readSend[room] = map[lcrypto.IdentityKey]bool{}
	}
	for a := range authors {
		n.rcpt.readSend[room][a] = true
	}
	n.rcpt.Unlock()
	n.kickReceipts()
}

// positionIn finds message id in room ("": the last message).
func positionIn(store *storage.DB, room, id string) (storage.Position, error) {
	if id == "" {
		return store.LastPosition(room)
	}
	var found storage.Position
	ok := false
	err := store.MessagesSince(room, storage.Position{}, func(m *storage.StoredMessage) bool {
		if idOfRaw(m.Raw) == id {
			found, ok = storage.PositionOf(m), true
			return false
		}
		return true
	})
	if err != nil {
		return storage.Position{}, err
	}
	if !ok {
		return storage.Position{}, fmt.Errorf("%w: %s in %s", ErrNoMessage, id, room)
	}
	return found, nil
}

// RoomStatuses returns the status of every joined room and every room
// with stored messages, sorted.
func (n *Node) RoomStatuses() ([]RoomStatus, error) {
	rooms, err := n.store.MessageRooms()
	if err != nil {
		return nil, err
	}
	for _, r := range n.Rooms() {
		if !containsString(rooms, r) {
			rooms = append(rooms, r)
		}
	}
	sortStrings(rooms)
	out := make([]RoomStatus, 0, len(rooms))
	for _, r := range rooms {
		st, err := n.roomStatus(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	return out, nil
}

func (n *Node) roomStatus(room string) (*RoomStatus, error) {
	rr, err := n.receiptsOf(room)
	if err != nil {
		return nil, err
	}
	rr.mu.Lock()
	read := rr.read
	rr.mu.Unlock()
	st, err := countUnread(n.store, n.id.Public(), n.Nickname(), room, read)
	if err != nil {
		return nil, err
	}
	st.Joined = n.InRoom(room)
	if isConvo(room) {
		var ms *Membership
		if c := n.convo(room); c != nil && c.kind == KindPrivate {
			ms = c.membership()
		}
		labelConvo(n.store, n.id.Public(), st, ms)
	}
	return st, nil
}

// ReadRoomStatuses is RoomStatuses from the store alone (no node runs):
// the rooms remembered as joined and those with messages.
func ReadRoomStatuses(store *storage.DB, self lcrypto.IdentityKey, selfNick string) ([]RoomStatus, error) {
	rooms, err := store.MessageRooms()
	if err != nil {
		return nil, err
	}
	joined, err := store.JoinedRooms()
	if err != nil {
		return nil, err
	}
	for _, r := range joined {
		if !containsString(rooms, r) {
			rooms = append(rooms, r)
		}
	}
	sortStrings(rooms)
	out := make([]RoomStatus, 0, len(rooms))
	for _, r := range rooms {
		read, err := store.ReadPosition(r)
		if err != nil {
			return nil, err
		}
		st, err := countUnread(store, self, selfNick, r, read)
		if err != nil {
			return nil, err
		}
		st.Joined = containsString(joined, r)
		if ConvoKind(r) == KindPrivate {
			ms, err := ReadMembership(store, r)
			if err != nil {
				return nil, err
			}
			labelConvo(store, self, st, ms)
		} else if isConvo(r) {
			labelConvo(store, self, st, nil)
		}
		out = append(out, *st)
	}
	return out, nil
}

// countUnread counts the messages of others in room after read, and the
// mentions of self among them.
func countUnread(store *storage.DB, self lcrypto.IdentityKey, selfNick, room string, read storage.Position) (*RoomStatus, error) {
	st := &RoomStatus{Room: room, Conversation: ConvoKind(room)}
	short := self.Fingerprint().Short()
	err := store.MessagesSince(room, read, func(sm *storage.StoredMessage) bool {
		if sm.Author == self {
			return true
		}
		st.Unread++
		if m, err := DecodeMessage(sm.Raw); err == nil && Mentions(m.Body, selfNick, short) {
			st.Mentions++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if !read.IsZero() {
		if sm, ok, err := store.MessageAt(room, read); err == nil && ok {
			st.LastRead = idOfRaw(sm.Raw)
		}
	}
	return st, nil
}

// readPositions returns the read position of each room (for history
// --unread).
func readPositions(store *storage.DB, rooms []string) (map[string]storage.Position, error) {
	out := map[string]storage.Position{}
	for _, r := range rooms {
		p, err := store.ReadPosition(r)
		if err != nil {
			return nil, err
		}
		out[r] = p
	}
	return out, nil
}

func containsString(list []string, s string) bool { return slices.Contains(list, s) }

func sortStrings(s []string) { slices.Sort(s) }

// idOfRaw is the message id of an encoding: the hex SHA-256 of it.
func idOfRaw(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// StoreMarkRead moves the read position of room in store (no node runs)
// to message id ("": the last message), never back.
func StoreMarkRead(store *storage.DB, room, id string) error {
	name, err := NormalizeRoom(room)
	if err != nil {
		return err
	}
	pos, err := positionIn(store, name, id)
	if err != nil || pos.IsZero() {
		return err
	}
	_, err = store.SetReadPosition(name, pos)
	return err
}

// labelConvo names a conversation's status: the other person of a direct
// conversation, a private room's name; Joined is whether self is a member.
func labelConvo(store *storage.DB, self lcrypto.IdentityKey, st *RoomStatus, ms *Membership) {
	if ConvoKind(st.Room) == KindDirect {
		if fp, ok := directPeerIn(store, self, st.Room); ok {
			st.With, st.Name = fp.String(), trustedNames(store)[fp]
			st.Joined = true
		}
		return
	}
	if ms != nil {
		st.Name, st.Joined = ms.Name, ms.IsMember(self)
	}
}
