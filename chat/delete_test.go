package chat

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/fuzzseed"
)

func bodies(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l[strings.Index(l, " ")+1:] // "id body"
	}
	return out
}

// Deleted for everyone across a partition: carol is away while alice
// deletes one message carol holds and one carol never got; when carol comes
// back, every member's history is the same, without either message, and no
// member serves them again.
func TestDeleteForEveryoneConverges(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob, carol)
	for _, n := range []*testNode{alice, bob, carol} {
		c.start(n)
	}
	c.waitLinked(alice, bob, carol)
	alice.send(t, "lobby", "one")
	waitFor(t, "carol has one", func() bool { return len(carol.history(t, "lobby")) == 1 })
	c.stop(carol) // the partition
	alice.send(t, "lobby", "two")
	alice.send(t, "lobby", "three")
	waitFor(t, "bob has three", func() bool { return len(bob.history(t, "lobby")) == 3 })
	for _, seq := range []uint64{1, 2} {
		if _, err := alice.node.DeleteForEveryone("lobby", seq); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"three"}
	waitFor(t, "bob honours both", func() bool { return slices.Equal(bodies(bob.history(t, "lobby")), want) })
	if got := bodies(alice.history(t, "lobby")); !slices.Equal(got, want) {
		t.Fatalf("alice's history after deleting: %v", got)
	}
	c.start(carol)
	c.waitLinked(alice, bob, carol)
	waitFor(t, "carol converges", func() bool { return slices.Equal(bodies(carol.history(t, "lobby")), want) })
	c.waitConverged("lobby", alice, bob, carol)
	// a peer that missed the tombstone cannot bring the message back
	if _, err := bob.node.DeleteForEveryone("lobby", 1); err == nil {
		t.Error("bob deleted a message that is not his")
	}
	key := alice.id.Public()
	a, err := alice.node.chainAt(alice.node.room("lobby"), "lobby", key, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{bob, carol} {
		got, err := n.node.chainAt(n.node.room("lobby"), "lobby", key, 3)
		if err != nil || got != a {
			t.Errorf("%s's chain of alice: %x %v, want %x", n.name, got, err, a)
		}
	}
}

// A tombstone verifies only under its author's key: nobody can delete
// another member's message, and an altered tombstone is refused.
func TestTombstoneSignature(t *testing.T) {
	alice, mallory := newID(t), newID(t)
	ts := tombstone{Room: "lobby", Author: alice.Public(), Seq: 3, Sum: sha256.Sum256([]byte("x"))}
	ts.Sig = alice.Sign(lcrypto.DomainDelete, ts.signedBytes())
	got, err := decodeTombstone(ts.encode())
	if err != nil || !got.verify() || !bytes.Equal(got.encode(), ts.encode()) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	forged := ts
	forged.Sig = mallory.Sign(lcrypto.DomainDelete, forged.signedBytes())
	if forged.verify() {
		t.Error("a tombstone for alice's message signed by mallory verifies")
	}
	other := ts
	other.Seq = 4
	if other.verify() {
		t.Error("an altered tombstone verifies")
	}
	asMessage := ts
	asMessage.Sig = alice.Sign(lcrypto.DomainMessage, ts.signedBytes())
	if asMessage.verify() {
		t.Error("a signature of another domain verifies")
	}
}

// FuzzDeleteFrame: any delete frame body decodes or is refused with
// ErrFrame, never a panic; one that decodes re-encodes to the same bytes.
func FuzzDeleteFrame(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "FuzzDeleteFrame") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := decodeTombstone(b)
		if err != nil {
			return
		}
		if !bytes.Equal(ts.encode(), b) {
			t.Fatalf("re-encoding changed the bytes:\n in  %x\n out %x", b, ts.encode())
		}
		_ = ts.verify()
	})
}

// TestHistoryShowsDeletedLines: with HistoryQuery.Deleted, a message its
// author deleted for everyone is a "deleted" line in its place on every
// member that held it (its id, author and seq; no body), live front ends
// are told, and a limit that leaves its place out leaves the line out.
func TestHistoryShowsDeletedLines(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	for _, b := range []string{"one", "two", "three"} {
		alice.send(t, "lobby", b)
	}
	waitFor(t, "bob has three", func() bool { return len(bob.history(t, "lobby")) == 3 })
	before := bob.history(t, "lobby")
	if _, err := alice.node.DeleteForEveryone("lobby", 2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob honours it", func() bool { return len(bob.history(t, "lobby")) == 2 })
	waitFor(t, "bob's front ends are told", func() bool {
		for {
			select {
			case ev := <-bob.events:
				if ev.Kind == EventDeleted && ev.Message != nil && ev.Message.Deleted && ev.Message.Seq == 2 && ev.Message.ID == strings.Fields(before[1])[0] {
					return true
				}
			default:
				return false
			}
		}
	})
	for _, tn := range []*testNode{alice, bob} {
		views, err := ReadHistory(tn.store, tn.id.Public(), tn.name, HistoryQuery{Rooms: []string{"lobby"}, Deleted: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(views) != 3 || views[0].Body != "one" || !views[1].Deleted || views[1].Body != "" || views[1].Seq != 2 ||
			views[1].ID != strings.Fields(before[1])[0] || views[1].Author != alice.id.Fingerprint().String() || views[2].Body != "three" {
			t.Fatalf("%s's history with deleted lines: %+v", tn.name, views)
		}
		if views, _ := tn.node.History(HistoryQuery{Rooms: []string{"lobby"}, Deleted: true, Limit: 1}); len(views) != 1 || views[0].Body != "three" {
			t.Errorf("%s: limit 1: %+v", tn.name, views)
		}
		if views, _ := tn.node.History(HistoryQuery{Rooms: []string{"lobby"}, Deleted: true, Grep: "e"}); len(views) != 2 {
			t.Errorf("%s: grep shows %d lines", tn.name, len(views))
		}
	}
}
