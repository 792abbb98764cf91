package chatui

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lanchat/lanchat/control"
)

// Marks: every own message line ends in how far that message got, e.g.
// "[3 ✓✓ read 1]": its number (its sequence number in the room, which
// /who-read =SEQ and /delete SEQ take), "·" only here, "✓" stored by some
// of the room's other members, "✓✓" stored by all, then "read N" or
// "read" (by all). The interpreter watches the own messages it showed and,
// when the node says a receipt moved, asks for theirs again and hands what
// changed to the renderer: the terminal rewrites the mark in place while
// the line is on screen; plain mode prints a notice.

// ownKey names one own message: its room and sequence number.
type ownKey struct {
	room string
	seq  uint64
}

// markState is a receipt as a mark shows it.
type markState struct {
	members, stored, read int
}

func stateOf(r *control.ReceiptView) markState {
	return markState{members: r.Members, stored: r.Stored, read: r.Read}
}

// ownRef is carried by a line that shows an own message.
type ownRef struct {
	key   ownKey
	state markState
}

// markChange is a watched message whose receipt moved.
type markChange struct {
	key   ownKey
	id    string
	label string // the conversation, as ConvoLabel names it
	body  string
	state markState
}

// Glyphs of a mark, and their ASCII forms for a terminal that is not
// UTF-8. Every mark of a message has the same width: "[3 ·  ]", "[3 ✓  ]",
// "[3 ✓✓ ]", "[3 ✓✓r]", "[3 ✓✓R]"; so a mark rewritten in place takes the
// cells of the one it replaces, and never rewraps its line.
const (
	glyphHere      = "· "
	glyphSome      = "✓ "
	glyphAll       = "✓✓"
	asciiGlyphHere = ". "
	asciiGlyphSome = "+ "
	asciiGlyphAll  = "++"
	glyphReadSome  = "r" // read by some of the other members
	glyphReadAll   = "R" // read by all of them
)

// markText is the mark of message seq in state st: "[3 ✓✓r]".
func markText(seq uint64, st markState, ascii bool) string {
	read := " "
	switch {
	case st.read <= 0:
	case st.read >= st.members:
		read = glyphReadAll
	default:
		read = glyphReadSome
	}
	return fmt.Sprintf("[%d %s%s]", seq, storedGlyph(st, ascii), read)
}

// storedGlyph is how far a message is stored, in two columns: "· " only
// here, "✓ " stored by some of the other members, "✓✓" by all.
func storedGlyph(st markState, ascii bool) string {
	here, some, all := glyphHere, glyphSome, glyphAll
	if ascii {
		here, some, all = asciiGlyphHere, asciiGlyphSome, asciiGlyphAll
	}
	switch {
	case st.members == 0 || st.stored == 0:
		return here
	case st.stored < st.members:
		return some
	}
	return all
}

// UTF8Locale reports whether the locale in getenv's environment (LC_ALL,
// else LC_CTYPE, else LANG) is UTF-8; marks use ASCII when it is not.
func UTF8Locale(getenv func(string) string) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return false
}

func terminalASCII() bool { return !UTF8Locale(os.Getenv) }

// markDelay gathers the receipt events of a room before its marks are
// asked for again: a burst of stored frames costs one round.
const markDelay = 100 * time.Millisecond

// Own messages watched per room: a terminal's screen holds fewer lines
// than this; plain and --json mode tell the changes of the latest few.
const (
	watchTerminal = 64
	watchLines    = 16
)

// EventMark is the type of the --json event of chatui's own that says how
// far one of this node's messages got, when that changed.
const EventMark = "mark"

// Mark is that event: the message (room, seq, id) and its counts, as the
// API's receipt has them.
type Mark struct {
	Kind    string    `json:"type"` // EventMark
	Time    time.Time `json:"time"`
	Room    string    `json:"room"`
	Seq     uint64    `json:"seq"`
	ID      string    `json:"id"`
	Members int       `json:"members"`
	Stored  int       `json:"stored"`
	Read    int       `json:"read"`
}

// ownMarks is the interpreter's record of the own messages it showed
// (Run's goroutine only).
type ownMarks struct {
	rooms map[string][]uint64 // watched, oldest first
	shown map[ownKey]markChange
	dirty map[string]bool
	timer *time.Timer
}

