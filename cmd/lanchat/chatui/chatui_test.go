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

// The first room named is the current room in every mode, not the first
// in alphabetical order; then the last /join; leaving every room does not
// break the chat.
func TestCurrentRoomIsTheFirstNamed(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), []string{"zeta", "lobby"})
	c := runChat(t, tn.api, Options{Mode: Plain, Rooms: []string{"zeta", "lobby"}})
	c.waitErr("plain lines go to #zeta")
	c.say("to zeta", "/join dev", "to dev", "/leave zeta", "/leave dev", "/leave lobby", "nowhere to go", "/join lobby", "back in lobby", "/quit")
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"zeta": {"to zeta"}, "dev": {"to dev"}, "lobby": {"back in lobby"}}
	for room, w := range want {
		if got := bodies(tn.history(t, room)); !slices.Equal(got, w) {
			t.Errorf("#%s holds %q, want %q", room, got, w)
		}
	}
	if !strings.Contains(c.err.String(), "you are in no room") {
		t.Errorf("no notice for a line typed in no room:\n%s", c.err.String())
	}

	// --json: the ready event names the current room, and lines go there.
	j := runChat(t, tn.api, Options{Mode: JSON, Rooms: []string{"zeta", "lobby"}})
	j.say("json to zeta")
	waitFor(t, "the json line in #zeta", func() bool { return slices.Contains(bodies(tn.history(t, "zeta")), "json to zeta") })
	if ev := j.jsonEvents(); len(ev) == 0 || ev[0]["type"] != EventReady || ev[0]["room"] != "zeta" {
		t.Errorf("first json event %v, want ready in zeta", ev)
	}

	// The terminal: the prompt names the first room.
	var screen syncBuffer
	term := newTerminal(&screen, 80, 24, false)
	s := &interp{api: tn.api, mode: Terminal, r: term, now: time.Now}
	if err := s.start(context.Background(), []string{"zeta", "lobby"}); err != nil {
		t.Fatal(err)
	}
	if s.room != "zeta" || term.prompt != "#zeta> " {
		t.Errorf("terminal: current room %q, prompt %q; want zeta", s.room, term.prompt)
	}
}

// --json with stdin closed keeps running; its first event says who and
// where the node is.
func TestJSONKeepsRunningWithoutInput(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), []string{"lobby", "dev"})
	c := runChat(t, tn.api, Options{Mode: JSON, In: strings.NewReader(""), Rooms: []string{"lobby", "dev"}})
	c.waitErr("input ended")
	if _, err := tn.api.Send(context.Background(), control.SendParams{Room: "dev", Body: "still here"}); err != nil {
		t.Fatal(err)
	}
	c.waitOut(`"body":"still here"`)
	select {
	case err := <-c.done:
		t.Fatalf("Run returned at the end of input: %v", err)
	default:
	}
	ev := c.jsonEvents()[0]
	fp := tn.id.Fingerprint()
	if ev["type"] != EventReady || ev["fingerprint"] != fp.String() || ev["short"] != fp.Short() ||
		ev["addr"] != tn.node.ListenAddr() || ev["room"] != "lobby" || ev["nick"] != "alice" {
		t.Errorf("ready event %v: want alice's fingerprint, address and room lobby", ev)
	}
	if rooms, _ := ev["rooms"].([]any); len(rooms) != 2 {
		t.Errorf("ready event rooms %v, want lobby and dev", ev["rooms"])
	}
	c.cancel()
	if err := c.wait(); err != nil {
		t.Errorf("Run after ctx end: %v", err)
	}
}

// A line longer than one message holds is sent in pieces, with a notice;
// nothing is cut.
func TestLongLineIsSplitNotCut(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), nil)
	c := runChat(t, tn.api, Options{Mode: Plain})
	long := strings.Repeat("日本語 🎉 ", 600) // 9600 bytes
	c.say(long, strings.Repeat("x", maxLineBytes+1), "/quit")
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	got := bodies(tn.history(t, "lobby"))
	if len(got) != 3 || strings.Join(got, "") != long {
		t.Fatalf("stored %d messages of %v bytes; want 3 that join to the line", len(got), lens(got))
	}
	for _, b := range got {
		if len(b) > chat.MaxBodyBytes {
			t.Errorf("a piece of %d bytes", len(b))
		}
	}
	for _, w := range []string{"sending it as 3 messages", "a line of 65537 bytes is over the 65536-byte limit"} {
		if !strings.Contains(c.err.String(), w) {
			t.Errorf("notices lack %q:\n%s", w, c.err.String())
		}
	}
}

func lens(s []string) []int {
	out := make([]int, len(s))
	for i, x := range s {
		out[i] = len(x)
	}
	return out
}

// /trust takes a name with spaces; /untrust then names them.
func TestTrustNameWithSpaces(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), nil)
	dave := newIdentity(t).Fingerprint()
	c := runChat(t, tn.api, Options{Mode: Plain})
	spaced := strings.ReplaceAll(dave.String(), "-", " ")
	c.say("/trust "+dave.String()+" Dave OBrien", "/trust "+spaced+" Dave  O Brien", "/untrust "+dave.String(), "/quit")
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"trusted " + dave.String() + " (Dave OBrien)", `now named "Dave O Brien" (was "Dave OBrien")`,
		"no longer trusted: " + dave.String() + " (Dave O Brien)"} {
		if !strings.Contains(c.err.String(), w) {
			t.Errorf("notices lack %q:\n%s", w, c.err.String())
		}
	}
}

// Quitting returns; the node goes on (the caller decides), over a Client
// as over a Service.
func TestQuitLeavesTheNodeRunning(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), nil)
	path := shortSocketPath(t)
	srv, err := control.Listen(tn.api, path, control.DefaultServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	cl, err := control.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	c := runChat(t, cl, Options{Mode: Plain})
	c.say("over the socket", "/nick alice two", "/quit")
	if err := c.wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Send(ctx, control.SendParams{Room: "lobby", Body: "after quit"}); err != nil {
		t.Fatalf("the node after /quit: %v", err)
	}
	if got := bodies(tn.history(t, "lobby")); !slices.Equal(got, []string{"over the socket", "after quit"}) {
		t.Errorf("history %q", got)
	}
	if n := tn.node.Nickname(); n != "alice two" {
		t.Errorf("after /nick the node says %q", n)
	}
}
