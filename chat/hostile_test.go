package chat

import (
	"context"
	"fmt"
	"net"
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
	cfg.Hello = hello{Nick: "mallory", Rooms: []string{"lobby"}}.encode()
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
		if err := link.Send(session.FrameChat, m.Encode()); err != nil {
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
	if err := link.Send(session.FrameChat, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-link.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a malformed message did not close the link")
	}
}

// An author cannot push a room's clock toward wrapping.
func TestClockJumpIsDropped(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for i, clock := range []uint64{MaxClock + 1, MaxClockJump + 1, 7} {
		m := Message{Room: "lobby", Seq: uint64(i + 1), Clock: clock, Time: time.Now(), Body: fmt.Sprintf("clock %d", clock)}
		m.Sign(mallory)
		if err := link.Send(session.FrameChat, m.Encode()); err != nil {
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
