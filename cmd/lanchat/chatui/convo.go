package chatui

import (
	"context"
	"errors"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// Direct messages and private rooms in the chat: /msg, /query and /room.
// The current conversation (interp.room) is an open room's name, a
// private room's id, or "@PEER" for the direct conversation with PEER.

// ConvoHelp is the part of /help about conversations.
var ConvoHelp = []string{
	"/msg PEER text     send a direct message to a trusted peer (name or fingerprint): only the two of you hold it",
	"/query PEER        plain lines go to PEER as direct messages; /query #ROOM goes back to a room (or a private one)",
	"/room create NAME  create a private (invite-only) room; you are its admin",
	"/room invite ROOM PEER, /room remove ROOM PEER, /room promote ROOM PEER",
	"/room leave [ROOM], /room members [ROOM], /room list   (ROOM: a private room's name or id; default the current one)",
}

func init() { Help = append(Help, ConvoHelp...) }

// directTarget is the peer of a "@PEER" conversation, or "".
func directTarget(room string) string {
	peer, ok := strings.CutPrefix(room, "@")
	if !ok {
		return ""
	}
	return peer
}

// kindOf says which kind of room the interpreter means by room: "room"
// for an open room's name (which a private room may share), "" for a
// conversation's id ("pr.", "dm."), which says it itself, and for "@peer".
func kindOf(room string) string {
	if strings.HasPrefix(room, "pr.") || strings.HasPrefix(room, "dm.") || strings.HasPrefix(room, "@") {
		return ""
	}
	return control.KindRoom
}

// The API's history, receipt and mark_read of the interpreter's rooms. An
// open room's name goes bare, as every node reads it; only when the node
// says a private room has that name too (ambiguous) is it asked again with
// kind "room". So a window attached to an older node, which knows no kind
// and would refuse the field, works as before.

func (s *interp) historyOf(ctx context.Context, q control.HistoryParams) ([]*control.MessageView, error) {
	views, err := s.api.History(ctx, q)
	if len(q.Rooms) == 1 && retryAsOpen(err, q.Rooms[0]) {
		q.Kind = control.KindRoom
		return s.api.History(ctx, q)
	}
	return views, err
}

func (s *interp) receipt(ctx context.Context, p control.ReceiptParams) (*control.ReceiptView, error) {
	r, err := s.api.Receipt(ctx, p)
	if retryAsOpen(err, p.Room) {
		p.Kind = control.KindRoom
		return s.api.Receipt(ctx, p)
	}
	return r, err
}

func (s *interp) markRead(ctx context.Context, p control.MarkReadParams) (*control.RoomStatus, error) {
	st, err := s.api.MarkRead(ctx, p)
	if retryAsOpen(err, p.Room) {
		p.Kind = control.KindRoom
		return s.api.MarkRead(ctx, p)
	}
	return st, err
}

// retryAsOpen: err says room is ambiguous, and room is an open room's name.
func retryAsOpen(err error, room string) bool {
	var ce *control.Error
	return errors.As(err, &ce) && ce.Code == control.CodeAmbiguous && kindOf(room) == control.KindRoom
}

// convoCommand runs /msg, /query and /room; handled is false for others.
func (s *interp) convoCommand(ctx context.Context, cmd, arg string) (handled bool) {
	switch cmd {
	case "/msg":
		peer, text, _ := strings.Cut(arg, " ")
		if peer == "" || strings.TrimSpace(text) == "" {
			s.notice("usage: /msg PEER text")
			return true
		}
		s.sendDirect(ctx, peer, text)
	case "/query":
		s.query(ctx, arg)
	case "/room":
		sub, rest, _ := strings.Cut(arg, " ")
		s.roomCommand(ctx, strings.ToLower(sub), strings.Fields(rest))
	default:
		return false
	}
	return true
}

func (s *interp) sendDirect(ctx context.Context, peer, text string) {
	for _, p := range splitBody(text, control.MaxBodyBytes) {
		res, err := s.api.SendDirect(ctx, control.DirectParams{To: peer, Body: p})
		if err != nil {
			s.notice("not sent: %s", errText(err))
			return
		}
		s.noteDirect("@"+peer, res.Message.Room)
		if res.HandedTo == 0 {
			s.notice("%s is not linked now: they get it when you next link with each other", SanitizeLine(peer))
		}
	}
}

// query switches the current conversation.
func (s *interp) query(ctx context.Context, arg string) {
	switch {
	case arg == "":
		s.notice("usage: /query PEER, or /query #ROOM")
	case strings.HasPrefix(arg, "#"):
		room := strings.TrimPrefix(arg, "#")
		if pr, err := s.api.Members(ctx, room); err == nil {
			s.namePrivate(pr)
			s.setRoom(pr.ID)
			s.notice("plain lines now go to #%s%s (members see its messages from when they were added)", SanitizeLine(pr.Name), MarkPrivate)
			s.roomRead(ctx, pr.ID)
			return
		}
		s.refreshRooms(ctx)
		for _, r := range s.rooms {
			if r == strings.ToLower(room) {
				s.setRoom(r)
				s.notice("plain lines now go to #%s", r)
				return
			}
		}
		s.notice("you are in no room %s: /join it (an open room) or be invited (a private one)", SanitizeLine(arg))
	default:
		s.setRoom("@" + arg)
		s.notice("plain lines now go to %s as direct messages (/query #ROOM to go back)", SanitizeLine(arg))
		if id := s.resolveDirect(ctx, arg); id != "" {
			s.noteDirect("@"+arg, id)
			s.roomRead(ctx, id)
		}
	}
}

// noteDirect remembers that conversation "@peer" has identifier id.
func (s *interp) noteDirect(room, id string) {
	if s.directIDs == nil {
		s.directIDs = map[string]string{}
	}
	s.directIDs[room] = id
}

// resolveDirect finds the identifier of the direct conversation with peer
// (a trusted name, or a fingerprint), as the node does; "" if none.
func (s *interp) resolveDirect(ctx context.Context, peer string) string {
	fp := ""
	if trusted, err := s.api.Trusted(ctx); err == nil {
		for _, p := range trusted {
			if p.Name != "" && strings.EqualFold(p.Name, peer) {
				if fp != "" {
					return "" // ambiguous: sending says so
				}
				fp = p.Fingerprint
			}
		}
	}
	if fp == "" {
		fp = peer
	}
	id, err := control.DirectID(s.self.Fingerprint, fp)
	if err != nil {
		return ""
	}
	return id
}

// current returns the identifier of the current conversation: the
// conversation's id for "@peer", else the room.
func (s *interp) current() string {
	if id := s.directIDs[s.room]; id != "" {
		return id
	}
	return s.room
}

// currentPrivate returns args[0], or the current conversation if it is a
// private room.
func (s *interp) roomArg(args []string) (string, []string) {
	if len(args) > 0 {
		return args[0], args[1:]
	}
	if strings.HasPrefix(s.room, "pr.") {
		return s.room, nil
	}
	return "", nil
}

func (s *interp) roomCommand(ctx context.Context, sub string, args []string) {
	switch sub {
	case "create":
		if len(args) != 1 {
			s.notice("usage: /room create NAME")
			return
		}
		pr, err := s.api.CreateRoom(ctx, control.CreateRoomParams{Name: args[0]})
		if err != nil {
			s.notice("cannot create the room: %s", errText(err))
			return
		}
		s.namePrivate(pr)
		s.setRoom(pr.ID)
		s.notice("created #%s%s (%s); plain lines now go there; /room invite %s PEER", pr.Name, MarkPrivate, pr.ID, pr.Name)
	case "invite", "remove", "promote":
		if len(args) != 2 {
			s.notice("usage: /room %s ROOM PEER", sub)
			return
		}
		p := control.MemberParams{Room: args[0], Peer: args[1]}
		var res *control.MemberResult
		var err error
		switch sub {
		case "invite":
			res, err = s.api.Invite(ctx, p)
		case "remove":
			res, err = s.api.RemoveMember(ctx, p)
		default:
			res, err = s.api.Promote(ctx, p)
		}
		s.opDone(sub, res, err)
	case "leave":
		room, _ := s.roomArg(args)
		res, err := s.api.LeaveRoom(ctx, room)
		s.opDone(sub, res, err)
	case "members":
		room, _ := s.roomArg(args)
		s.members(ctx, room)
	case "list":
		s.privateRooms(ctx)
	default:
		s.notice("usage: /room create|invite|remove|promote|leave|members|list ...")
	}
}

func (s *interp) opDone(what string, res *control.MemberResult, err error) {
	if err != nil {
		s.notice("cannot %s: %s", what, errText(err))
		return
	}
	s.notice("#%s%s: you %s", SanitizeLine(res.RoomName), MarkPrivate, SanitizeLine(res.Message.Body))
}

func (s *interp) members(ctx context.Context, room string) {
	pr, err := s.api.Members(ctx, room)
	if err != nil {
		s.notice("cannot list the members: %s", errText(err))
		return
	}
	state := "you are no longer a member"
	if pr.Member {
		state = "you are a member"
	}
	if pr.Admin {
		state = "you are an admin"
	}
	s.notice("#%s%s %s: %s", SanitizeLine(pr.Name), MarkPrivate, pr.ID, state)
	for _, m := range pr.Members {
		role := "member"
		if m.Admin {
			role = "admin"
		}
		by := "created it"
		if m.InvitedBy != m.Fingerprint {
			by = "added by " + SanitizeLine(nameLabel(m.InvitedByName, m.InvitedBy[:7]))
		}
		s.notice("  %s %s, %s", SanitizeLine(nameLabel(m.Name, m.Short)), role, by)
	}
}

func (s *interp) privateRooms(ctx context.Context) {
	rooms, err := s.api.PrivateRooms(ctx)
	if err != nil {
		s.notice("cannot list the private rooms: %s", errText(err))
		return
	}
	if len(rooms) == 0 {
		s.notice("no private rooms: /room create NAME")
	}
	for _, r := range rooms {
		state := "member"
		if !r.Member {
			state = "no longer a member"
		}
		s.notice("#%s%s %s (%s, %d members)", SanitizeLine(r.Name), MarkPrivate, r.ID, state, len(r.Members))
	}
}

// invitedNotice tells the user, once an invite of theirs arrives, what an
// invited member sees.
func (s *interp) invitedNotice(v *control.MessageView) {
	if v.Op == nil || v.Op.Kind != "invite" || v.Op.Subject != s.self.Fingerprint || v.Own {
		return
	}
	s.notice("%s invited you to #%s%s: you see its messages from your invitation on; /query #%s to talk there",
		SanitizeLine(nameLabel(v.Nick, v.AuthorShort)), SanitizeLine(v.RoomName), MarkPrivate, SanitizeLine(v.RoomName))
}

// namePrivate remembers a private room's name for the prompt.
func (s *interp) namePrivate(pr *control.PrivateRoom) {
	if s.privateNames == nil {
		s.privateNames = map[string]string{}
	}
	s.privateNames[pr.ID] = pr.Name
}

// convoName is how the prompt and notices name a conversation.
func convoName(room string) string {
	if p := directTarget(room); p != "" {
		return "@" + p
	}
	return room
}
