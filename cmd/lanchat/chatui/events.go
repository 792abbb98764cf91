package chatui

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/control"
)

// Catch-up: messages that arrive by sync after an absence come author by
// author. They are held until the stream pauses and then shown together in
// the room's order, under one "while you were away" line.
const (
	catchUpQuiet   = 300 * time.Millisecond // a pause this long ends a batch
	catchUpMaxWait = 3 * time.Second        // a long stream is shown in batches this far apart
	catchUpMaxHeld = 2000                   // held messages before a batch is shown anyway
)

// event shows one event of the node.
func (s *interp) event(ctx context.Context, ev control.Event) {
	if !s.seeLink(ev) {
		return
	}
	if s.r.raw() {
		s.r.event(ev)
		s.watchRaw(ctx, ev)
		return
	}
	switch ev.Kind {
	case control.EventMessage:
		if ev.Message == nil {
			return
		}
		if ev.Message.CatchUp {
			s.hold(ev.Message)
			return
		}
		s.flushRoom(ctx, ev.Message.Room) // what was missed comes before what is new
		s.showMessage(ctx, ev.Message, false)
		s.invitedNotice(ev.Message)
		if ev.Message.Own {
			s.receiptChanged(ctx, ev.Message.Room)
		}
	case control.EventReceipt:
		s.receiptChanged(ctx, ev.Room)
		s.marksMoved(ev.Room)
	case control.EventPresence:
		s.presenceNotice(ev.Peer)
	case control.EventTyping:
		s.peerTyping(ev)
	case control.EventPeerUp:
		s.show(s.peerNotice(ev.Peer).add(plainAttr, " linked"))
	case control.EventPeerDown:
		s.show(s.peerNotice(ev.Peer).addf(" gone (%s)", SanitizeLine(ev.Reason)))
	case control.EventJoin:
		s.show(s.peerNotice(ev.Peer).addf(" joined #%s", ev.Room))
	case control.EventLeave:
		s.show(s.peerNotice(ev.Peer).addf(" left #%s", ev.Room))
	case control.EventUntrusted:
		if ev.Peer != nil {
			s.notice("untrusted peer %s at %s wants to link; compare the fingerprint with them, then /trust <fp> NAME (or lanchat trust <fp>) to let them in",
				ev.Peer.Fingerprint, ev.Peer.Addr)
		}
	case control.EventRefused:
		s.show(s.peerNotice(ev.Peer).addf(" refuses the link: %s", SanitizeLine(ev.Reason)))
	case control.EventEquivocation:
		s.show(s.peerNotice(ev.Peer).addf(" %s in #%s; every member keeps the same one, and their messages there are marked",
			SanitizeLine(ev.Reason), ev.Room))
	case control.EventUntrustedMany:
		s.notice("%s", SanitizeLine(ev.Reason))
	case control.EventRelinkBackoff:
		s.show(s.peerNotice(ev.Peer).addf(": %s", SanitizeLine(ev.Reason)))
	case control.EventFile:
		s.fileEvent(ev.File)
	case control.EventDeleted:
		if ev.Message != nil {
			m := *ev.Message
			m.Time = ev.Time // shown when the deletion came: the message's own time is not kept
			s.showMessage(ctx, &m, false)
		}
	case control.EventDropped:
		s.notice("%d events were not shown (display too slow); /history shows every message", ev.Count)
	}
}

// watchRaw is --json's part of the marks: own messages are watched, and a
// receipt of their room asks for their marks again (mark events).
func (s *interp) watchRaw(ctx context.Context, ev control.Event) {
	switch {
	case ev.Kind == control.EventMessage && ev.Message != nil && ev.Message.Own:
		s.watchOwn(ctx, ev.Message)
	case ev.Kind == control.EventReceipt:
		s.marksMoved(ev.Room)
	}
}

// peerNotice starts a notice with a peer's label.
func (s *interp) peerNotice(p *control.PeerView) line {
	l := line{kind: lineNotice}
	if p == nil {
		return l.add(plainAttr, "?")
	}
	shared := s.seeName(p.Nick, p.Short, p.Fingerprint)
	l = l.add(colorOf(p.Fingerprint), nameLabel(p.Nick, p.Short))
	if shared {
		l = l.add(red, "⚠")
	}
	return l
}

// showMessage shows a message line; the date is shown for another day
// unless a date line above says it (inBatch); an own message's line ends
// in its mark.
func (s *interp) showMessage(ctx context.Context, v *control.MessageView, inBatch bool) {
	shared := s.seeName(v.Nick, v.AuthorShort, v.Author)
	withRoom := len(s.rooms) > 1 || v.Conversation == control.KindDirect || v.Conversation == control.KindPrivate // conversations are always shown apart
	withDate := false
	if s.mode == Terminal {
		withRoom = v.Room != s.room
		withDate = !inBatch && !sameDay(v.Time, s.now())
	}
	l := messageLine(v, withRoom, withDate, shared)
	l.own = s.watchOwn(ctx, v)
	s.show(l)
	s.seen(v)
}

// seeName records who uses a nickname, warns the first time two keys share
// one (someone may be posing as someone else), and reports whether several
// keys use it.
func (s *interp) seeName(nick, short, fingerprint string) (shared bool) {
	if others := s.names.see(nick, fingerprint); len(others) > 0 {
		s.show(noticeLine(lineWarning, "warning: %d keys call themselves %q: %s and %s; tell them apart by the fingerprint, not the name",
			len(others)+1, SanitizeLine(strings.TrimSpace(nick)), strings.Join(shorts(others), ", "), short))
	}
	return s.names.shared(nick)
}

