package control

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Direct conversations and private rooms in the API (PROTOCOL.md 5.9, 5.10
// and 6): the params and results, and what Service and Local share.

// Conversation kinds, as MessageView.Conversation and PrivateRoom.Kind
// carry them.
const (
	KindRoom    = chat.KindRoom
	KindDirect  = chat.KindDirect
	KindPrivate = chat.KindPrivate
)

// DirectParams are the params of "send_direct".
type DirectParams struct {
	To   string `json:"to"` // a trusted peer's name or fingerprint
	Body string `json:"body"`
}

// CreateRoomParams are the params of "room_create".
type CreateRoomParams struct {
	Name string `json:"name"`
}

// MemberParams are the params of "room_invite", "room_remove" and
// "room_promote".
type MemberParams struct {
	Room string `json:"room"` // a private room's name or id
	Peer string `json:"peer"` // a trusted peer's name or fingerprint (remove: any member's)
}

// PrivateRoom is a private room as this node holds it: the result of
// "room_create" and "room_members", and an entry of "private_rooms".
type PrivateRoom struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`   // "private"
	Member bool   `json:"member"` // false: this node was removed or left
	Admin  bool   `json:"admin"`
	// NameShared: another private room held here has the same name
	// (name it by its id).
	NameShared bool         `json:"name_shared"`
	Members    []RoomMember `json:"members"`
}

// RoomMember is one member of a private room.
type RoomMember struct {
	Fingerprint   string     `json:"fingerprint"`
	Short         string     `json:"short"`
	Name          string     `json:"name,omitempty"` // how this node calls them
	Admin         bool       `json:"admin"`
	InvitedBy     string     `json:"invited_by"` // fingerprint; the creator for itself
	InvitedByName string     `json:"invited_by_name,omitempty"`
	Since         *time.Time `json:"since"` // the author time of the operation that added them
}

// MemberResult is the result of "room_invite", "room_remove",
// "room_promote" and "room_leave": the operation as sent.
type MemberResult struct {
	Room     string       `json:"room"`
	RoomName string       `json:"room_name"`
	Message  *MessageView `json:"message"`
}

// peerFingerprint finds a trusted peer by name (the trust list's) or
// fingerprint.
func peerFingerprint(db *storage.DB, who string) (lcrypto.Fingerprint, error) {
	who = strings.TrimSpace(who)
	if who == "" {
		return lcrypto.Fingerprint{}, fmt.Errorf("%w: name a peer", chat.ErrNoPeer)
	}
	peers, err := db.TrustedPeers()
	if err != nil {
		return lcrypto.Fingerprint{}, err
	}
	var hits []storage.TrustedPeer
	for _, p := range peers {
		if strings.EqualFold(p.Name, who) {
			hits = append(hits, p)
		}
	}
	switch len(hits) {
	case 0:
	case 1:
		return hits[0].Fingerprint, nil
	default:
		return lcrypto.Fingerprint{}, fmt.Errorf("%w: %d trusted peers are called %q: give a fingerprint", chat.ErrAmbiguous, len(hits), who)
	}
	fp, err := lcrypto.ParseFingerprint(who)
	if err != nil {
		return lcrypto.Fingerprint{}, fmt.Errorf("%w: %q is not a trusted name, nor a fingerprint (%v); see lanchat trusted", chat.ErrNoPeer, who, err)
	}
	return fp, nil
}

// memberKey finds the identity key of who (a trusted name or a
// fingerprint): among room's members first (a removal needs no trust), else
// as the node knows it (an invite).
func (s *Service) memberKey(room, who string) (lcrypto.IdentityKey, error) {
	fp, ferr := peerFingerprint(s.db, who)
	if ferr != nil {
		var perr error
		if fp, perr = lcrypto.ParseFingerprint(who); perr != nil {
			return lcrypto.IdentityKey{}, ferr
		}
	}
	if ms, err := s.node.RoomMembers(room); err == nil {
		for _, m := range ms.Members() {
			if m.Key.Fingerprint() == fp {
				return m.Key, nil
			}
		}
	}
	if ferr != nil {
		return lcrypto.IdentityKey{}, ferr
	}
	return s.node.KeyOf(fp)
}

// privateRoom builds a PrivateRoom; names is the trust list's names.
func privateRoom(info chat.RoomInfo, all []chat.RoomInfo, names map[lcrypto.Fingerprint]string) *PrivateRoom {
	pr := &PrivateRoom{ID: info.ID, Name: info.Name, Kind: KindPrivate, Member: info.Member, Admin: info.Admin, Members: []RoomMember{}}
	for _, o := range all {
		if o.ID != info.ID && o.Name == info.Name {
			pr.NameShared = true
		}
	}
	for _, m := range info.Members {
		fp, by := m.Key.Fingerprint(), m.InvitedBy.Fingerprint()
		pr.Members = append(pr.Members, RoomMember{Fingerprint: fp.String(), Short: fp.Short(), Name: names[fp],
			Admin: m.Admin, InvitedBy: by.String(), InvitedByName: names[by], Since: timeOrNil(m.Since)})
	}
	return pr
}

// trustNames maps the trust list's fingerprints to their names, with self's nick.
func trustNames(db *storage.DB, self lcrypto.IdentityKey, selfNick string) map[lcrypto.Fingerprint]string {
	out := map[lcrypto.Fingerprint]string{self.Fingerprint(): selfNick}
	peers, err := db.TrustedPeers()
	if err != nil {
		return out
	}
	for _, p := range peers {
		out[p.Fingerprint] = p.Name
	}
	return out
}

// findRoom returns the room info of id among rooms.
func findRoom(rooms []chat.RoomInfo, id string) (chat.RoomInfo, bool) {
	for _, r := range rooms {
		if r.ID == id {
			return r, true
		}
	}
	return chat.RoomInfo{}, false
}

// historyRooms turns the rooms of a history query into the rooms the store
// knows them by, by resolveRoom's rule: a private room's name into its id,
// "with" into the direct conversation's id.
func historyRooms(p HistoryParams, db *storage.DB, self lcrypto.IdentityKey, inOpen func(string) bool, resolve func(string) (string, error)) ([]string, error) {
	var rooms []string
	for _, r := range p.Rooms {
		id, err := resolveRoom(r, p.Kind, inOpen, resolve)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, id)
	}
	if p.With != "" {
		fp, err := peerFingerprint(db, p.With)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, chat.DirectID(self.Fingerprint(), fp))
	}
	return rooms, nil
}

// Service's conversation methods.

// SendDirect implements API.
func (s *Service) SendDirect(ctx context.Context, p DirectParams) (*SendResult, error) {
	fp, err := peerFingerprint(s.db, p.To)
	if err != nil {
		return nil, err
	}
	v, handed, err := s.node.SendDirect(ctx, fp, p.Body)
	if err != nil {
		return nil, err
	}
	return s.sendResult(v, handed), nil
}

// CreateRoom implements API.
func (s *Service) CreateRoom(ctx context.Context, p CreateRoomParams) (*PrivateRoom, error) {
	id, err := s.node.CreateRoom(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	return s.Members(ctx, id)
}

func (s *Service) memberOp(ctx context.Context, room, peer string,
	op func(context.Context, string, lcrypto.IdentityKey) (*MessageView, error)) (*MemberResult, error) {
	id, err := s.node.ResolvePrivate(room)
	if err != nil {
		return nil, err
	}
	var k lcrypto.IdentityKey
	if op != nil {
		if k, err = s.memberKey(id, peer); err != nil {
			return nil, err
		}
	}
	var v *MessageView
	if op == nil {
		v, err = s.node.LeavePrivate(ctx, id)
	} else {
		v, err = op(ctx, id, k)
	}
	if err != nil {
		return nil, err
	}
	return &MemberResult{Room: id, RoomName: v.RoomName, Message: v}, nil
}

// Invite implements API.
func (s *Service) Invite(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return s.memberOp(ctx, p.Room, p.Peer, s.node.Invite)
}

// RemoveMember implements API.
func (s *Service) RemoveMember(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return s.memberOp(ctx, p.Room, p.Peer, s.node.Remove)
}

// Promote implements API.
func (s *Service) Promote(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return s.memberOp(ctx, p.Room, p.Peer, s.node.Promote)
}

// LeaveRoom implements API.
func (s *Service) LeaveRoom(ctx context.Context, room string) (*MemberResult, error) {
	return s.memberOp(ctx, room, "", nil)
}

// Members implements API.
func (s *Service) Members(_ context.Context, room string) (*PrivateRoom, error) {
	id, err := s.node.ResolvePrivate(room)
	if err != nil {
		return nil, err
	}
	all := s.node.PrivateRooms()
	info, _ := findRoom(all, id)
	return privateRoom(info, all, trustNames(s.db, s.node.Identity(), s.node.Nickname())), nil
}

// PrivateRooms implements API.
func (s *Service) PrivateRooms(context.Context) ([]PrivateRoom, error) {
	all := s.node.PrivateRooms()
	names := trustNames(s.db, s.node.Identity(), s.node.Nickname())
	out := []PrivateRoom{}
	for _, r := range all {
		out = append(out, *privateRoom(r, all, names))
	}
	return out, nil
}

// Local's conversation methods: what is stored is answered from the file.

// SendDirect implements API: ErrNoNode (a command may start a node for it).
func (l *Local) SendDirect(context.Context, DirectParams) (*SendResult, error) {
	return nil, noNode("send")
}

// CreateRoom implements API: ErrNoNode.
func (l *Local) CreateRoom(context.Context, CreateRoomParams) (*PrivateRoom, error) {
	return nil, noNode("room create")
}

// Invite implements API: ErrNoNode.
func (l *Local) Invite(context.Context, MemberParams) (*MemberResult, error) {
	return nil, noNode("room invite")
}

// RemoveMember implements API: ErrNoNode.
func (l *Local) RemoveMember(context.Context, MemberParams) (*MemberResult, error) {
	return nil, noNode("room remove")
}

// Promote implements API: ErrNoNode.
func (l *Local) Promote(context.Context, MemberParams) (*MemberResult, error) {
	return nil, noNode("room promote")
}

// LeaveRoom implements API: ErrNoNode.
func (l *Local) LeaveRoom(context.Context, string) (*MemberResult, error) {
	return nil, noNode("room leave")
}

// Members implements API.
func (l *Local) Members(_ context.Context, room string) (*PrivateRoom, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	all, err := chat.PrivateRoomsIn(l.db, rec.Key)
	if err != nil {
		return nil, err
	}
	id, err := chat.ResolvePrivateIn(l.db, rec.Key, room)
	if err != nil {
		return nil, err
	}
	info, _ := findRoom(all, id)
	return privateRoom(info, all, trustNames(l.db, rec.Key, rec.Nickname)), nil
}

// PrivateRooms implements API.
func (l *Local) PrivateRooms(context.Context) ([]PrivateRoom, error) {
	rec, err := l.self()
	if err != nil {
		return nil, err
	}
	all, err := chat.PrivateRoomsIn(l.db, rec.Key)
	if err != nil {
		return nil, err
	}
	names := trustNames(l.db, rec.Key, rec.Nickname)
	out := []PrivateRoom{}
	for _, r := range all {
		out = append(out, *privateRoom(r, all, names))
	}
	return out, nil
}

// Client's conversation methods.

// SendDirect implements API.
func (c *Client) SendDirect(ctx context.Context, p DirectParams) (*SendResult, error) {
	return call[*SendResult](ctx, c, MethodSendDirect, p)
}

// CreateRoom implements API.
func (c *Client) CreateRoom(ctx context.Context, p CreateRoomParams) (*PrivateRoom, error) {
	return call[*PrivateRoom](ctx, c, MethodRoomCreate, p)
}

// Invite implements API.
func (c *Client) Invite(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return call[*MemberResult](ctx, c, MethodRoomInvite, p)
}

// RemoveMember implements API.
func (c *Client) RemoveMember(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return call[*MemberResult](ctx, c, MethodRoomRemove, p)
}

// Promote implements API.
func (c *Client) Promote(ctx context.Context, p MemberParams) (*MemberResult, error) {
	return call[*MemberResult](ctx, c, MethodRoomPromote, p)
}

// LeaveRoom implements API.
func (c *Client) LeaveRoom(ctx context.Context, room string) (*MemberResult, error) {
	return call[*MemberResult](ctx, c, MethodRoomLeave, RoomParams{Room: room})
}

// Members implements API.
func (c *Client) Members(ctx context.Context, room string) (*PrivateRoom, error) {
	return call[*PrivateRoom](ctx, c, MethodRoomMembers, RoomParams{Room: room})
}

// PrivateRooms implements API.
func (c *Client) PrivateRooms(ctx context.Context) ([]PrivateRoom, error) {
	return call[[]PrivateRoom](ctx, c, MethodPrivateRooms, nil)
}

// convoMethods are the conversation request methods (added to methods).
var convoMethods = map[string]method{
	MethodSendDirect: withParams(func(ctx context.Context, a API, p DirectParams) (any, error) { return a.SendDirect(ctx, p) }),
	MethodRoomCreate: withParams(func(ctx context.Context, a API, p CreateRoomParams) (any, error) { return a.CreateRoom(ctx, p) }),
	MethodRoomInvite: withParams(func(ctx context.Context, a API, p MemberParams) (any, error) { return a.Invite(ctx, p) }),
	MethodRoomRemove: withParams(func(ctx context.Context, a API, p MemberParams) (any, error) { return a.RemoveMember(ctx, p) }),
	MethodRoomPromote: withParams(func(ctx context.Context, a API, p MemberParams) (any, error) {
		return a.Promote(ctx, p)
	}),
	MethodRoomLeave:    withParams(func(ctx context.Context, a API, p RoomParams) (any, error) { return a.LeaveRoom(ctx, p.Room) }),
	MethodRoomMembers:  withParams(func(ctx context.Context, a API, p RoomParams) (any, error) { return a.Members(ctx, p.Room) }),
	MethodPrivateRooms: func(ctx context.Context, a API, _ json.RawMessage) (any, error) { return a.PrivateRooms(ctx) },
}

func init() {
	for name, m := range convoMethods {
		methods[name] = m
	}
}

// DirectID returns the identifier of the direct conversation between the
// fingerprints a and b (any form ParseFingerprint reads), so that a front
// end can tell which conversation a message, status or receipt is of.
func DirectID(a, b string) (string, error) {
	fa, err := lcrypto.ParseFingerprint(a)
	if err != nil {
		return "", err
	}
	fb, err := lcrypto.ParseFingerprint(b)
	if err != nil {
		return "", err
	}
	return chat.DirectID(fa, fb), nil
}

// ConvoKind returns the kind of conversation a room identifier names:
// KindRoom, KindDirect or KindPrivate.
func ConvoKind(room string) string { return chat.ConvoKind(room) }
