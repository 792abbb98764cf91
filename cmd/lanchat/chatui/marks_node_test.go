package chatui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// screenOf is what a w×h terminal shows after out.
func screenOf(out string, w, h int) string {
	v := newVT(w, h)
	v.Write([]byte(out))
	return v.screen()
}

// Alice writes three messages while bob is down: each line ends in "only
// here". Bob comes back: the marks on those earlier lines change, in
// place, to stored by all; bob reads them: they say read. A plain-mode
// window of alice's says each change once, as a notice.
func TestMarksFollowReceiptsOnEarlierLines(t *testing.T) {
	port := freeUDPPort(t)
	aliceID, bobID := newIdentity(t), newIdentity(t)
	alice := startNode(t, "alice", aliceID, port, nil, bobID)
	bobDir := t.TempDir()
	bob := startNodeIn(t, bobDir, "bob", bobID, port, nil, aliceID)
	waitFor(t, "alice and bob linked", func() bool { return len(alice.node.LinkedPeers()) == 1 })

	const w, h = 100, 30
	var out syncBuffer
	term := newTerminal(&out, w, h, true)
	s := &interp{api: alice.api, mode: Terminal, r: term, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	events, err := alice.api.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.loop(ctx, events, nil, term) }()
	defer func() { cancel(); <-done }()
	plain := runChat(t, alice.api, Options{Mode: Plain})
	plain.waitErr("you are alice")
	bot := runChat(t, alice.api, Options{Mode: JSON})
	waitFor(t, "the --json window ready", func() bool { return len(bot.jsonEvents()) > 0 })

	bob.stop()
	waitFor(t, "alice to see bob gone", func() bool { return len(alice.node.LinkedPeers()) == 0 })
	for _, l := range []string{"first", "second", "third"} {
		term.keys <- []byte(l + "\r")
	}
	own := func(seq int, body, mark string) string {
		return "alice(" + aliceID.Fingerprint().Short() + "): " + body + " [" + string(rune('0'+seq)) + " " + mark + "]"
	}
	scr := ""
	waitFor(t, "three lines marked only here", func() bool {
		scr = screenOf(out.String(), w, h)
		return strings.Contains(scr, own(1, "first", "·  ")) && strings.Contains(scr, own(2, "second", "·  ")) &&
			strings.Contains(scr, own(3, "third", "·  "))
	})
	rows := strings.Split(scr, "\n")
	rowOf := func(scr, body string) int {
		for i, r := range strings.Split(scr, "\n") {
			if strings.Contains(r, "): "+body+" [") {
				return i
			}
		}
		return -1
	}
	firstRow := rowOf(scr, "first")

	bob = startNodeIn(t, bobDir, "bob", bobID, port, nil, aliceID)
	waitFor(t, "the earlier lines marked stored by all", func() bool {
		scr = screenOf(out.String(), w, h)
		return strings.Contains(scr, own(1, "first", "✓✓ ")) && strings.Contains(scr, own(2, "second", "✓✓ ")) &&
			strings.Contains(scr, own(3, "third", "✓✓ "))
	})
	if got := rowOf(scr, "first"); got != firstRow || strings.Count(scr, "): first [") != 1 {
		t.Errorf("the first line moved from row %d to %d, or was printed again:\n%s", firstRow, got, scr)
	}
	if len(strings.Split(scr, "\n")) < len(rows) {
		t.Errorf("the screen lost rows:\n%s", scr)
	}

	if _, err := bob.api.MarkRead(context.Background(), control.MarkReadParams{Room: "lobby"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lines marked read by all", func() bool {
		scr = screenOf(out.String(), w, h)
		return strings.Contains(scr, own(1, "first", "✓✓R")) && strings.Contains(scr, own(3, "third", "✓✓R"))
	})
	if last := strings.Split(scr, "\n"); !strings.HasPrefix(last[len(last)-1], "#lobby>") {
		t.Errorf("the prompt is not the last row:\n%s", scr)
	}

	// Plain mode: the lines as they were, each change one notice.
	waitFor(t, "plain mode's notices of stored and read", func() bool {
		said := markNoticesOf(plain.err.String())
		return slices.Contains(said["1"], "stored by all 1, read by 1") && slices.Contains(said["2"], "stored by all 1, read by 1") &&
			slices.Contains(said["3"], "stored by all 1, read by 1")
	})
	for seq, said := range markNoticesOf(plain.err.String()) {
		if len(said) != len(slices.Compact(slices.Clone(said))) || !slices.IsSortedFunc(said, func(a, b string) int { return len(a) - len(b) }) {
			t.Errorf("plain mode said the receipts of message %s as %q:\n%s", seq, said, plain.err.String())
		}
	}
	for _, l := range []string{"first", "second", "third"} {
		if !strings.Contains(plain.out.String(), "): "+l+"\n") {
			t.Errorf("plain mode's line of %q is not as it was:\n%s", l, plain.out.String())
		}
	}

	// --json: a mark event per message as its counts change.
	waitFor(t, "--json mark events of stored and read", func() bool {
		read := map[float64]bool{}
		for _, ev := range bot.jsonEvents() {
			if ev["type"] == EventMark && ev["room"] == "lobby" && ev["members"] == 1.0 && ev["stored"] == 1.0 && ev["read"] == 1.0 && ev["id"] != "" {
				read[ev["seq"].(float64)] = true
			}
		}
		return read[1] && read[2] && read[3]
	})
	for _, ev := range bot.jsonEvents() {
		if ev["type"] == EventMark && ev["stored"] == 0.0 {
			t.Errorf("a mark event for no change: %v", ev)
		}
	}

	// /who-read names an earlier message by its place and by its number.
	plain.say("/who-read 3", "/who-read =2", "/who-read 4")
	plain.waitErr(`your message 1 "first": ✓✓ stored by all 1, read by 1`)
	plain.waitErr(`your message 2 "second": ✓✓ stored by all 1, read by 1`)
	plain.waitErr("you have written fewer than 4 messages in lobby")
	plain.waitErr("read by: peer(" + bobID.Fingerprint().Short() + ")")
}