func shorts(fps []string) []string {
	out := make([]string, len(fps))
	for i, fp := range fps {
		out[i], _, _ = strings.Cut(fp, "-")
	}
	return out
}

// nameBook remembers which keys use which nickname in this session.
type nameBook struct {
	keys map[string][]string // folded nickname → fingerprints, in order seen
	byFP map[string]string   // fingerprint → its latest nickname
}

// nickOf is the latest nickname seen for a fingerprint, "" if none.
func (b *nameBook) nickOf(fp string) string { return b.byFP[fp] }

// complete returns the nicknames seen that start with prefix (case
// folded), sorted: for Tab after "@".
func (b *nameBook) complete(prefix string) []string {
	p := foldNick(prefix)
	seen := map[string]bool{}
	var out []string
	for _, nick := range b.byFP {
		if nick != "" && strings.HasPrefix(foldNick(nick), p) && !seen[nick] && !strings.ContainsAny(nick, " \t") {
			seen[nick] = true
			out = append(out, nick)
		}
	}
	slices.Sort(out)
	return out
}

func foldNick(nick string) string { return strings.ToLower(strings.TrimSpace(nick)) }

// see records that fingerprint uses nick; it returns the other keys using
// it when this key is new to the nickname and others had it first.
func (b *nameBook) see(nick, fingerprint string) (others []string) {
	k := foldNick(nick)
	if k == "" {
		return nil
	}
	if b.byFP == nil {
		b.byFP = map[string]string{}
	}
	b.byFP[fingerprint] = strings.TrimSpace(nick)
	if b.keys == nil {
		b.keys = map[string][]string{}
	}
	fps := b.keys[k]
	if slices.Contains(fps, fingerprint) {
		return nil
	}
	b.keys[k] = append(fps, fingerprint)
	return fps
}

// shared reports whether several keys use nick.
func (b *nameBook) shared(nick string) bool { return len(b.keys[foldNick(nick)]) > 1 }

// away holds the catch-up messages not shown yet, by room.
type away struct {
	rooms []string // in the order their first message came
	held  map[string][]*control.MessageView
	count int
	first time.Time // when the oldest held message came
	timer *time.Timer
}

// hold keeps a catch-up message until its batch ends.
func (s *interp) hold(v *control.MessageView) {
	a := &s.away
	if a.held == nil {
		a.held = map[string][]*control.MessageView{}
	}
	if _, ok := a.held[v.Room]; !ok {
		a.rooms = append(a.rooms, v.Room)
	}
	a.held[v.Room] = append(a.held[v.Room], v)
	a.count++
	now := time.Now()
	if a.count == 1 {
		a.first = now
	}
	wait := min(catchUpQuiet, a.first.Add(catchUpMaxWait).Sub(now))
	if a.count >= catchUpMaxHeld {
		wait = 0
	}
	if a.timer == nil {
		a.timer = time.NewTimer(wait)
	} else {
		a.timer.Reset(wait)
	}
}

// awayTimer fires when the held batch is due; nil when nothing is held.
func (s *interp) awayTimer() <-chan time.Time {
	if s.away.count == 0 || s.away.timer == nil {
		return nil
	}
	return s.away.timer.C
}

// flushAway shows every held batch.
func (s *interp) flushAway(ctx context.Context) {
	for len(s.away.rooms) > 0 {
		s.flushRoom(ctx, s.away.rooms[0])
	}
}

// flushRoom shows the held messages of room, in the room's order.
func (s *interp) flushRoom(ctx context.Context, room string) {
	msgs, ok := s.away.held[room]
	if !ok {
		return
	}
	delete(s.away.held, room)
	s.away.rooms = slices.DeleteFunc(s.away.rooms, func(r string) bool { return r == room })
	s.away.count -= len(msgs)
	if s.away.count == 0 && s.away.timer != nil {
		s.away.timer.Stop()
	}
	msgs = s.roomOrder(ctx, room, msgs)
	s.notice("while you were away: %d message(s) in %s", len(msgs), ConvoLabel(msgs[0]))
	last := s.now()
	for i, v := range msgs {
		if (i == 0 && !sameDay(v.Time, last)) || (i > 0 && !sameDay(v.Time, msgs[i-1].Time)) {
			s.notice("%s", v.Time.Local().Format("Monday 2 January 2006"))
		}
		s.showMessage(ctx, v, true)
		s.invitedNotice(v)
	}
}

// roomOrder puts msgs in the order every member of the room sees them
// (the history's: Lamport clock, author key, author sequence), asking the
// API; if it cannot tell, by clock, author and sequence as known here.
func (s *interp) roomOrder(ctx context.Context, room string, msgs []*control.MessageView) []*control.MessageView {
	slices.SortStableFunc(msgs, func(a, b *control.MessageView) int {
		if a.Clock != b.Clock {
			return cmp.Compare(a.Clock, b.Clock)
		}
		if a.Author != b.Author {
			return strings.Compare(a.Author, b.Author)
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	since := msgs[0].Time
	for _, v := range msgs {
		if v.Time.Before(since) {
			since = v.Time
		}
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	stored, err := s.historyOf(ctx, control.HistoryParams{Rooms: []string{room}, Since: since.Add(-time.Millisecond)})
	if err != nil {
		return msgs
	}
	byID := make(map[string]*control.MessageView, len(msgs))
	for _, v := range msgs {
		byID[v.ID] = v
	}
	out := make([]*control.MessageView, 0, len(msgs))
	for _, h := range stored {
		if v, ok := byID[h.ID]; ok {
			out = append(out, v)
			delete(byID, h.ID)
		}
	}
	for _, v := range msgs { // not in the history (it should be): at the end
		if _, ok := byID[v.ID]; ok {
			out = append(out, v)
		}
	}
	return out
}
