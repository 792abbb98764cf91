package chat

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// hostileMember starts tn (no discovery) trusting id, and links id to it as
// a member that speaks frames by hand.
func (c *cluster) hostileMember(tn *testNode, id *lcrypto.Identity) *session.Link {
	c.t.Helper()
	if _, err := c.openStore(tn).Trust(id.Fingerprint(), "mallory"); err != nil {
		c.t.Fatal(err)
	}
	cfg := c.config(tn)
	cfg.NoDiscovery = true
	c.startWith(tn, cfg)
	return rawMember(c.t, tn, id)
}

// rawMember links to tn as a trusted member that speaks frames by hand.
func rawMember(t *testing.T, tn *testNode, id *lcrypto.Identity) *session.Link {
	t.Helper()
	return rawMemberHello(t, tn, id, hello{Nick: "mallory", Rooms: []string{"lobby"}}.encode())
}

// rawMemberHello is rawMember with the hello body given byte by byte.
func rawMemberHello(t *testing.T, tn *testNode, id *lcrypto.Identity, helloBody []byte) *session.Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := tn.node.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.DefaultConfig()
	cfg.Identity = id
	cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k == tn.id.Public() }
	cfg.Hello = helloBody
	link, err := session.Dial(ctx, conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close("test over") })
	return link
}

func TestHostileMemberCannotForgeOrReplay(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)

	// 1. Mallory's own message, sent twice: stored and shown once.
	own := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "from mallory"}
	own.Sign(mallory)
	// 2. Mallory signs a message but names bob as its author.
	forged := Message{Room: "lobby", Seq: 1, Clock: 2, Time: time.Now(), Body: "bob says: trust mallory"}
	forged.Sign(mallory)
	forged.Author = bob.id.Public()
	// 3. A message really written by bob, relayed by mallory: accepted, and
	// marked untrusted because alice never trusted bob.
	relayed := Message{Room: "lobby", Seq: 1, Clock: 3, Time: time.Now(), Body: "bob, relayed"}
	relayed.Sign(bob.id)
	for _, m := range []Message{own, own, forged, relayed, own} {
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "alice to store the relayed message", func() bool {
		return hasBodies(alice.history(t, "lobby"), "bob, relayed")
	})
	h := alice.history(t, "lobby")
	if len(h) != 2 || !hasBodies(h, "from mallory", "bob, relayed") {
		t.Fatalf("alice's history = %v, want mallory's message once and bob's relayed one", h)
	}
	views, err := ReadHistory(alice.store, alice.id.Public(), "alice", HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if want := v.Body == "from mallory"; v.Trusted != want {
			t.Fatalf("%q: trusted = %v, want %v", v.Body, v.Trusted, want)
		}
	}
	select {
	case <-link.Done():
		t.Fatalf("a bad signature closed the link: %v", link.Err())
	default:
	}

	// 4. A malformed frame closes the link.
	if err := link.Send(frameChat, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "a malformed message to close the link", link.Done())
}

// An author cannot push a room's clock toward wrapping: a clock above the
// bound of its sequence number is dropped.
func TestClockJumpIsDropped(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for i, clock := range []uint64{MaxClock + 1, ClockBound(2) + 1, 7} {
		m := Message{Room: "lobby", Seq: uint64(i + 1), Clock: clock, Time: time.Now(), Body: fmt.Sprintf("clock %d", clock)}
		m.Sign(mallory)
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the sane message", func() bool { return hasBodies(alice.history(t, "lobby"), "clock 7") })
	if h := alice.history(t, "lobby"); len(h) != 1 {
		t.Fatalf("history = %v, want only the message with a sane clock", h)
	}
	if _, _, err := alice.node.Send(context.Background(), "lobby", "still works"); err != nil {
		t.Fatal(err)
	}
}

// However many sync requests a member sends without reading, the node
// runs at most one sync per room for it.
func TestSyncRequestFloodIsBounded(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for i := 1; i <= 200; i++ { // some history worth syncing
		alice.send(t, "lobby", fmt.Sprintf("message %d", i))
	}
	before := runtime.NumGoroutine()
	req := syncRequest{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{}}
	for i := 0; i < 300; i++ {
		if err := link.Send(frameSyncRequest, req.encode()); err != nil {
			t.Fatal(err)
		}
	}
	// The requests are read in order; the node answers ping-free frames
	// meanwhile. Wait until a later frame was handled: a message from mallory.
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "after the flood"}
	m.Sign(mallory)
	if err := link.Send(frameChat, m.Encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the frame after the flood", func() bool { return hasBodies(alice.history(t, "lobby"), "after the flood") })
	if grew := runtime.NumGoroutine() - before; grew > 10 {
		t.Fatalf("300 sync requests started %d goroutines, want at most a few", grew)
	}
}

// The node's own messages coming back from a peer (say, after restoring an
// old backup) move its sequence on: the next send is stored, not dropped as
// a duplicate.
func TestOwnMessagesFromPeersAdvanceSequence(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for seq := uint64(1); seq <= 3; seq++ {
		m := Message{Room: "lobby", Seq: seq, Clock: seq, Time: time.Now(), Body: fmt.Sprintf("old %d", seq)}
		m.Sign(alice.id) // written by alice's key before the backup was restored
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the old messages", func() bool { return hasBodies(alice.history(t, "lobby"), "old 3") })
	v, _, err := alice.node.Send(context.Background(), "lobby", "new")
	if err != nil {
		t.Fatal(err)
	}
	if v.Seq != 4 || !hasBodies(alice.history(t, "lobby"), "new") {
		t.Fatalf("new message has seq %d (stored: %v), want 4 and stored", v.Seq, hasBodies(alice.history(t, "lobby"), "new"))
	}
}

// Stopping a node closes its links with a reason, also without discovery
// (no bye beacon to fall back on).
func TestShutdownClosesLinksWithReason(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	waitFor(t, "alice to register the link", func() bool { return len(alice.node.LinkedPeers()) == 1 })
	c.stop(alice)
	waitClosed(t, "the peer's link to end after the node stopped", link.Done())
	if err := link.Err(); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("link ended with %v, want the close reason \"shutting down\"", err)
	}
}

// A member that stops reading is cut off when its bounded queue fills;
// everyone else keeps getting every message.
func TestSlowPeerDoesNotStallOthers(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory := newID(t)
	c.trustAll(alice, bob)
	if _, err := c.openStore(alice).Trust(mallory.Fingerprint(), "mallory"); err != nil {
		t.Fatal(err)
	}
	cfg := c.config(alice)
	cfg.Session.MaxFrameSize = 300 << 10
	cfg.Session.SendQueueBytes = cfg.Session.MaxFrameSize + session.QueueOverhead
	c.startWith(alice, cfg)
	c.start(bob)
	c.waitLinked(alice, bob)
	link := rawMember(t, alice, mallory) // never reads
	waitFor(t, "mallory linked", func() bool { return len(alice.node.LinkedPeers()) == 2 })
	body := strings.Repeat("x", 3900)
	sent := 0
	for ; sent < 6000 && len(alice.node.LinkedPeers()) == 2; sent++ {
		alice.send(t, "lobby", fmt.Sprintf("%d %s", sent, body))
	}
	if len(alice.node.LinkedPeers()) == 2 {
		t.Fatalf("after %d messages (%d MB) the reader-less link is still up", sent, sent*len(body)>>20)
	}
	t.Logf("the reader-less link was cut after %d messages", sent)
	alice.send(t, "lobby", "after the cut")
	sent++
	waitFor(t, "bob to have every message", func() bool { return len(bob.history(t, "lobby")) == sent })
	_ = link
}