// markNoticesOf reads plain mode's mark notices: what was said of each
// message number, in order.
func markNoticesOf(stderr string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(l, "lanchat: your message")
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "s"), " ")
		nums, words, ok := strings.Cut(rest, " in #lobby: ")
		if !ok {
			continue
		}
		nums, _, _ = strings.Cut(nums, " (")
		for _, n := range strings.Split(nums, ", ") {
			out[n] = append(out[n], words)
		}
	}
	return out
}

// In an open room whose name a private room shares, the chat's /history,
// /who-read and marks are the open room's (the API would call the bare
// name ambiguous; the chat says which it means).
func TestOpenRoomSharingAPrivateRoomsName(t *testing.T) {
	tn := startNode(t, "alice", newIdentity(t), freeUDPPort(t), []string{"design"})
	ctx := context.Background()
	pr, err := tn.api.CreateRoom(ctx, control.CreateRoomParams{Name: "design"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.api.Send(ctx, control.SendParams{Room: pr.ID, Body: "in the private one"}); err != nil {
		t.Fatal(err)
	}
	c := runChat(t, tn.api, Options{Mode: Plain, Rooms: []string{"design"}})
	c.say("in the open one")
	c.waitOut("): in the open one")
	c.say("/history", "/who-read")
	c.waitErr(`your message 1 "in the open one": · stored here (no other members yet)`)
	c.waitErr("the last 1 message(s) of #design:")
	if strings.Contains(c.out.String(), "in the private one") || strings.Contains(c.err.String(), "ambiguous") {
		t.Errorf("the open room's chat reached the private room:\nstdout\n%s\nstderr\n%s", c.out.String(), c.err.String())
	}
}
