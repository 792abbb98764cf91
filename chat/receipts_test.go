package chat

import (
	"context"
	"testing"
)

// receiptOfOwn is the receipt of tn's message v.
func (tn *testNode) receipt(t *testing.T, v *MessageView) *ReceiptView {
	t.Helper()
	r, err := tn.node.Receipt(v.Room, tn.id.Public(), v.Seq)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (tn *testNode) status(t *testing.T, room string) RoomStatus {
	t.Helper()
	all, err := tn.node.RoomStatuses()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.Room == room {
			return st
		}
	}
	t.Fatalf("%s: no status for room %s in %+v", tn.name, room, all)
	return RoomStatus{}
}

// A message's state goes "only here" → "stored by 1 of 2" → "stored by all
// 2" as the members come back; read markers cross links and survive
// restarts of either side.
func TestStoredByKOfNAsMembersComeBack(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(a, b, d)
	for _, n := range []*testNode{a, b, d} {
		c.start(n)
	}
	c.waitLinked(a, b, d) // a learns that b and d are members of lobby
	c.stop(b)
	c.stop(d)
	waitFor(t, "alice alone", func() bool { return len(a.node.LinkedPeers()) == 0 })

	v, _, err := a.node.Send(context.Background(), "lobby", "did you get this?")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.receipt(t, v).State(); got != "only here" {
		t.Fatalf("with both away: %q, want only here", got)
	}
	c.start(b)
	waitFor(t, "stored by 1 of 2", func() bool { return a.receipt(t, v).State() == "stored by 1 of 2 members" })
	r := a.receipt(t, v)
	if len(r.StoredBy) != 1 || r.StoredBy[0] != b.id.Fingerprint().String() || len(r.Waiting) != 1 ||
		r.Waiting[0] != d.id.Fingerprint().String() || r.Read != 0 {
		t.Fatalf("receipt %+v: want stored by bob, carol waiting, read by none", r)
	}
	c.start(d)
	waitFor(t, "stored by all 2", func() bool { return a.receipt(t, v).State() == "stored by all 2 members" })

	// bob reads: alice sees it, and both keep it across restarts.
	if st := b.status(t, "lobby"); st.Unread != 1 {
		t.Fatalf("bob's unread before reading: %+v", st)
	}
	if st, err := b.node.MarkRead("lobby", v.ID); err != nil || st.Unread != 0 || st.LastRead != v.ID {
		t.Fatalf("bob marks read: %+v, %v", st, err)
	}
	waitFor(t, "alice sees bob's read marker", func() bool { return a.receipt(t, v).Read == 1 })
	if r := a.receipt(t, v); len(r.ReadBy) != 1 || r.ReadBy[0] != b.id.Fingerprint().String() {
		t.Fatalf("read by %v, want bob", r.ReadBy)
	}
	c.stop(a)
	c.stop(b)
	c.start(a)
	c.start(b)
	if r := a.receipt(t, v); r.Read != 1 || r.Stored != 2 {
		t.Fatalf("after alice's restart: %+v, want stored 2, read 1", r)
	}
	if st := b.status(t, "lobby"); st.Unread != 0 || st.LastRead != v.ID {
		t.Fatalf("bob's status after his restart: %+v", st)
	}
	// A message from a third party is unread for bob until he reads it.
	d.send(t, "lobby", "carol here")
	waitFor(t, "bob has carol's message unread", func() bool { return b.status(t, "lobby").Unread == 1 })
}

// Presence reaches linked peers and ends with the link.
func TestPresenceReachesPeersAndExpires(t *testing.T) {
	c := newCluster(t)
	a, b := c.add("alice"), c.add("bob")
	c.trustAll(a, b)
	c.start(a)
	c.start(b)
	c.waitLinked(a, b)
	entry := func() PeerEntry {
		for _, e := range b.node.PeerEntries() {
			if e.Fingerprint == a.id.Fingerprint().String() {
				return e
			}
		}
		return PeerEntry{}
	}
	waitFor(t, "bob sees alice online", func() bool { return entry().Presence == "online" })
	if err := a.node.SetPresence(Away, "lunch"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob sees alice away", func() bool { e := entry(); return e.Presence == "away" && e.Status == "lunch" })
	ev := b.waitEvent(t, EventPresence, a)
	if ev.Peer == nil || ev.Peer.Fingerprint != a.id.Fingerprint().String() {
		t.Fatalf("presence event %+v", ev)
	}
	if err := a.node.SetPresence(Busy, "\x1b[2J"); err == nil {
		t.Fatal("a status with a control character was taken")
	}
	c.stop(a)
	waitFor(t, "alice's presence gone with her link", func() bool {
		e := entry()
		return !e.Linked && e.Presence == "" && e.Status == ""
	})
}

// A mention marks the message for the mentioned user only, and counts
// apart in the unread state.
func TestMentionMarksOnlyTheMentioned(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(a, b, d)
	for _, n := range []*testNode{a, b, d} {
		c.start(n)
	}
	c.waitLinked(a, b, d)
	a.send(t, "lobby", "@Bob, lunch?")
	got := map[string]bool{}
	for _, n := range []*testNode{b, d} {
		waitFor(t, n.name+": alice's message", func() bool {
			for {
				select {
				case ev := <-n.events:
					if ev.Kind == EventMessage && ev.Message.Body == "@Bob, lunch?" {
						got[n.name] = ev.Message.Mention
						return true
					}
				default:
					return false
				}
			}
		})
	}
	if !got["bob"] || got["carol"] {
		t.Fatalf("mention marks %v: want bob only", got)
	}
	if st := b.status(t, "lobby"); st.Unread != 1 || st.Mentions != 1 {
		t.Fatalf("bob: %+v, want 1 unread, 1 mention", st)
	}
	if st := d.status(t, "lobby"); st.Unread != 1 || st.Mentions != 0 {
		t.Fatalf("carol: %+v, want 1 unread, no mention", st)
	}
}

func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"@bob hi", true},
		{"hi @BOB", true},
		{"hi @bob, you there", true},
		{"mail bob@bob.example", false},
		{"@bobby hi", false},
		{"bob hi", false},
		{"@QSMG3CI look", true},
		{"@qsmg3ci look", true},
		{"@bob_two", false},
		{"", false},
	} {
		if got := Mentions(tc.body, "bob", "QSMG3CI"); got != tc.want {
			t.Errorf("Mentions(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}
