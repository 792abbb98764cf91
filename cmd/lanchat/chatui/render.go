package chatui

import (
	"encoding/json"
	"fmt"
	"github.com/lanchat/lanchat/control"
	"io"
	"strings"
	"time"
)

// SGR attributes (ECMA-48).
const (
	plainAttr = ""
	bold      = "1"
	dim       = "2"
	red       = "31"
	reverse   = "7"
)

// span is a piece of a line with one display attribute.
type span struct {
	attr string
	text string
}

// lineKind says where a line belongs.
type lineKind int

const (
	lineMessage lineKind = iota // what someone wrote: stdout in plain mode
	lineNotice                  // lanchat speaking: stderr in plain mode, dimmed on a terminal
	lineWarning                 // a notice that matters (a nickname shared by two keys): red
)

// line is one line to show, as spans; text from the network in it is
// sanitized already.
type line struct {
	kind  lineKind
	spans []span
	// mention: the line mentions this user; the terminal highlights it
	// and rings the bell.
	mention bool
	// own is set on a line that shows an own message: the terminal ends
	// it in the message's mark.
	own *ownRef
}

func (l line) text() string {
	var b strings.Builder
	for _, s := range l.spans {
		b.WriteString(s.text)
	}
	return b.String()
}

func noticeLine(kind lineKind, format string, args ...any) line {
	return line{kind: kind, spans: []span{{text: fmt.Sprintf(format, args...)}}}
}

// renderer is what a mode shows things with. The interpreter calls it from
// its one goroutine.
type renderer interface {
	show(l line)
	// raw reports whether events are printed as they are (--json); then
	// event prints them.
	raw() bool
	event(v any)
	// setRoom names the current room ("" for none), e.g. in the prompt.
	setRoom(room string)
	// setStatus shows the attention line (unread rooms, the last own
	// message's receipt) above the prompt; "" for none.
	setStatus(status string)
	// watching reports whether an own message's mark is still worth
	// updating (the terminal: its line is on screen).
	watching(k ownKey) bool
	// marksChanged shows own messages whose receipts moved.
	marksChanged(ch []markChange)
	// ascii reports whether marks are written in ASCII (a terminal whose
	// locale is not UTF-8).
	ascii() bool
}

// plainRenderer is line mode: messages on Out, notices on Err.
type plainRenderer struct {
	out, err io.Writer
}

func (p *plainRenderer) show(l line) {
	if l.kind == lineMessage {
		fmt.Fprintln(p.out, l.text())
		return
	}
	fmt.Fprintln(p.err, "lanchat: "+l.text())
}

func (p *plainRenderer) raw() bool      { return false }
func (p *plainRenderer) event(any)      {}
func (p *plainRenderer) setRoom(string) {}

func (p *plainRenderer) setStatus(string) {}

func (p *plainRenderer) watching(ownKey) bool { return true }

func (p *plainRenderer) ascii() bool { return false }

// marksChanged prints a notice per room and state: plain lines cannot be
// changed once printed.
func (p *plainRenderer) marksChanged(ch []markChange) {
	for _, n := range markNotices(ch) {
		p.show(noticeLine(lineNotice, "%s", n))
	}
}

// jsonRenderer is --json: each event one JSON line on Out, notices on Err.
type jsonRenderer struct {
	plainRenderer
}

func (j *jsonRenderer) raw() bool { return true }

// marksChanged prints a mark event per message: what plain mode says in a
// notice.
func (j *jsonRenderer) marksChanged(ch []markChange) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, c := range ch {
		j.event(Mark{Kind: EventMark, Time: now, Room: c.key.room, Seq: c.key.seq, ID: c.id,
			Members: c.state.members, Stored: c.state.stored, Read: c.state.read})
	}
}

func (j *jsonRenderer) event(v any) {
	if b, err := json.Marshal(v); err == nil {
		fmt.Fprintf(j.out, "%s\n", b)
	}
}

// messageLine formats a message: "[date ]14:03:07 [#room ]nick(SHORT)[⚠][ marks]: text".
func messageLine(v *control.MessageView, withRoom, withDate, shared bool) line {
	when := v.Time.Local()
	var sp []span
	if withDate {
		sp = append(sp, span{text: when.Format("2006-01-02 ")})
	}
	clock := when.Format("15:04:05")
	if v.Time.IsZero() { // a deleted message: its time is not kept
		clock = strings.Repeat(" ", len(clock))
	}
	sp = append(sp, span{dim, clock}, span{text: " "})
	if withRoom || v.Conversation == control.KindDirect {
		sp = append(sp, span{text: ConvoLabel(v) + " "})
	}
	sp = append(sp, span{colorOf(v.Author), nameLabel(v.Nick, v.AuthorShort)})
	if shared {
		sp = append(sp, span{red, "⚠"})
	}
	if !v.Trusted {
		sp = append(sp, span{red, MarkUntrusted})
	}
	if v.Equivocator {
		sp = append(sp, span{red, MarkConflicting})
	}
	if v.Mention {
		sp = append(sp, span{text: ": "}, span{reverse, MessageText(v)})
		return line{kind: lineMessage, spans: sp, mention: true}
	}
	sp = append(sp, span{text: ": " + MessageText(v)})
	return line{kind: lineMessage, spans: sp}
}

// add appends text with attr to l.
func (l line) add(attr, text string) line {
	l.spans = append(l.spans, span{attr, text})
	return l
}

// addf appends formatted plain text to l.
func (l line) addf(format string, args ...any) line {
	return l.add(plainAttr, fmt.Sprintf(format, args...))
}
