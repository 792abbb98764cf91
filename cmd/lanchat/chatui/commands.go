package chatui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/control"
)

// defaultHistoryLines is what /history shows without a number.
const defaultHistoryLines = 20

// Help is what /help shows, one line a command.
var Help = []string{
	"/join ROOM         join a room; plain lines then go there",
	"/leave [ROOM]      leave a room (default: the current one)",
	"/rooms             the rooms you are in",
	"/peers             who is around, trusted or not, linked or not",
	"/trust FP [NAME]   trust a fingerprint (compare it with them first); NAME may have spaces",
	"/untrust FP        stop trusting a fingerprint; its link closes",
	"/history [N]       the last N messages of the current room (default 20)",
	"/nick [NAME]       show your nickname, or change it (now, and for next time)",
	"/away [TEXT]       tell your linked peers you are away (TEXT: a status line)",
	"/busy [TEXT]       tell them you are busy",
	"/back              tell them you are online again",
	"/who-read [N|=SEQ] who stored and read your last message here, the Nth last (1: the last), or number SEQ",
	"                   your lines end in a mark [SEQ SSR]: SEQ the number; · only here, ✓ stored by some,",
	"                   ✓✓ by all of the room's other members; r read by some, R by all (ASCII: . + ++)",
	"/delete SEQ|ID     delete your message (its number, or its id or a prefix) in this room for everyone",
	"@nick              mentions someone (Tab completes the nickname); they are notified",
	"/file PATH         offer a file or folder in the current room",
	"/files             the file offers in your rooms and your fetches",
	"/fetch ID [DIR]    fetch a file offer into DIR (default: the current folder)",
	"/quit              leave (Ctrl-C and Ctrl-D do too on a terminal)",
	"#room text         send one line to another room you are in",
	"//text, ##text     send a line starting with / or # (\"/text\", \"#text\")",
}

// handleLine sends a typed line or runs a slash command; it reports /quit.
func (s *interp) handleLine(ctx context.Context, text string) (quit bool) {
	in, ok := parseLine(text)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if in.cmd != "" {
		return s.command(ctx, in.cmd, in.arg)
	}
	s.send(ctx, in.room, in.text)
	return false
}

// send sends text to room (named by "#room text") or the current room,
// in several messages if it is longer than one may be.
func (s *interp) send(ctx context.Context, room, text string) {
	named := room != ""
	if !named {
		room = s.room
	}
	if peer := directTarget(room); peer != "" && text != "" {
		s.sendDirect(ctx, peer, text)
		return
	}
	if room == "" {
		s.notice("not sent: you are in no room; /join ROOM first")
		return
	}
	if text == "" {
		s.notice("not sent: nothing after #%s (## sends a line starting with #)", SanitizeLine(room))
		return
	}
	parts := splitBody(text, control.MaxBodyBytes)
	if len(parts) > 1 {
		s.notice("the line is %d bytes, more than one message holds (%d): sending it as %d messages",
			len(text), control.MaxBodyBytes, len(parts))
	}
	kind := ""
	switch {
	case strings.HasPrefix(room, "pr."):
		kind = control.KindPrivate
	case !named: // the current room, an open one
		kind = control.KindRoom
	}
	for i, p := range parts {
		if _, err := s.api.Send(ctx, control.SendParams{Room: room, Body: p, Kind: kind}); err != nil {
			what := "not sent"
			if len(parts) > 1 {
				what = "part " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(parts)) + " not sent (nor the rest)"
			}
			if named && errors.Is(err, control.ErrNotJoined) {
				s.notice("%s: %s (a line starting with #ROOM goes to that room; ## sends a line starting with #)", what, errText(err))
				return
			}
			s.notice("%s: %s", what, errText(err))
			return
		}
	}
}

// errText is an API error with its hint, if it has one.
func errText(err error) string {
	var ce *control.Error
	if errors.As(err, &ce) && ce.Hint != "" {
		return SanitizeLine(ce.Message + "; " + ce.Hint)
	}
	return SanitizeLine(err.Error())
}

