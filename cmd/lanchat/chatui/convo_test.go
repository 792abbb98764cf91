package chatui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// /msg, /query and /room in the line interpreter, between two real nodes:
// direct messages and a private room are shown apart from open rooms.
func TestDirectAndPrivateRoomCommands(t *testing.T) {
	alice, bob, aliceID, bobID := linkedPair(t, []string{"lobby"})
	bobFP := bobID.Fingerprint().String()

	b := runChat(t, bob.api, Options{Mode: Plain, Rooms: []string{"lobby"}})
	b.waitErr("plain lines go to #lobby")
	a := runChat(t, alice.api, Options{Mode: Plain, Rooms: []string{"lobby"}})
	a.waitErr("plain lines go to #lobby")
	a.say("/msg "+bobFP+" hi bob, just you", "/room create design", "to the design room", "/room invite design "+bobFP)
	b.waitOut("@peer(")
	b.waitOut("hi bob, just you")
	b.waitErr("invited you to #design[private]")
	a.say("after the invite", "/query "+bobFP, "second direct line", "/query #lobby", "to the lobby")
	b.waitOut("second direct line")
	b.waitOut("#design[private] peer(")
	b.waitOut("after the invite")
	b.waitOut("to the lobby")
	if strings.Contains(b.out.String(), "to the design room") {
		t.Error("bob was shown a message of the private room from before his invite")
	}
	for _, l := range strings.Split(b.out.String(), "\n") {
		if strings.Contains(l, "direct line") || strings.Contains(l, "just you") {
			if !strings.Contains(l, "@peer(") {
				t.Errorf("a direct message is not shown apart: %q", l)
			}
		}
	}
	b.say("/room members design")
	b.waitErr("you are a member")
	b.say("/room remove design alice")
	b.waitErr("cannot remove")

	dm := bob.history(t, "dm.x") // not a conversation of theirs: nothing
	if len(dm) != 0 {
		t.Errorf("history of an unknown id: %v", bodies(dm))
	}
	views, err := bob.api.History(t.Context(), control.HistoryParams{With: aliceID.Fingerprint().String()})
	if err != nil || !slices.Equal(bodies(views), []string{"hi bob, just you", "second direct line"}) {
		t.Fatalf("bob's direct history with alice: %q, %v", bodies(views), err)
	}
	if got := bodies(bob.history(t, "lobby")); !slices.Equal(got, []string{"to the lobby"}) {
		t.Errorf("bob's #lobby holds %q", got)
	}
}

// The terminal's prompt names the current conversation: a private room by
// its name, a direct one as @PEER.
func TestPromptNamesTheConversation(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), []string{"lobby"})
	var screen syncBuffer
	term := newTerminal(&screen, 80, 24, false)
	s := &interp{api: tn.api, mode: Terminal, r: term, now: time.Now}
	if err := s.start(t.Context(), []string{"lobby"}); err != nil {
		t.Fatal(err)
	}
	s.handleLine(t.Context(), "/room create design")
	if !strings.HasPrefix(s.room, "pr.") || term.prompt != "#design[private]> " {
		t.Errorf("after /room create: current %q, prompt %q", s.room, term.prompt)
	}
	s.handleLine(t.Context(), "/query bob")
	if s.room != "@bob" || term.prompt != "@bob> " {
		t.Errorf("after /query bob: current %q, prompt %q", s.room, term.prompt)
	}
	s.handleLine(t.Context(), "/query #lobby")
	if s.room != "lobby" || term.prompt != "#lobby> " {
		t.Errorf("after /query #lobby: current %q, prompt %q", s.room, term.prompt)
	}
}
