package chat

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session"
)

// Receipts of a direct conversation (n = 1: the other person) and of a
// private room (n = the members of its signed membership, one of them
// never met): stored-by and read markers reach the author, unread counts
// cover both, and a third node linked to both sides gets no frame that
// names either conversation.
func TestConversationReceiptsStayWithTheMembers(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	carol, dave := newID(t), newID(t) // carol: a raw node linked to both; dave: invited, never met
	c.trustAll(alice, bob)
	if _, err := c.openStore(alice).Trust(dave.Fingerprint(), "dave"); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*testNode{alice, bob} {
		if _, err := c.openStore(tn).Trust(carol.Fingerprint(), "carol"); err != nil {
			t.Fatal(err)
		}
		c.start(tn)
	}
	c.waitLinked(alice, bob)
	toBob := rawMember(t, bob, carol) // carol links to alice only once both conversations have markers
	ctx := context.Background()

	// The direct conversation: "only here" is impossible to see reliably
	// while bob is linked, so the counts are checked as they end.
	dm := DirectID(alice.id.Fingerprint(), bob.id.Fingerprint())
	v := alice.sendDirect(t, bob, "dm for bob")
	waitFor(t, "the DM stored by bob", func() bool { return alice.receipt(t, v).State() == "stored by all 1 members" })
	if r := alice.receipt(t, v); r.Members != 1 || r.Read != 0 || !slices.Equal(r.StoredBy, []string{bob.id.Fingerprint().String()}) {
		t.Fatalf("DM receipt before bob read it: %+v", r)
	}
	st := bob.status(t, dm)
	if st.Conversation != KindDirect || st.With != alice.id.Fingerprint().String() || st.Name != "alice" || st.Unread != 1 || !st.Joined {
		t.Fatalf("bob's status of the DM: %+v, want direct with alice, 1 unread", st)
	}
	if st, err := bob.node.MarkRead(dm, ""); err != nil || st.Unread != 0 || st.LastRead != v.ID {
		t.Fatalf("bob marks the DM read: %+v, %v", st, err)
	}
	waitFor(t, "alice to see bob read the DM", func() bool { return alice.receipt(t, v).Read == 1 })

	// The private room: bob and dave are members; dave never links.
	room, err := alice.node.CreateRoom(ctx, "plans")
	if err != nil {
		t.Fatal(err)
	}
	op, err := alice.node.Invite(ctx, room, bob.id.Public())
	mustOp(t, "invite bob", op, err)
	op, err = alice.node.Invite(ctx, room, dave.Public())
	mustOp(t, "invite dave", op, err)
	waitFor(t, "bob to be a member", func() bool { return bob.node.convo(room) != nil })
	pv, _, err := alice.node.Send(ctx, room, "private hello")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stored by 1 of 2", func() bool { return alice.receipt(t, pv).State() == "stored by 1 of 2 members" })
	if r := alice.receipt(t, pv); !slices.Equal(r.Waiting, []string{dave.Fingerprint().String()}) {
		t.Fatalf("private receipt %+v: want dave (never met) waiting", r)
	}
	waitFor(t, "bob's unread in the private room", func() bool {
		st := bob.status(t, room)
		return st.Conversation == KindPrivate && st.Name == "plans" && st.Unread >= 1
	})
	if _, err := bob.node.MarkRead(room, pv.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice to see bob read the private message", func() bool { return alice.receipt(t, pv).Read == 1 })
	// Alice reads bob's replies in both: she holds a read position in
	// each, which a new link is told if it may be.
	bv := bob.sendDirect(t, alice, "dm reply")
	bpv, _, err := bob.node.Send(ctx, room, "private reply")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*MessageView{bv, bpv} {
		waitFor(t, "alice to get bob's reply", func() bool { _, err := alice.node.MarkRead(r.Room, r.ID); return err == nil })
		waitFor(t, "bob to see alice read it", func() bool { return bob.receipt(t, r).Read == 1 })
	}
	toAlice := rawMember(t, alice, carol)
	// Carol writes in lobby: alice and bob each tell her they stored it, so
	// her links do carry receipts, and the conversations' came before.
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "carol in lobby"}
	m.Sign(carol)
	for name, link := range map[string]*session.Link{"alice": toAlice, "bob": toBob} {
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
		frames := recvUntil(t, link, func(f session.Frame) bool {
			st, err := decodeStoredFrame(f.Body)
			return f.Type == frameStored && err == nil && st.Room == "lobby"
		})
		for _, f := range frames {
			for _, id := range []string{dm, room} {
				if bytes.Contains(f.Body, []byte(id)) {
					t.Errorf("%s sent carol a %s frame naming %s", name, chatFrameNames[f.Type], id)
				}
			}
		}
	}
	// The author's store keeps both markers.
	c.stop(alice)
	s := c.openStore(alice)
	defer func() { s.Close(); alice.store = nil }()
	for _, want := range []struct {
		room   string
		seq    uint64
		stored int
	}{{dm, v.Seq, 1}, {room, pv.Seq, 1}} {
		r, err := ReadReceipt(s, alice.id.Public(), want.room, alice.id.Public(), want.seq)
		if err != nil || r.Stored != want.stored || r.Read != 1 {
			t.Errorf("the receipt of %s from alice's store: %+v, %v", want.room, r, err)
		}
	}
}
