package chatui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/control"
)

// Attention: read positions, unread counts and mentions, receipts of
// one's own messages, presence. The interpreter marks a room read as its
// messages are shown while it is the current room (in Plain and Terminal
// mode; a --json bot marks what it wants with the API), counts the
// others' messages of other rooms as unread until the room is made
// current, and keeps the attention line (Terminal: above the prompt) up
// to date.

// readDelay gathers the messages shown before their read position is
// sent to the node: one call per room however fast they come.
const readDelay = 500 * time.Millisecond

// attention is the interpreter's attention state (Run's goroutine only).
type attention struct {
	unread   map[string]control.RoomStatus // other rooms' unread counts
	lastOwn  map[string]*control.MessageView
	receipt  map[string]*control.ReceiptView // of lastOwn, by room
	readPend map[string]string               // room → last message shown, not yet marked read
	timer    *time.Timer
	typing   map[typingKey]typist // who is typing where, until when
	typTimer *time.Timer
}

type typingKey struct{ room, fp string }

type typist struct {
	label string
	until time.Time
}

// typingShown is how long a typing event is shown.
const typingShown = 5 * time.Second

// typingEvery is how often the user's typing is said (the node limits it
// too).
const typingEvery = 3 * time.Second

// typed tells the peers that the user is typing buf (a line, not a
// command), at most once per typingEvery.
func (s *interp) typed(ctx context.Context, buf string) {
	if !s.typingOn || s.room == "" || strings.TrimSpace(buf) == "" || strings.HasPrefix(buf, "/") {
		return
	}
	now := s.now()
	if !s.typedAt.IsZero() && now.Sub(s.typedAt) < typingEvery {
		return
	}
	s.typedAt = now
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	_ = s.api.Typing(ctx, s.current()) // a hint: a failure is not worth a notice
}

// peerTyping shows that a peer types, for typingShown.
func (s *interp) peerTyping(ev control.Event) {
	if ev.Peer == nil || s.att.unread == nil {
		return
	}
	if s.att.typing == nil {
		s.att.typing = map[typingKey]typist{}
	}
	s.att.typing[typingKey{ev.Room, ev.Peer.Fingerprint}] = typist{label: PeerLabel(ev.Peer), until: time.Now().Add(typingShown)}
	if s.att.typTimer == nil {
		s.att.typTimer = time.NewTimer(typingShown)
	} else {
		s.att.typTimer.Reset(typingShown)
	}
	s.updateStatus()
}

// typingTimer fires when a typing indicator is due to go; nil if none.
func (s *interp) typingTimer() <-chan time.Time {
	if len(s.att.typing) == 0 || s.att.typTimer == nil {
		return nil
	}
	return s.att.typTimer.C
}

