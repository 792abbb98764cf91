package chatui

import (
	"fmt"
	"github.com/lanchat/lanchat/control"
	"hash/fnv"
	"strings"
	"time"
	"unicode"
)

// The text forms of messages and peers, shared by every renderer and by
// lanchat history.

// Marks shown after an author and instead of a damaged message's text.
const (
	MarkUntrusted   = " [untrusted]"
	MarkConflicting = " [signed conflicting messages]"
	DamagedText     = "[damaged: this record was changed on disk and does not verify]"
	DeletedText     = "[deleted by its author]"
)

// FormatMessage is the one-line text form of a stored message:
// "2026-11-25 14:03:07 #lobby alice(K7QF3MX): hello".
func FormatMessage(v *control.MessageView, withRoom bool) string {
	var b strings.Builder
	if v.Time.IsZero() { // a deleted message: its time is not kept
		b.WriteString(strings.Repeat(" ", len("2006-01-02 15:04:05 ")))
	} else {
		b.WriteString(v.Time.Local().Format("2006-01-02 15:04:05 "))
	}
	if withRoom || v.Conversation == control.KindDirect {
		b.WriteString(ConvoLabel(v) + " ")
	}
	b.WriteString(AuthorLabel(v))
	b.WriteString(": ")
	b.WriteString(MessageText(v))
	return b.String()
}

// ConvoLabel names a message's conversation: "#lobby" for an open room,
// "#design[private]" for a private room, "@bob" for a direct conversation
// (one with someone this node cannot name: "@" and the room id).
func ConvoLabel(v *control.MessageView) string {
	switch v.Conversation {
	case control.KindDirect:
		if v.With == "" {
			return "@" + v.Room
		}
		return "@" + SanitizeLine(nameLabel(v.WithNick, v.With[:7]))
	case control.KindPrivate:
		name := v.RoomName
		if name == "" {
			name = v.Room
		}
		return "#" + name + MarkPrivate
	}
	return "#" + v.Room
}

// MarkPrivate follows the name of a private (invite-only) room.
const MarkPrivate = "[private]"

// FormatLive is a message line in a running chat: "14:03:07 alice(K7QF3MX): hi".
func FormatLive(v *control.MessageView, withRoom bool) string {
	return FormatMessage(v, withRoom)[len("2006-01-02 "):]
}

// MessageText is what a message line shows as its text: the body, made
// safe for a terminal, or a damage notice in its place.
func MessageText(v *control.MessageView) string {
	if v.Damaged {
		return DamagedText
	}
	if v.Deleted {
		return DeletedText
	}
	if f := v.File; f != nil {
		kind := "file"
		if f.Folder {
			kind = fmt.Sprintf("folder of %d files", f.Files)
		}
		return SanitizeLine(fmt.Sprintf("offers a %s: %s (%s); /fetch %s", kind, f.Name, control.HumanSize(f.Size), v.ID[:min(12, len(v.ID))]))
	}
	return SanitizeLine(v.Body)
}

// AuthorLabel is "nick(SHORT)" with the marks of an untrusted author or one
// who signed conflicting messages.
func AuthorLabel(v *control.MessageView) string {
	label := nameLabel(v.Nick, v.AuthorShort)
	if !v.Trusted {
		label += MarkUntrusted
	}
	if v.Equivocator {
		label += MarkConflicting
	}
	return label
}

// PeerLabel is how a peer is named in notices: "nick(SHORT)", or SHORT.
func PeerLabel(p *control.PeerView) string {
	if p == nil {
		return "?"
	}
	return nameLabel(p.Nick, p.Short)
}

// nameLabel is "nick(SHORT)", or SHORT without a nickname; the nickname is
// sanitized.
func nameLabel(nick, short string) string {
	nick = SanitizeLine(nick)
	if nick == "" {
		return short
	}
	return nick + "(" + short + ")"
}

// SanitizeLine keeps a peer's text from moving the cursor, faking lines or
// reordering what follows it: control characters (bidirectional controls
// included) are shown as U+FFFD, newlines as " ⏎ ". So are the other
// invisible format characters (Cf, but the zero-width joiner and the tag
// characters of emoji flags) and the line and paragraph separators: the
// terminal's layout counts them as zero columns, where terminals may draw
// one (a soft hyphen is a column wide in xterm's wcwidth) or break the
// line, so a peer's text could make the terminal miscount the rows a line
// takes and shift the marks it rewrites in place (marks.go).
func SanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x20 && r < 0x7f { // printable ASCII: most of any line
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Bidi_Control, r) || invisibleFormat(r) {
			return '\uFFFD'
		}
		return r
	}, strings.ReplaceAll(s, "\n", " ⏎ "))
}

// invisibleFormat reports whether r is a format character or a line or
// paragraph separator that SanitizeLine replaces: every Cf but the
// zero-width joiner (emoji sequences) and the tag characters U+E0020–E007F
// (subdivision flags), and Zl, Zp.
func invisibleFormat(r rune) bool {
	switch {
	case r < 0xa0, r == 0x200d, r >= 0xe0020 && r <= 0xe007f:
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

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

// sameDay reports whether a and b fall on one local calendar day.
func sameDay(a, b time.Time) bool {
	ya, ma, da := a.Local().Date()
	yb, mb, db := b.Local().Date()
	return ya == yb && ma == mb && da == db
}