// watchOwn looks up how far own message v got, starts watching it, and
// returns what its line is to show; nil where there is no mark (no API, a
// deleted message, or the receipt cannot be told).
func (s *interp) watchOwn(ctx context.Context, v *control.MessageView) *ownRef {
	if !v.Own || v.Deleted || v.Op != nil || s.api == nil || v.Seq == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	r, err := s.receipt(ctx, control.ReceiptParams{Room: v.Room, Seq: v.Seq})
	if err != nil {
		return nil
	}
	m := &s.marks
	if m.rooms == nil {
		m.rooms, m.shown, m.dirty = map[string][]uint64{}, map[ownKey]markChange{}, map[string]bool{}
	}
	k := ownKey{v.Room, v.Seq}
	if _, ok := m.shown[k]; !ok {
		m.rooms[v.Room] = append(m.rooms[v.Room], v.Seq)
		limit := watchLines
		if s.mode == Terminal {
			limit = watchTerminal
		}
		if n := len(m.rooms[v.Room]); n > limit {
			for _, old := range m.rooms[v.Room][:n-limit] {
				delete(m.shown, ownKey{v.Room, old})
			}
			m.rooms[v.Room] = slices.Clone(m.rooms[v.Room][n-limit:])
		}
	}
	st := stateOf(r)
	m.shown[k] = markChange{key: k, id: v.ID, label: ConvoLabel(v), body: v.Body, state: st}
	return &ownRef{key: k, state: st}
}

// marksMoved notes that a receipt of room moved: its marks are asked for
// after markDelay.
func (s *interp) marksMoved(room string) {
	m := &s.marks
	if len(m.rooms[room]) == 0 {
		return
	}
	m.dirty[room] = true
	if m.timer == nil {
		m.timer = time.NewTimer(markDelay)
	} else if len(m.dirty) == 1 {
		m.timer.Reset(markDelay)
	}
}

// markTimer fires when marks are due; nil when none is.
func (s *interp) markTimer() <-chan time.Time {
	if len(s.marks.dirty) == 0 || s.marks.timer == nil {
		return nil
	}
	return s.marks.timer.C
}

// refreshMarks asks again for the receipts of the watched messages of the
// rooms whose receipts moved, and hands what changed to the renderer.
// A message the renderer no longer shows (a line scrolled off) is dropped.
func (s *interp) refreshMarks(ctx context.Context) {
	m := &s.marks
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	var changed []markChange
	for _, room := range slices.Sorted(maps.Keys(m.dirty)) {
		delete(m.dirty, room)
		kept := m.rooms[room][:0]
		for _, seq := range m.rooms[room] {
			k := ownKey{room, seq}
			if !s.r.watching(k) {
				delete(m.shown, k)
				continue
			}
			kept = append(kept, seq)
			r, err := s.receipt(ctx, control.ReceiptParams{Room: room, Seq: seq})
			if err != nil {
				continue
			}
			c := m.shown[k]
			if st := stateOf(r); st != c.state {
				c.state = st
				m.shown[k] = c
				changed = append(changed, c)
			}
		}
		m.rooms[room] = kept
	}
	if len(changed) > 0 {
		s.r.marksChanged(changed)
	}
}

// receiptWords is a mark in words: "stored by all 2, read by 1".
func receiptWords(st markState) string {
	var s string
	switch {
	case st.members == 0:
		s = "stored here (no other members yet)"
	case st.stored == 0:
		s = "only here"
	case st.stored == st.members:
		s = fmt.Sprintf("stored by all %d", st.members)
	default:
		s = fmt.Sprintf("stored by %d of %d", st.stored, st.members)
	}
	if st.read > 0 {
		s += fmt.Sprintf(", read by %d", st.read)
	}
	return s
}

// markNotices is plain mode's form of changed marks: one notice per room
// and state, "your message(s) 1, 2 in #lobby: stored by all 1".
func markNotices(ch []markChange) []string {
	type group struct {
		label string
		state markState
	}
	var order []group
	seqs := map[group][]string{}
	for _, c := range ch {
		g := group{c.label, c.state}
		if _, ok := seqs[g]; !ok {
			order = append(order, g)
		}
		seqs[g] = append(seqs[g], fmt.Sprint(c.key.seq))
	}
	out := make([]string, 0, len(order))
	for _, g := range order {
		what := "your message " + seqs[g][0]
		if len(seqs[g]) > 1 {
			what = "your messages " + strings.Join(seqs[g], ", ")
		}
		if len(ch) == 1 {
			what += fmt.Sprintf(" (%q)", SanitizeLine(shorten(ch[0].body, 40)))
		}
		out = append(out, fmt.Sprintf("%s in %s: %s", what, g.label, receiptWords(g.state)))
	}
	return out
}
