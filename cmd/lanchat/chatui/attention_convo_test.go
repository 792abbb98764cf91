package chatui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
)

// In a /query conversation the attention line and /who-read work as in a
// room: a direct message waiting elsewhere is counted as "@peer 1", made
// current it is marked read (the author sees it), and the last own
// message's receipt shows and is named by /who-read.
func TestQueryConversationAttention(t *testing.T) {
	a, b, idA, idB := linkedPair(t, nil)
	dm := chat.DirectID(idA.Fingerprint(), idB.Fingerprint())

	var screen syncBuffer
	term := newTerminal(&screen, 160, 24, true)
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
	typeLine := func(line string) { term.keys <- []byte(line + "\r") }

	ca := runChat(t, a.api, Options{Mode: Plain})
	ca.say("/msg " + idB.Fingerprint().String() + " dm one")
	waitFor(t, "bob's attention line counts the DM", func() bool { return strings.Contains(screen.String(), "unread: @peer 1") })
	receipt := func(api control.API, seq uint64) *control.ReceiptView {
		r, err := api.Receipt(context.Background(), control.ReceiptParams{Room: dm, Seq: seq})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := receipt(a.api, 1); r.Read != 0 {
		t.Fatalf("alice's DM read before bob looked: %+v", r)
	}
	typeLine("/query " + idA.Fingerprint().String())
	waitFor(t, "alice to see bob read the DM", func() bool { return receipt(a.api, 1).Read == 1 })

	typeLine("dm reply")
	waitFor(t, "bob's line shows his DM stored", func() bool { return strings.Contains(screen.String(), "your last message: ✓✓ stored by all 1") })
	if _, err := a.api.MarkRead(context.Background(), control.MarkReadParams{Room: dm}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's line shows his DM read", func() bool { return strings.Contains(screen.String(), "stored by all 1, read by 1") })
	waitFor(t, "bob's DM line marked read", func() bool {
		return strings.Contains(screenOf(screen.String(), 160, 24), "): dm reply [1 ✓✓R]")
	})
	typeLine("/who-read")
	waitFor(t, "/who-read names alice", func() bool {
		s := screen.String()
		return strings.Contains(s, `your message 1 "dm reply"`) && strings.Contains(s, "read by: peer("+idA.Fingerprint().Short()+")")
	})
}
