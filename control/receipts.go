package control

import (
	"context"
	"slices"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Receipts, unread state and presence for the three implementations of
// API.

// convoRoom resolves the room of a receipt or mark_read: the direct
// conversation with a trusted peer (with), else room by resolveRoom's
// rule.
func convoRoom(db *storage.DB, self lcrypto.IdentityKey, room, kind, with string, inOpen func(string) bool, private func(string) (string, error)) (string, error) {
	if with != "" {
		if room != "" {
			return "", &Error{Code: CodeInvalidParams, Message: "room and with: give one"}
		}
		fp, err := peerFingerprint(db, with)
		if err != nil {
			return "", err
		}
		return chat.DirectID(self.Fingerprint(), fp), nil
	}
	return resolveRoom(room, kind, inOpen, private)
}

// receiptKey resolves ReceiptParams: the room's normal name and the
// author's key (self when not given).
func receiptKey(p ReceiptParams, self lcrypto.IdentityKey) (string, lcrypto.IdentityKey, error) {
	room, err := chat.NormalizeRoom(p.Room)
	if err != nil {
		return "", lcrypto.IdentityKey{}, err
	}
	if p.Seq == 0 {
		return "", lcrypto.IdentityKey{}, &Error{Code: CodeInvalidParams, Message: "seq: give the message's sequence number (≥ 1)"}
	}
	if p.Author == "" {
		return room, self, nil
	}
	fp, err := lcrypto.ParseFingerprint(p.Author)
	if err != nil {
		return "", lcrypto.IdentityKey{}, err
	}
	if fp == self.Fingerprint() {
		return room, self, nil
	}
	return "", lcrypto.IdentityKey{}, &Error{Code: CodeInvalidParams,
		Message: "author: receipts are given for this node's own messages; leave author out"}
}

// Receipt implements API.
func (s *Service) Receipt(_ context.Context, p ReceiptParams) (*chat.ReceiptView, error) {
	var err error
	if p.Room, err = convoRoom(s.db, s.node.Identity(), p.Room, p.Kind, p.With, s.node.InRoom, s.node.ResolvePrivate); err != nil {
		return nil, err
	}
	room, author, err := receiptKey(p, s.node.Identity())
	if err != nil {
		return nil, err
	}
	return s.node.Receipt(room, author, p.Seq)
}

// RoomStatus implements API.
func (s *Service) RoomStatus(context.Context) ([]chat.RoomStatus, error) {
	st, err := s.node.RoomStatuses()
	return nonNil(st), err
}

// MarkRead implements API.
func (s *Service) MarkRead(_ context.Context, p MarkReadParams) (*chat.RoomStatus, error) {
	room, err := convoRoom(s.db, s.node.Identity(), p.Room, p.Kind, p.With, s.node.InRoom, s.node.ResolvePrivate)
	if err != nil {
		return nil, err
	}
	return s.node.MarkRead(room, p.ID)
}

// SetPresence implements API.
func (s *Service) SetPresence(_ context.Context, p PresenceParams) (*PresenceResult, error) {
	state, err := chat.ParsePresence(p.State)
	if err != nil {
		return nil, withHint(&Error{Code: CodeBadPresence, Message: err.Error()}, "use online, away or busy")
	}
	if err := s.node.SetPresence(state, p.Status); err != nil {
		return nil, withHint(&Error{Code: CodeBadPresence, Message: err.Error()},
			"a status line is at most 128 bytes, without control characters")
	}
	st, status := s.node.OwnPresence()
	return &PresenceResult{State: st.String(), Status: status}, nil
}

// Typing implements API.
func (s *Service) Typing(_ context.Context, room string) error { return s.node.Typing(room) }

// Receipt implements API.
func (c *Client) Receipt(ctx context.Context, p ReceiptParams) (*chat.ReceiptView, error) {
	return call[*chat.ReceiptView](ctx, c, MethodReceipt, p)
}

// RoomStatus implements API.
func (c *Client) RoomStatus(ctx context.Context) ([]chat.RoomStatus, error) {
	return call[[]chat.RoomStatus](ctx, c, MethodRoomStatus, nil)
}

// MarkRead implements API.
func (c *Client) MarkRead(ctx context.Context, p MarkReadParams) (*chat.RoomStatus, error) {
	return call[*chat.RoomStatus](ctx, c, MethodMarkRead, p)
}

// SetPresence implements API.
func (c *Client) SetPresence(ctx context.Context, p PresenceParams) (*PresenceResult, error) {
	return call[*PresenceResult](ctx, c, MethodPresence, p)
}

// Typing implements API.
func (c *Client) Typing(ctx context.Context, room string) error {
	return c.Call(ctx, MethodTyping, RoomParams{Room: room}, nil)
}

// Receipt implements API, from what the database remembers of the members.
func (l *Local) Receipt(_ context.Context, p ReceiptParams) (*chat.ReceiptView, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	if p.Room, err = convoRoom(l.db, rec.Key, p.Room, p.Kind, p.With, l.joined, l.resolvePrivate(rec.Key)); err != nil {
		return nil, err
	}
	room, author, err := receiptKey(p, rec.Key)
	if err != nil {
		return nil, err
	}
	return chat.ReadReceipt(l.db, rec.Key, room, author, p.Seq)
}

// RoomStatus implements API.
func (l *Local) RoomStatus(context.Context) ([]chat.RoomStatus, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	st, err := chat.ReadRoomStatuses(l.db, rec.Key, rec.Nickname)
	return nonNil(st), err
}

// MarkRead implements API: the position is stored; peers learn it when a
// node runs and links with them.
func (l *Local) MarkRead(ctx context.Context, p MarkReadParams) (*chat.RoomStatus, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	if p.Room, err = convoRoom(l.db, rec.Key, p.Room, p.Kind, p.With, l.joined, l.resolvePrivate(rec.Key)); err != nil {
		return nil, err
	}
	if err := chat.StoreMarkRead(l.db, p.Room, p.ID); err != nil {
		return nil, err
	}
	all, err := l.RoomStatus(ctx)
	if err != nil {
		return nil, err
	}
	room, _ := chat.NormalizeRoom(p.Room)
	for i := range all {
		if all[i].Room == room {
			return &all[i], nil
		}
	}
	return &chat.RoomStatus{Room: room}, nil
}

// resolvePrivate returns a private room resolver over the database.
func (l *Local) resolvePrivate(self lcrypto.IdentityKey) func(string) (string, error) {
	return func(s string) (string, error) { return chat.ResolvePrivateIn(l.db, self, s) }
}

// joined reports whether the database remembers room as joined.
func (l *Local) joined(room string) bool {
	rooms, err := l.db.JoinedRooms()
	return err == nil && slices.Contains(rooms, room)
}

// SetPresence implements API: ErrNoNode.
func (l *Local) SetPresence(context.Context, PresenceParams) (*PresenceResult, error) {
	return nil, noNode("presence")
}

// Typing implements API: ErrNoNode.
func (l *Local) Typing(context.Context, string) error { return noNode("typing") }