func (s *interp) command(ctx context.Context, cmd, arg string) (quit bool) {
	if s.convoCommand(ctx, cmd, arg) {
		return false
	}
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/help":
		for _, h := range Help {
			s.notice("%s", h)
		}
	case "/join":
		s.join(ctx, arg)
	case "/leave":
		s.leave(ctx, arg)
	case "/rooms":
		s.listRooms(ctx)
	case "/peers":
		s.peers(ctx)
	case "/trust":
		s.trust(ctx, arg)
	case "/untrust":
		s.untrust(ctx, arg)
	case "/history":
		s.history(ctx, arg)
	case "/nick":
		s.setNick(ctx, arg)
	case "/away":
		s.setPresence(ctx, "away", arg)
	case "/busy":
		s.setPresence(ctx, "busy", arg)
	case "/back":
		s.setPresence(ctx, "online", "")
	case "/who-read", "/whoread":
		s.whoRead(ctx, arg)
	case "/file":
		s.offerFile(ctx, arg)
	case "/files":
		s.listFiles(ctx)
	case "/fetch":
		s.fetch(ctx, arg)
	case "/delete":
		s.deleteMessage(ctx, arg)
	default:
		s.notice("unknown command %s (/help lists them; // sends a line starting with /)", SanitizeLine(cmd))
	}
	return false
}

// setRoom makes room the current one.
func (s *interp) setRoom(room string) {
	s.room = room
	if name, ok := s.privateNames[room]; ok {
		s.r.setRoom(name + MarkPrivate)
		return
	}
	s.r.setRoom(room)
}

func (s *interp) join(ctx context.Context, arg string) {
	if arg == "" {
		s.notice("usage: /join ROOM")
		return
	}
	res, err := s.api.Join(ctx, arg)
	if err != nil {
		s.notice("cannot join: %s", errText(err))
		return
	}
	s.refreshRooms(ctx)
	s.setRoom(res.Room)
	s.notice("joined #%s; plain lines now go there", res.Room)
	s.roomRead(ctx, res.Room)
}

func (s *interp) leave(ctx context.Context, arg string) {
	if arg == "" {
		arg = s.room
	}
	if arg == "" {
		s.notice("you are in no room")
		return
	}
	res, err := s.api.Leave(ctx, arg)
	if err != nil {
		s.notice("cannot leave: %s", errText(err))
		return
	}
	s.refreshRooms(ctx)
	s.notice("left #%s", res.Room)
	if res.Room == s.room {
		next := ""
		if len(s.rooms) > 0 {
			next = s.rooms[0]
		}
		s.setRoom(next)
		if next == "" {
			s.notice("you are in no room now: /join ROOM")
		} else {
			s.notice("plain lines now go to #%s", next)
		}
	}
}

func (s *interp) listRooms(ctx context.Context) {
	s.refreshRooms(ctx)
	if len(s.rooms) == 0 {
		s.notice("you are in no room: /join ROOM")
		return
	}
	names := make([]string, len(s.rooms))
	for i, r := range s.rooms {
		names[i] = "#" + r
		if r == s.room {
			names[i] += " (current)"
		}
	}
	s.notice("rooms: %s", strings.Join(names, ", "))
}

// historyName names the current conversation in /history's notice.
func historyName(room string, views []*control.MessageView) string {
	if len(views) > 0 {
		return ConvoLabel(views[0])
	}
	if directTarget(room) != "" {
		return convoName(room)
	}
	return "#" + room
}

// roomList is "#a, #b", or "no room".
func roomList(rooms []string) string {
	if len(rooms) == 0 {
		return "no room"
	}
	return "#" + strings.Join(rooms, ", #")
}

// roomName is "#room", or "no room".
func roomName(room string) string {
	if room == "" {
		return "no room"
	}
	return "#" + room
}

