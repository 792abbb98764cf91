package chatui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// A mention rings bob's terminal and is highlighted; bob's terminal marks
// what it shows as read, so alice's receipt says read by bob, and
// /who-read names him.
func TestChatMarksReadAndAuthorSeesIt(t *testing.T) {
	a, b, _, idB := linkedPair(t, nil)

	var screen syncBuffer
	term := newTerminal(&screen, 100, 24, true)
	sb := &interp{api: b.api, mode: Terminal, r: term, now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	events, err := b.api.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sb.loop(ctx, events, nil, term) }()
	defer func() { cancel(); <-done }()

	ca := runChat(t, a.api, Options{Mode: Plain})
	ca.say("@bob are you there?")
	waitFor(t, "the mention on bob's screen, highlighted, with a bell", func() bool {
		s := screen.String()
		return strings.Contains(s, "\x1b[7m@bob are you there?\x1b[0m\r\n\a")
	})
	waitFor(t, "alice's receipt: stored and read by bob", func() bool {
		r, err := a.api.Receipt(context.Background(), control.ReceiptParams{Room: "lobby", Seq: 1})
		return err == nil && r.Stored == 1 && r.Read == 1
	})
	ca.say("/who-read")
	ca.waitErr("read by: peer(" + idB.Fingerprint().Short() + ")")
	if st, err := b.api.RoomStatus(context.Background()); err != nil || len(st) != 1 || st[0].Unread != 0 {
		t.Fatalf("bob's rooms after reading: %+v, %v", st, err)
	}

	// Typing shows on the attention line above bob's prompt.
	if err := a.api.Typing(context.Background(), "lobby"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's screen says alice types", func() bool { return strings.Contains(screen.String(), "is typing in #lobby") })

	// Presence from the chat line reaches the peer's chat.
	ca.say("/away lunch")
	ca.waitErr("you are away")
	waitFor(t, "bob's chat shows alice away", func() bool {
		s := screen.String()
		return strings.Contains(s, " is away") && strings.Contains(s, ": lunch")
	})
}

func TestMentionCompletion(t *testing.T) {
	var b nameBook
	b.see("bobby", "FP1")
	b.see("bob", "FP2")
	b.see("carol", "FP3")
	for _, tc := range []struct{ buf, want string }{
		{"hi @ca", "hi @carol "},
		{"hi @b", "hi @bob"}, // bob and bobby share "bob"
		{"hi @bobb", "hi @bobby "},
		{"hi @x", "hi @x"},
		{"no at", "no at"},
	} {
		e := newEditor(1000)
		e.complete = b.complete
		e.insert(tc.buf)
		e.key(key{kind: keyTab})
		if e.buf != tc.want || e.cur != len(e.buf) {
			t.Errorf("Tab after %q: %q (cursor %d), want %q", tc.buf, e.buf, e.cur, tc.want)
		}
	}
}

// A terminal left without a key tells the peers "away (idle)"; the next
// key makes it online again.
func TestIdleTerminalGoesAwayAndBack(t *testing.T) {
	a, b, idA, _ := linkedPair(t, nil)
	presenceAtBob := func() string {
		for _, p := range b.node.PeerEntries() {
			if p.Fingerprint == idA.Fingerprint().String() {
				return p.Presence + "/" + p.Status
			}
		}
		return ""
	}
	var screen syncBuffer
	term := newTerminal(&screen, 100, 24, false)
	s := &interp{api: a.api, mode: Terminal, r: term, now: time.Now}
	s.idle.after = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	events, err := a.api.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.loop(ctx, events, nil, term) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "bob sees alice away (idle)", func() bool { return presenceAtBob() == "away/idle" })
	term.keys <- []byte("h")
	waitFor(t, "bob sees alice online after a key", func() bool { return presenceAtBob() == "online/" })
}
