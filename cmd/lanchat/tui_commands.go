package main

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// defaultHistoryLines is what /history shows without a number.
const defaultHistoryLines = 20

var tuiHelp = []string{
	"/join ROOM         join a room; plain lines then go there",
	"/leave [ROOM]      leave a room (default: the current one)",
	"/rooms             the rooms you are in",
	"/peers             who is around, trusted or not, linked or not",
	"/trust FP [NAME]   trust a fingerprint (compare it with them first)",
	"/untrust FP        stop trusting a fingerprint; its link closes",
	"/history [N]       the last N messages of the current room (default 20)",
	"/nick [NAME]       show your nickname, or keep a new one for next time",
	"/quit              leave (Ctrl-C and Ctrl-D do too)",
	"#room text         send one line to another room you are in; //text sends \"/text\"",
}

// handleLine sends a typed line or runs a slash command; it reports /quit.
func (u *tui) handleLine(ctx context.Context, line string) (quit bool) {
	if strings.TrimSpace(line) == "" {
		return false
	}
	if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		return u.command(ctx, cmd, strings.TrimSpace(arg))
	}
	line = strings.TrimPrefix(line, "/")
	room := u.room
	if strings.HasPrefix(line, "#") {
		if r, text, ok := strings.Cut(line[1:], " "); ok {
			room, line = r, text
		}
	}
	if room == "" {
		u.notice("you are in no room: /join ROOM first")
		return false
	}
	if _, _, err := u.rn.node.Send(ctx, room, line); err != nil {
		u.notice("not sent: %v", err)
	}
	return false
}

func (u *tui) command(ctx context.Context, cmd, arg string) (quit bool) {
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/help":
		for _, h := range tuiHelp {
			u.notice("%s", h)
		}
	case "/join":
		u.join(arg)
	case "/leave":
		u.leave(arg)
	case "/rooms":
		u.rooms()
	case "/peers":
		u.peers()
	case "/trust":
		u.trust(arg)
	case "/untrust":
		u.untrust(arg)
	case "/history":
		u.history(arg)
	case "/nick":
		u.setNick(arg)
	default:
		u.notice("unknown command %s (/help lists them)", sanitizeLine(cmd))
	}
	return false
}

func (u *tui) join(arg string) {
	room, err := u.rn.node.Join(arg)
	if err != nil {
		u.notice("cannot join: %v", err)
		return
	}
	u.setRoom(room)
	u.notice("joined #%s; plain lines now go there", room)
}

func (u *tui) leave(arg string) {
	if arg == "" {
		arg = u.room
	}
	room, err := u.rn.node.Leave(arg)
	if err != nil {
		u.notice("cannot leave: %v", err)
		return
	}
	u.notice("left #%s", room)
	if room == u.room {
		u.setRoom(firstOr(u.rn.node.Rooms(), ""))
	}
}

func (u *tui) rooms() {
	rooms := u.rn.node.Rooms()
	if len(rooms) == 0 {
		u.notice("you are in no room: /join ROOM")
		return
	}
	for i, r := range rooms {
		rooms[i] = "#" + r
		if r == u.room {
			rooms[i] += " (current)"
		}
	}
	u.notice("rooms: %s", strings.Join(rooms, ", "))
}

func (u *tui) peers() {
	peers := u.rn.node.Peers()
	if len(peers) == 0 {
		u.notice("nobody found yet")
	}
	for _, p := range peers {
		state := "not trusted"
		switch {
		case p.Linked:
			state = "linked"
		case p.Trusted:
			state = "trusted, not linked"
		}
		line := u.peerLabel(p) + " " + p.Fingerprint + " " + state
		if p.Addr != "" {
			line += " at " + p.Addr
		}
		if len(p.Rooms) > 0 {
			line += " in #" + strings.Join(p.Rooms, ", #")
		}
		u.notice("%s", line)
	}
}

// parseTrustArgs reads "FP [NAME]"; the fingerprint may be typed in groups
// separated by spaces.
func parseTrustArgs(arg string) (lcrypto.Fingerprint, string, error) {
	fields := strings.Fields(arg)
	fp, err := lcrypto.ParseFingerprint(strings.Join(fields, " "))
	if err == nil || len(fields) < 2 {
		return fp, "", err
	}
	fp, err2 := lcrypto.ParseFingerprint(strings.Join(fields[:len(fields)-1], " "))
	if err2 != nil {
		return fp, "", err
	}
	return fp, fields[len(fields)-1], nil
}

func (u *tui) trust(arg string) {
	fp, name, err := parseTrustArgs(arg)
	if err == nil {
		err = storage.CheckName(name)
	}
	if err != nil {
		u.notice("cannot trust: %v (usage: /trust FINGERPRINT [NAME])", err)
		return
	}
	added, err := u.rn.node.Trust(fp, name)
	switch {
	case err != nil:
		u.notice("cannot trust: %v", err)
	case added:
		u.notice("trusted %s%s: lanchat links with them as soon as they are found", fp, nameSuffix(name))
	default:
		u.notice("already trusted: %s%s", fp, nameSuffix(name))
	}
}

func (u *tui) untrust(arg string) {
	fp, err := lcrypto.ParseFingerprint(arg)
	if err != nil {
		u.notice("cannot untrust: %v (usage: /untrust FINGERPRINT)", err)
		return
	}
	if err := u.rn.node.Untrust(fp); err != nil {
		if errors.Is(err, storage.ErrNotTrusted) {
			err = errors.New("not in your trust list (lanchat trusted lists it)")
		}
		u.notice("cannot untrust: %v", err)
		return
	}
	u.notice("no longer trusted: %s; any link with them is closed", fp)
}

func (u *tui) history(arg string) {
	n := defaultHistoryLines
	if arg != "" {
		var err error
		if n, err = strconv.Atoi(arg); err != nil || n <= 0 {
			u.notice("usage: /history [N], N a positive number")
			return
		}
	}
	if u.room == "" {
		u.notice("you are in no room: /join ROOM")
		return
	}
	views, err := chat.ReadHistory(u.rn.db, u.rn.node.Identity(), u.nick, chat.HistoryQuery{Rooms: []string{u.room}, Limit: n})
	if err != nil {
		u.notice("cannot read the history: %v", err)
		return
	}
	u.notice("the last %d message(s) of #%s:", len(views), u.room)
	for _, v := range views {
		u.print(u.message(v))
	}
}

// setNick shows the nickname, or stores a new one in the identity: peers
// get it with the next links (the hello of a live link cannot change).
func (u *tui) setNick(arg string) {
	fp := u.rn.node.Identity().Fingerprint()
	if arg == "" {
		u.notice("you are %s", u.label(u.nick, fp.Short(), fp.String()))
		return
	}
	if err := chat.CheckNick(arg); err != nil {
		u.notice("cannot use that nickname: %v", err)
		return
	}
	rec, err := u.rn.db.Identity()
	if err == nil {
		rec.Nickname = arg
		err = u.rn.db.PutIdentity(rec)
	}
	if err != nil {
		u.notice("cannot keep the nickname: %v", err)
		return
	}
	u.notice("kept %q: peers see it from your next lanchat chat (unless --nick says otherwise); now they see %q",
		arg, u.nick)
}
