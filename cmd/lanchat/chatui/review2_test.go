package chatui

import (
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// TestPeerTextCannotShiftAMark: a peer's message whose characters the
// layout counts as zero columns but a terminal draws (soft hyphens, one
// column each in xterm) would take more rows on screen than the terminal
// counted, and the next in-place rewrite of an own message's mark above it
// would land a row too low, over the peer's line. They are shown as U+FFFD
// (as wide in both), so the mark is rewritten where it is and the peer's
// line stays as it was.
func TestPeerTextCannotShiftAMark(t *testing.T) {
	v := newVT(30, 8)
	v.xterm = true
	term := newTerminal(v, 30, 8, false)
	term.setRoom("lobby")
	term.show(ownLine("12:00:00 alice: mine", 1, markState{members: 1}))
	at := time.Date(2026, 12, 1, 12, 0, 1, 0, time.Local)
	peer := &control.MessageView{Room: "lobby", AuthorShort: "K7QF3MX", Nick: "bob", Time: at, Trusted: true,
		Body: strings.Repeat("\u00ad", 20) + "x"}
	term.show(messageLine(peer, false, false, false))
	peerRows := []string{v.line(1), v.line(2)}
	term.marksChanged([]markChange{{key: ownKey{"lobby", 1}, state: markState{members: 1, stored: 1}}})
	if got := v.line(0); got != "12:00:00 alice: mine [1 ✓✓ ]" {
		t.Errorf("the own line after its receipt: %q, want the new mark\n%s", got, v.screen())
	}
	if got := []string{v.line(1), v.line(2)}; got[0] != peerRows[0] || got[1] != peerRows[1] {
		t.Errorf("the peer's line changed from %q to %q: the mark was written over it\n%s", peerRows, got, v.screen())
	}
}
