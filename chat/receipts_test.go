package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/fuzzseed"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
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

// Every receipts or presence frame body that decodes re-encodes to the
// same bytes, and no input panics a decoder.
func FuzzReceiptFrames(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "FuzzReceiptFrames") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeStoredFrame(b); err == nil && !bytes.Equal(s.encode(), b) {
			t.Fatalf("stored re-encoding differs")
		}
		if r, err := decodeReadMark(b); err == nil && !bytes.Equal(r.encode(), b) {
			t.Fatalf("read re-encoding differs")
		}
		if p, err := decodePresence(b); err == nil && !bytes.Equal(p.encode(), b) {
			t.Fatalf("presence re-encoding differs")
		}
	})
}

// Malformed receipts and presence frames are refused as frame errors
// (the link closes with code 2).
func TestReceiptFramesRefuseMalformed(t *testing.T) {
	var key [32]byte
	key[0] = 7
	good := readMark{Room: "lobby", Pos: storage.Position{Clock: 1, Author: key, Seq: 1}}.encode()
	for _, tc := range []struct {
		name   string
		decode func([]byte) error
		body   []byte
	}{
		{"stored without authors", func(b []byte) error { _, err := decodeStoredFrame(b); return err }, append(appendRoom(nil, "lobby"), 0, 0)},
		{"read truncated", func(b []byte) error { _, err := decodeReadMark(b); return err }, good[:len(good)-1]},
		{"read trailing", func(b []byte) error { _, err := decodeReadMark(b); return err }, append(good, 0)},
		{"read seq 0", func(b []byte) error { _, err := decodeReadMark(b); return err },
			readMark{Room: "lobby", Pos: storage.Position{Clock: 1, Author: key}}.encode()},
		{"read bad room", func(b []byte) error { _, err := decodeReadMark(b); return err },
			readMark{Room: "Lobby", Pos: storage.Position{Clock: 1, Author: key, Seq: 1}}.encode()},
		{"presence state 3", func(b []byte) error { _, err := decodePresence(b); return err }, []byte{3, 0}},
		{"presence control char", func(b []byte) error { _, err := decodePresence(b); return err }, []byte{1, 2, 'a', 0x1b}},
		{"presence long status", func(b []byte) error { _, err := decodePresence(b); return err },
			append([]byte{1, 129}, bytes.Repeat([]byte("a"), 129)...)},
		{"presence trailing", func(b []byte) error { _, err := decodePresence(b); return err }, []byte{0, 0, 0}},
	} {
		if err := tc.decode(tc.body); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err = %v, want a frame error", tc.name, err)
		}
	}
}

