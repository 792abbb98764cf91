package main

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/chat"
)

// SGR attributes (ECMA-48).
const (
	bold = "1"
	dim  = "2"
	red  = "31"
)

// authorColors are the colours authors are told apart by: readable on dark
// and light backgrounds alike (no black, white or grey).
var authorColors = []string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

// colorOf is an author's colour: a stable hash of the fingerprint, so the
// same person has the same colour in every session.
func colorOf(fingerprint string) string {
	h := fnv.New32a()
	h.Write([]byte(fingerprint))
	return authorColors[h.Sum32()%uint32(len(authorColors))]
}

// paint wraps s in an SGR attribute, unless colours are off (NO_COLOR).
func (u *tui) paint(attr, s string) string {
	if !u.color {
		return s
	}
	return "\x1b[" + attr + "m" + s + "\x1b[0m"
}

// label is how an author is shown: "nick(SHORT)" in their colour, with a
// warning sign when another key uses the same nickname.
func (u *tui) label(nick, short, fingerprint string) string {
	nick = sanitizeLine(nick)
	s := short
	if nick != "" {
		s = nick + "(" + short + ")"
	}
	s = u.paint(colorOf(fingerprint), s)
	if u.names.shared(nick) {
		s += u.paint(red, "⚠")
	}
	return s
}

func (u *tui) peerLabel(p *chat.PeerView) string {
	if p == nil {
		return "?"
	}
	u.seeName(p.Nick, p.Short, p.Fingerprint)
	return u.label(p.Nick, p.Short, p.Fingerprint)
}

// seeName records who uses a nickname, and warns the first time two keys
// share one: someone may be posing as someone else.
func (u *tui) seeName(nick, short, fingerprint string) {
	others := u.names.see(nick, fingerprint)
	if len(others) == 0 {
		return
	}
	u.print(u.paint(red, fmt.Sprintf("-- warning: %d keys call themselves %q: %s and %s; tell them apart by the fingerprint, not the name",
		len(others)+1, sanitizeLine(strings.TrimSpace(nick)), strings.Join(shorts(others), ", "), short)))
}

func shorts(fps []string) []string {
	out := make([]string, len(fps))
	for i, fp := range fps {
		out[i], _, _ = strings.Cut(fp, "-")
	}
	return out
}

// message formats a message line: "14:03:07 #room nick(SHORT): text".
func (u *tui) message(v *chat.MessageView) string {
	u.seeName(v.Nick, v.AuthorShort, v.Author)
	var b strings.Builder
	when := v.Time.Local()
	if y, m, d := when.Date(); time.Now().Year() != y || time.Now().Month() != m || time.Now().Day() != d {
		b.WriteString(when.Format("2006-01-02 "))
	}
	b.WriteString(u.paint(dim, when.Format("15:04:05")) + " ")
	if v.Room != u.room {
		b.WriteString("#" + v.Room + " ")
	}
	b.WriteString(u.label(v.Nick, v.AuthorShort, v.Author))
	if !v.Trusted {
		b.WriteString(u.paint(red, " [untrusted]"))
	}
	if v.Equivocator {
		b.WriteString(u.paint(red, markConflicting))
	}
	b.WriteString(": " + messageText(v))
	return b.String()
}

// event shows one event of the node.
func (u *tui) event(ev chat.Event) {
	switch ev.Kind {
	case chat.EventMessage:
		if ev.Message != nil {
			u.print(u.message(ev.Message))
		}
	case chat.EventPeerUp:
		u.notice("%s linked", u.peerLabel(ev.Peer))
	case chat.EventPeerDown:
		u.notice("%s gone (%s)", u.peerLabel(ev.Peer), sanitizeLine(ev.Reason))
	case chat.EventJoin:
		u.notice("%s joined #%s", u.peerLabel(ev.Peer), ev.Room)
	case chat.EventLeave:
		u.notice("%s left #%s", u.peerLabel(ev.Peer), ev.Room)
	case chat.EventUntrusted:
		if ev.Peer != nil {
			u.notice("untrusted peer %s at %s wants to link; compare the fingerprint with them, then /trust <fp> NAME (or lanchat trust <fp>) to let them in",
				ev.Peer.Fingerprint, ev.Peer.Addr)
		}
	case chat.EventRefused:
		u.notice("%s refuses the link: %s", u.peerLabel(ev.Peer), sanitizeLine(ev.Reason))
	case chat.EventEquivocation:
		u.notice("%s %s in #%s; every member keeps the same one, and their messages there are marked",
			u.peerLabel(ev.Peer), sanitizeLine(ev.Reason), ev.Room)
	case chat.EventUntrustedMany:
		u.notice("%s", sanitizeLine(ev.Reason))
	case chat.EventRelinkBackoff:
		u.notice("%s: %s", u.peerLabel(ev.Peer), sanitizeLine(ev.Reason))
	case chat.EventDropped:
		u.notice("%d events were not shown (display too slow); /history shows every message", ev.Count)
	}
}

// nameBook remembers which keys use which nickname in this session.
type nameBook struct {
	keys map[string][]string // folded nickname → fingerprints, in order seen
}

func foldNick(nick string) string { return strings.ToLower(strings.TrimSpace(nick)) }

// see records that fingerprint uses nick; it returns the other keys using
// it when this key is new to the nickname and others had it first.
func (b *nameBook) see(nick, fingerprint string) (others []string) {
	k := foldNick(nick)
	if k == "" {
		return nil
	}
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
