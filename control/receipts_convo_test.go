package control

import (
	"context"
	"testing"

	"github.com/lanchat/lanchat/chat"
)

// receipt and mark_read name a direct conversation by the peer (with) and
// a private room by its name, and count their exact members.
func TestReceiptsOfConversationsByName(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	for _, p := range [][2]*testNode{{alice, bob}, {bob, alice}} {
		if _, err := c.openStore(p[0]).Trust(p[1].id.Fingerprint(), p[1].name); err != nil {
			t.Fatal(err)
		}
	}
	c.start(alice)
	c.start(bob)
	a, b := alice.service(), bob.service()
	waitFor(t, "alice and bob linked", func() bool { return len(alice.node.LinkedPeers()) == 1 })
	ctx := context.Background()

	res, err := a.SendDirect(ctx, DirectParams{To: "bob", Body: "hi bob"})
	if err != nil {
		t.Fatal(err)
	}
	receipt := func(p ReceiptParams) *chat.ReceiptView {
		r, err := a.Receipt(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	waitFor(t, "the DM stored by bob", func() bool { return receipt(ReceiptParams{With: "bob", Seq: res.Message.Seq}).Stored == 1 })
	st, err := b.MarkRead(ctx, MarkReadParams{With: "alice"})
	if err != nil || st.Room != res.Message.Room || st.Conversation != KindDirect || st.Unread != 0 {
		t.Fatalf("bob's mark_read with alice: %+v, %v", st, err)
	}
	waitFor(t, "alice to see it read", func() bool { return receipt(ReceiptParams{With: "bob", Seq: res.Message.Seq}).Read == 1 })
	if _, err := a.Receipt(ctx, ReceiptParams{Room: "lobby", With: "bob", Seq: 1}); err == nil {
		t.Error("receipt with both room and with: no error")
	}

	pr, err := a.CreateRoom(ctx, CreateRoomParams{Name: "plans"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Invite(ctx, MemberParams{Room: "plans", Peer: "bob"}); err != nil {
		t.Fatal(err)
	}
	sent, err := a.Send(ctx, SendParams{Room: "plans", Body: "in plans"})
	if err != nil || sent.Message.Room != pr.ID {
		t.Fatalf("send to plans: %+v, %v", sent, err)
	}
	waitFor(t, "stored by bob, by the room's name", func() bool {
		r := receipt(ReceiptParams{Room: "plans", Seq: sent.Message.Seq})
		return r.Members == 1 && r.Stored == 1 && r.Room == pr.ID
	})
}
