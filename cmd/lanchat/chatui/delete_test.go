package chatui

import (
	"context"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/control"
)

// /delete SEQ and /delete ID delete one's own message for everyone: the
// peer's history no longer holds it; another's message, a bad argument and
// a message already deleted get a notice, and nothing is deleted.
func TestDeleteCommand(t *testing.T) {
	alice, bob, aid, _ := linkedPair(t, nil)
	a := runChat(t, alice.api, Options{Mode: Plain, Rooms: []string{"lobby"}})
	b := runChat(t, bob.api, Options{Mode: Plain, Rooms: []string{"lobby"}})
	bodies := []string{"first DELMARK1", "second DELMARK2", "third DELMARK3"}
	a.say(bodies...)
	b.say("from bob DELMARK4")
	bobHas := func(body string) bool {
		views, err := bob.api.History(context.Background(), control.HistoryParams{Rooms: []string{"lobby"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			if v.Body == body {
				return true
			}
		}
		return false
	}
	waitFor(t, "bob to hold alice's messages", func() bool { return bobHas(bodies[2]) })
	views, err := alice.api.History(context.Background(), control.HistoryParams{Rooms: []string{"lobby"}})
	if err != nil {
		t.Fatal(err)
	}
	var secondID string
	var bobID string
	for _, v := range views {
		if v.Body == bodies[1] {
			secondID = v.ID
		}
		if v.Body == "from bob DELMARK4" {
			bobID = v.ID
		}
	}
	if secondID == "" || bobID == "" {
		t.Fatalf("alice's history: %+v", views)
	}
	a.say("/delete 1")
	waitFor(t, "bob to lose the first message", func() bool { return !bobHas(bodies[0]) })
	waitFor(t, "bob to be shown it is deleted", func() bool { return strings.Contains(b.out.String(), "("+aid.Fingerprint().Short()+"): "+DeletedText) })
	a.say("/delete " + secondID[:10])
	waitFor(t, "bob to lose the second message", func() bool { return !bobHas(bodies[1]) })
	a.say("/delete 1", "/delete", "/delete "+bobID[:10], "/quit")
	if err := a.wait(); err != nil {
		t.Fatal(err)
	}
	if !bobHas(bodies[2]) || !bobHas("from bob DELMARK4") {
		t.Error("bob lost a message nobody deleted")
	}
	for _, w := range []string{"deleted your message 1 in", "deleted your message 2 in", "not deleted: ", "only your own messages", "usage: /delete SEQ", `no message of yours in`} {
		if !strings.Contains(a.err.String(), w) {
			t.Errorf("alice's notices lack %q:\n%s", w, a.err.String())
		}
	}
	b.say("/history", "/quit")
	if err := b.wait(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.out.String(), DeletedText); n != 4 { // two live, two in /history
		t.Errorf("bob was shown %d deleted lines, want 4:\n%s", n, b.out.String())
	}
}