// typingText is "bob(QSMG3CI) is typing in #lobby", dropping what expired.
func (s *interp) typingText() string {
	now := time.Now()
	var parts []string
	for k, ty := range s.att.typing {
		if now.After(ty.until) {
			delete(s.att.typing, k)
			continue
		}
		switch {
		case strings.HasPrefix(k.room, "dm."):
			parts = append(parts, ty.label+" is typing to you")
		case s.privateNames[k.room] != "":
			parts = append(parts, ty.label+" is typing in #"+s.privateNames[k.room]+MarkPrivate)
		default:
			parts = append(parts, ty.label+" is typing in #"+k.room)
		}
	}
	if len(s.att.typing) > 0 && s.att.typTimer != nil {
		s.att.typTimer.Reset(time.Second) // look again soon
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// startAttention reads the unread counts and says what waits.
func (s *interp) startAttention(ctx context.Context) {
	a := &s.att
	a.unread, a.lastOwn, a.receipt, a.readPend = map[string]control.RoomStatus{}, map[string]*control.MessageView{},
		map[string]*control.ReceiptView{}, map[string]string{}
	rooms, err := s.api.RoomStatus(ctx)
	if err != nil {
		return
	}
	for _, r := range rooms {
		if !r.Joined || r.Unread == 0 {
			continue
		}
		a.unread[r.Room] = r
		if s.mode != JSON {
			s.notice("%s: %d unread%s; %s shows them", RoomLabel(r), r.Unread, mentionsText(r.Mentions), historyHint(r))
		}
	}
	s.updateStatus()
}

// RoomLabel is how a room's status is named: "#lobby", "@bob" for a
// direct conversation, "#design[private]" for a private room.
func RoomLabel(r control.RoomStatus) string {
	switch r.Conversation {
	case control.KindDirect:
		if r.Name != "" {
			return "@" + SanitizeLine(r.Name)
		}
		if short, _, _ := strings.Cut(r.With, "-"); short != "" {
			return "@" + short
		}
	case control.KindPrivate:
		if r.Name != "" {
			return "#" + SanitizeLine(r.Name) + MarkPrivate
		}
		return "#" + r.Room + MarkPrivate
	}
	return "#" + r.Room
}

// historyHint says how to see a room's unread messages.
func historyHint(r control.RoomStatus) string {
	switch r.Conversation {
	case control.KindDirect:
		return fmt.Sprintf("/query %s then /history %d", strings.TrimPrefix(RoomLabel(r), "@"), r.Unread)
	case control.KindPrivate:
		return fmt.Sprintf("/query #%s then /history %d", r.Name, r.Unread)
	}
	return fmt.Sprintf("/history %d", r.Unread)
}

func mentionsText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d mention(s) of you", n)
}

// seen notes a message shown: read if it is in the current room, else
// unread there.
func (s *interp) seen(v *control.MessageView) {
	a := &s.att
	if a.unread == nil || s.mode == JSON {
		return
	}
	switch {
	case v.Own:
		a.lastOwn[v.Room] = v
		delete(a.receipt, v.Room)
	case v.Room == s.current():
		s.queueRead(v.Room, v.ID)
	default:
		st := a.unread[v.Room]
		st.Room, st.Conversation, st.Name, st.With = v.Room, v.Conversation, v.RoomName, v.With
		if v.Conversation == control.KindDirect {
			st.Name = v.WithNick
		}
		st.Unread++
		if v.Mention {
			st.Mentions++
		}
		a.unread[v.Room] = st
	}
	s.updateStatus()
}

// queueRead marks room read up to id after readDelay.
func (s *interp) queueRead(room, id string) {
	a := &s.att
	a.readPend[room] = id
	if a.timer == nil {
		a.timer = time.NewTimer(readDelay)
	} else if len(a.readPend) == 1 {
		a.timer.Reset(readDelay)
	}
}

// readTimer fires when read positions are due; nil when none is.
func (s *interp) readTimer() <-chan time.Time {
	if len(s.att.readPend) == 0 || s.att.timer == nil {
		return nil
	}
	return s.att.timer.C
}

// flushRead sends the read positions due.
func (s *interp) flushRead(ctx context.Context) {
	pend := s.att.readPend
	s.att.readPend = map[string]string{}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	for room, id := range pend {
		if _, err := s.markRead(ctx, control.MarkReadParams{Room: room, ID: id}); err != nil {
			s.notice("cannot mark #%s read: %s", room, errText(err))
		}
	}
}

// roomRead marks the whole room read (it became the current room).
func (s *interp) roomRead(ctx context.Context, room string) {
	if s.att.unread == nil || s.mode == JSON || room == "" {
		return
	}
	delete(s.att.unread, room)
	delete(s.att.readPend, room)
	if _, err := s.markRead(ctx, control.MarkReadParams{Room: room}); err != nil {
		s.notice("cannot mark #%s read: %s", room, errText(err))
	}
	s.updateStatus()
}

// receiptChanged refreshes the receipt of the last own message in room.
func (s *interp) receiptChanged(ctx context.Context, room string) {
	v := s.att.lastOwn[room]
	if v == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	r, err := s.receipt(ctx, control.ReceiptParams{Room: room, Seq: v.Seq})
	if err != nil {
		return
	}
	s.att.receipt[room] = r
	s.updateStatus()
}

// updateStatus shows the attention line: other rooms with unread
// messages, and how far the last own message of the current room got.
func (s *interp) updateStatus() {
	a := &s.att
	var parts []string
	rooms := make([]string, 0, len(a.unread))
	for r := range a.unread {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	for _, r := range rooms {
		st := a.unread[r]
		p := fmt.Sprintf("%s %d", RoomLabel(st), st.Unread)
		if st.Mentions > 0 {
			p += fmt.Sprintf(" @%d", st.Mentions)
		}
		parts = append(parts, p)
	}
	status := ""
	if len(parts) > 0 {
		status = "unread: " + strings.Join(parts, ", ")
	}
	if r := a.receipt[s.current()]; r != nil {
		if status != "" {
			status += " | "
		}
		status += "your last message: " + receiptMark(r, s.r.ascii())
	}
	if t := s.typingText(); t != "" {
		if status != "" {
			status += " | "
		}
		status += t
	}
	s.r.setStatus(status)
}

// receiptMark is a receipt in a few words, with the glyph of the marks on
// own lines: "· only here", "✓ stored by 2 of 3", "✓✓ stored by all 3,
// read by 1" (ASCII: ".", "+", "++").
func receiptMark(r *control.ReceiptView, ascii bool) string {
	st := stateOf(r)
	return strings.TrimSpace(storedGlyph(st, ascii)) + " " + receiptWords(st)
}

// namesOf labels fingerprints by the trust list's names, else the
// nicknames this session saw.
func (s *interp) namesOf(fps []string, trusted map[string]string) string {
	if len(fps) == 0 {
		return "nobody"
	}
	out := make([]string, len(fps))
	for i, fp := range fps {
		short, _, _ := strings.Cut(fp, "-")
		name := trusted[fp]
		if name == "" {
			name = s.names.nickOf(fp)
		}
		out[i] = nameLabel(name, short)
	}
	return strings.Join(out, ", ")
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// setPresence is /away, /busy and /back.
func (s *interp) setPresence(ctx context.Context, state, status string) {
	res, err := s.api.SetPresence(ctx, control.PresenceParams{State: state, Status: status})
	if err != nil {
		s.notice("cannot set your presence: %s", errText(err))
		return
	}
	if res.Status != "" {
		s.notice("you are %s (%s); your linked peers see it", res.State, SanitizeLine(res.Status))
		return
	}
	s.notice("you are %s; your linked peers see it", res.State)
}

// presenceNotice shows a peer's presence.
func (s *interp) presenceNotice(p *control.PeerView) {
	if p == nil {
		return
	}
	l := s.peerNotice(p).addf(" is %s", SanitizeLine(p.Presence))
	if p.Status != "" {
		l = l.addf(": %s", SanitizeLine(p.Status))
	}
	s.show(l)
}

// idleAway is the terminal's automatic away: after a while without a key
// the peers are told "away (idle)", and the next key undoes it, unless
// the presence was set by hand meanwhile.
type idleAway struct {
	after time.Duration // 0: off
	timer *time.Timer
	auto  bool // the away now shown is ours
}

// idleStatus is the status line of the automatic away.
const idleStatus = "idle"

func (s *interp) idleTimer() <-chan time.Time {
	if s.idle.after <= 0 || s.idle.auto {
		return nil
	}
	if s.idle.timer == nil {
		s.idle.timer = time.NewTimer(s.idle.after)
	}
	return s.idle.timer.C
}

// keyPressed restarts the idle wait, and ends an automatic away.
func (s *interp) keyPressed(ctx context.Context) {
	if s.idle.after <= 0 {
		return
	}
	if s.idle.timer != nil {
		s.idle.timer.Reset(s.idle.after)
	}
	if !s.idle.auto {
		return
	}
	s.idle.auto = false
	if st := s.ownPresence(ctx); st.Presence == "away" && st.Status == idleStatus {
		ctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		if _, err := s.api.SetPresence(ctx, control.PresenceParams{State: "online"}); err == nil {
			s.notice("you are online again")
		}
	}
}

// wentIdle says away, unless a presence other than online is set.
func (s *interp) wentIdle(ctx context.Context) {
	if st := s.ownPresence(ctx); st.Presence != "online" {
		s.idle.timer.Reset(s.idle.after) // set by hand: leave it, look again later
		return
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := s.api.SetPresence(ctx, control.PresenceParams{State: "away", Status: idleStatus}); err != nil {
		s.idle.timer.Reset(s.idle.after)
		return
	}
	s.idle.auto = true
	s.notice("no key for %v: your peers see you away (idle) until you type", s.idle.after)
}

// ownPresence is what the node tells its peers now.
func (s *interp) ownPresence(ctx context.Context) control.NodeState {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	id, err := s.api.Identity(ctx)
	if err != nil || id.Node == nil {
		return control.NodeState{}
	}
	return *id.Node
}
