package chatui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
)

// Messages that arrive by catch-up are shown together, in the room's
// order, under one "while you were away" line: not author by author.
func TestCatchUpShownInRoomOrder(t *testing.T) {
	port := freeUDPPort(t)
	aliceID, bobID, carolID := newIdentity(t), newIdentity(t), newIdentity(t)
	bob := startNode(t, "bob", bobID, port, nil, carolID, aliceID)
	carol := startNode(t, "carol", carolID, port, nil, bobID, aliceID)
	waitFor(t, "bob and carol to link", func() bool { return len(bob.node.LinkedPeers()) == 1 })
	var want []string
	for i := range 3 {
		for _, tn := range []*testNode{bob, carol} {
			body := tn.name + string(rune('1'+i))
			if _, err := tn.api.Send(context.Background(), control.SendParams{Room: "lobby", Body: body}); err != nil {
				t.Fatal(err)
			}
			want = append(want, body)
			other := bob
			if tn == bob {
				other = carol
			}
			waitFor(t, body+" at "+other.name, func() bool { return slices.Contains(bodies(other.history(t, "lobby")), body) })
		}
	}
	if got := bodies(bob.history(t, "lobby")); !slices.Equal(got, want) {
		t.Fatalf("bob's history %q, want %q", got, want)
	}

	alice := startNode(t, "alice", aliceID, port, nil)
	c := runChat(t, alice.api, Options{Mode: Plain})
	c.say("/trust " + bobID.Fingerprint().String() + " Bob")
	c.waitErr("while you were away: 6 message(s) in #lobby")
	var shown []string
	waitFor(t, "six message lines", func() bool {
		shown = nil
		for _, l := range strings.Split(strings.TrimSpace(c.out.String()), "\n") {
			if i := strings.LastIndex(l, ": "); i >= 0 {
				shown = append(shown, l[i+2:])
			}
		}
		return len(shown) == 6
	})
	if !slices.Equal(shown, want) {
		t.Errorf("caught-up messages shown as %q, want the room's order %q\n%s", shown, want, c.out.String())
	}
	if n := strings.Count(c.err.String(), "while you were away"); n != 1 {
		t.Errorf("%d away markers, want 1:\n%s", n, c.err.String())
	}
}

// A batch from another day gets a date line, and one where the day changes.
func TestCatchUpDateLines(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), nil)
	var screen syncBuffer
	s := &interp{api: tn.api, mode: Terminal, r: newTerminal(&screen, 100, 24, false), now: time.Now}
	if err := s.start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	day := time.Now().AddDate(0, 0, -1)
	msg := func(clock uint64, at time.Time, body string) *chat.MessageView {
		return &chat.MessageView{ID: body, Room: "lobby", Author: "BBBBBBB-X", AuthorShort: "BBBBBBB", Nick: "bob",
			Clock: clock, Seq: clock, Time: at, Body: body, Trusted: true, CatchUp: true}
	}
	s.hold(msg(2, time.Now(), "today"))
	s.hold(msg(1, day, "yesterday"))
	s.flushAway(context.Background())
	got := screen.String()
	iy, it := strings.Index(got, "yesterday"), strings.Index(got, "today")
	dY := strings.Index(got, "-- "+day.Format("Monday 2 January 2006"))
	dT := strings.Index(got, "-- "+time.Now().Format("Monday 2 January 2006"))
	if !(strings.Contains(got, "while you were away: 2 message(s) in #lobby") && dY >= 0 && dY < iy && iy < dT && dT < it) {
		t.Errorf("want the marker, yesterday's date, yesterday's line, today's date, today's line; the screen got:\n%q", got)
	}
}