// A member that speaks only version 1 (hello, sync) still counts: its sync
// request says what it holds. What a member says in stored and read
// frames counts for that member alone; a malformed one closes its link
// with code 2.
func TestReceiptsFromOldAndHostileMembers(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	waitFor(t, "mallory linked", func() bool { return len(alice.node.LinkedPeers()) == 1 })
	v, _, err := alice.node.Send(context.Background(), "lobby", "for the old node")
	if err != nil {
		t.Fatal(err)
	}
	if r := alice.receipt(t, v); r.Members != 1 || r.Stored != 0 {
		t.Fatalf("before mallory's sync: %+v, want 0 of 1", r)
	}
	// The version-1 catch-up: mallory's sync request names alice at head 1.
	req := syncRequest{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{alice.id.Public(): 1}}
	if err := link.Send(frameSyncRequest, req.encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stored by mallory, from her sync request", func() bool { return alice.receipt(t, v).Stored == 1 })
	if r := alice.receipt(t, v); len(r.StoredBy) != 1 || r.StoredBy[0] != mallory.Fingerprint().String() {
		t.Fatalf("stored by %v, want mallory", r.StoredBy)
	}
	// Her read frame counts for her; nothing else moves.
	rm := readMark{Room: "lobby", Pos: storage.Position{Clock: v.Clock, Author: alice.id.Public(), Seq: v.Seq}}
	if err := link.Send(frameRead, rm.encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "read by mallory", func() bool { return alice.receipt(t, v).Read == 1 })
	// Receipts for rooms alice is not in make no state (memory stays
	// bounded by her own rooms).
	for i := range 100 {
		room := fmt.Sprintf("not-hers-%d", i)
		other := readMark{Room: room, Pos: storage.Position{Clock: 1, Author: alice.id.Public(), Seq: 1}}
		if err := link.Send(frameRead, other.encode()); err != nil {
			t.Fatal(err)
		}
		if err := link.Send(frameStored, stored{Room: room, Heads: map[lcrypto.IdentityKey]uint64{alice.id.Public(): 1}}.encode()); err != nil {
			t.Fatal(err)
		}
	}
	later := readMark{Room: "lobby", Pos: storage.Position{Clock: v.Clock + 1, Author: alice.id.Public(), Seq: v.Seq + 1}}
	if err := link.Send(frameRead, later.encode()); err != nil { // after the others, on one link
		t.Fatal(err)
	}
	waitFor(t, "mallory's frames handled", func() bool {
		rr, err := alice.node.receiptsOf("lobby")
		if err != nil {
			t.Fatal(err)
		}
		rr.mu.Lock()
		defer rr.mu.Unlock()
		return rr.members[mallory.Public()].Read == later.Pos
	})
	alice.node.rcpt.Lock()
	tracked := len(alice.node.rcpt.byRoom)
	alice.node.rcpt.Unlock()
	if tracked > 1 {
		t.Fatalf("receipts state for %d rooms, want only lobby's", tracked)
	}
	if err := link.Send(frameStored, append(appendRoom(nil, "lobby"), 0, 0)); err != nil {
		t.Fatal(err)
	}
	ce := waitClosedBy(t, link)
	if ce.Code != session.CloseProtocolError || !strings.Contains(ce.Reason, "malformed frame") {
		t.Fatalf("a stored frame without authors: closed with %d %q, want code 2", ce.Code, ce.Reason)
	}
}

// With NoReadReceipts a node sends no read frame: the author sees its
// message stored by it, never read.
func TestNoReadReceiptsSendsNone(t *testing.T) {
	c := newCluster(t)
	a, b := c.add("alice"), c.add("bob")
	c.trustAll(a, b)
	c.start(a)
	cfg := c.config(b)
	cfg.NoReadReceipts = true
	c.startWith(b, cfg)
	c.waitLinked(a, b)
	v, _, err := a.node.Send(context.Background(), "lobby", "read me")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stored by bob", func() bool { return a.receipt(t, v).Stored == 1 })
	if _, err := b.node.MarkRead("lobby", ""); err != nil {
		t.Fatal(err)
	}
	if st := b.status(t, "lobby"); st.Unread != 0 {
		t.Fatalf("bob's own read position did not move: %+v", st)
	}
	// A read frame would leave bob before the stored frame of a later
	// message (one link keeps frames in order): once alice sees the second
	// stored, she would have seen bob read the first.
	w, _, err := a.node.Send(context.Background(), "lobby", "and this")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob stores the second", func() bool { return a.receipt(t, w).Stored == 1 })
	if r := a.receipt(t, v); r.Read != 0 || b.node.Stats().ReadFramesSent != 0 {
		t.Fatalf("bob with read receipts off: read %d, read frames sent %d; want none", r.Read, b.node.Stats().ReadFramesSent)
	}
}

// A member that links again without the room in its hello has left it:
// it no longer counts in n.
func TestMemberLeavesByItsHello(t *testing.T) {
	c := newCluster(t)
	a, b := c.add("alice"), c.add("bob")
	c.trustAll(a, b)
	c.start(a)
	c.start(b)
	c.waitLinked(a, b)
	v, _, err := a.node.Send(context.Background(), "lobby", "still there?")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stored by bob", func() bool { return a.receipt(t, v).State() == "stored by all 1 members" })
	c.stop(b)
	b.rooms = []string{"dev"}
	c.start(b)
	c.waitLinked(a, b)
	waitFor(t, "bob no longer a member of lobby", func() bool { return a.receipt(t, v).Members == 0 })
}

// Typing in a direct conversation reaches the other person only: a third
// node linked to both, in a room with both, is not told.
func TestTypingInADirectConversation(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob, carol)
	for _, n := range []*testNode{alice, bob, carol} {
		c.start(n)
	}
	c.waitLinked(alice, bob)
	c.waitLinked(alice, carol)
	c.waitLinked(bob, carol)
	dm := DirectID(alice.id.Fingerprint(), bob.id.Fingerprint())
	if err := alice.node.Typing(dm); err != nil {
		t.Fatalf("typing in the direct conversation: %v", err)
	}
	ev := bob.waitEvent(t, EventTyping, alice)
	if ev.Room != dm {
		t.Fatalf("bob's typing event: %+v", ev)
	}
	// carol gets the lobby's typing, never the conversation's.
	if err := alice.node.Typing("lobby"); err != nil {
		t.Fatal(err)
	}
	ev = carol.waitEvent(t, EventTyping, alice)
	if ev.Room != "lobby" {
		t.Fatalf("carol was told of typing in %q", ev.Room)
	}
	if err := carol.node.Typing(dm); !errors.Is(err, ErrNotMember) {
		t.Errorf("carol typing in alice and bob's conversation: %v, want ErrNotMember", err)
	}
}