func (s *interp) peers(ctx context.Context) {
	peers, err := s.api.Peers(ctx)
	if err != nil {
		s.notice("cannot list the peers: %s", errText(err))
		return
	}
	if len(peers) == 0 {
		s.notice("nobody found yet")
	}
	for _, p := range peers {
		state := "not trusted"
		switch {
		case p.Linked:
			state = "linked"
		case p.Trusted:
			state = "trusted, not linked"
		}
		l := s.peerNotice(&control.PeerView{Fingerprint: p.Fingerprint, Short: p.Short, Nick: p.Nick})
		if p.Name != "" {
			l = l.addf(" %q", SanitizeLine(p.Name))
		}
		if p.Presence != "" && p.Presence != "online" {
			state += ", " + p.Presence
		}
		if p.Status != "" {
			state += fmt.Sprintf(" (%s)", SanitizeLine(p.Status))
		}
		l = l.addf(" %s %s", p.Fingerprint, state)
		if p.Addr != "" {
			l = l.addf(" at %s", p.Addr)
		}
		s.show(l)
	}
}

func (s *interp) trust(ctx context.Context, arg string) {
	fp, name, err := parseTrustArgs(arg)
	if err != nil {
		s.notice("cannot trust: %v (usage: /trust FINGERPRINT [NAME])", err)
		return
	}
	res, err := s.api.Trust(ctx, control.FingerprintParams{Fingerprint: fp.String(), Name: name})
	switch {
	case err != nil:
		s.notice("cannot trust: %s", errText(err))
	case res.Added:
		s.notice("trusted %s%s: lanchat links with them as soon as they are found", res.Fingerprint, nameSuffix(res.Name))
	case res.PreviousName != res.Name:
		s.notice("already trusted: %s, now named %q (was %q)", res.Fingerprint, SanitizeLine(res.Name), SanitizeLine(res.PreviousName))
	default:
		s.notice("already trusted: %s%s", res.Fingerprint, nameSuffix(res.Name))
	}
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (" + SanitizeLine(name) + ")"
}

func (s *interp) untrust(ctx context.Context, arg string) {
	fp, name, err := parseTrustArgs(arg)
	if err == nil && name != "" {
		s.notice("cannot untrust: only a fingerprint, no name (usage: /untrust FINGERPRINT)")
		return
	}
	if err != nil {
		s.notice("cannot untrust: %v (usage: /untrust FINGERPRINT)", err)
		return
	}
	res, err := s.api.Untrust(ctx, fp.String())
	if err != nil {
		s.notice("cannot untrust: %s", errText(err))
		return
	}
	s.notice("no longer trusted: %s%s; any link with them is closed", res.Fingerprint, nameSuffix(res.Name))
}

func (s *interp) history(ctx context.Context, arg string) {
	n := defaultHistoryLines
	if arg != "" {
		var err error
		if n, err = strconv.Atoi(arg); err != nil || n <= 0 {
			s.notice("usage: /history [N], N a positive number")
			return
		}
	}
	if s.room == "" {
		s.notice("you are in no room: /join ROOM")
		return
	}
	q := control.HistoryParams{Rooms: []string{s.room}, Limit: n, Deleted: true}
	if peer := directTarget(s.room); peer != "" {
		q = control.HistoryParams{With: peer, Limit: n, Deleted: true}
	}
	views, err := s.historyOf(ctx, q)
	if err != nil {
		s.notice("cannot read the history: %s", errText(err))
		return
	}
	s.notice("the last %d message(s) of %s:", len(views), historyName(s.room, views))
	for _, v := range views {
		s.showMessage(ctx, v, false)
	}
}

// setNick shows the nickname, or changes it: at once here and in the
// stored identity; peers learn it when they next link.
func (s *interp) setNick(ctx context.Context, arg string) {
	if arg == "" {
		s.show(line{kind: lineNotice}.add(plainAttr, "you are ").add(colorOf(s.self.Fingerprint), nameLabel(s.nick(), s.self.Short)))
		return
	}
	res, err := s.api.SetNick(ctx, arg)
	if err != nil {
		s.notice("cannot use that nickname: %s", errText(err))
		return
	}
	if s.self.Node != nil {
		s.self.Node.Nick = res.Nick
	}
	s.self.Nick = res.Nick
	s.names.see(res.Nick, s.self.Fingerprint)
	s.notice("you are %s now (kept for next time); linked peers see it when they next link", SanitizeLine(res.Nick))
}
