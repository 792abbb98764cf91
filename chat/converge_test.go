package chat

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage/storagetest"
)

// lobbyMsg is a message by id in lobby with the given seq, clock and body.
func lobbyMsg(id *lcrypto.Identity, seq, clock uint64, body string) Message {
	m := Message{Room: "lobby", Seq: seq, Clock: clock, Time: time.UnixMilli(1_700_000_000_000 + int64(seq)), Body: body}
	m.Sign(id)
	return m
}

func sendRaw(t *testing.T, link *session.Link, msgs ...Message) {
	t.Helper()
	for _, m := range msgs {
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
}

// views reads tn's lobby history as the UI gets it.
func (tn *testNode) views(t *testing.T) []*MessageView {
	t.Helper()
	v, err := ReadHistory(tn.store, tn.id.Public(), tn.name, HistoryQuery{Rooms: []string{"lobby"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A member trusted by one node inflates its clock as fast as it can. Nodes
// that were online and a late joiner end with the same, full history, and
// everyone's later messages reach everyone: whether a clock is accepted
// depends on the message alone.
func TestClockInflationDoesNotCutOffLateJoiner(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob, carol)
	mallory := newID(t)
	if _, err := c.openStore(alice).Trust(mallory.Fingerprint(), "mallory"); err != nil {
		t.Fatal(err)
	}
	c.start(alice)
	c.start(bob)
	c.waitLinked(alice, bob)
	link := rawMember(t, alice, mallory)
	const steps = 6
	var want []string
	for seq := uint64(1); seq <= steps; seq++ {
		body := fmt.Sprintf("inflated %d", seq)
		sendRaw(t, link, lobbyMsg(mallory, seq, ClockBound(seq), body))
		waitFor(t, "bob holds "+body, func() bool { return hasBodies(bob.history(t, "lobby"), body) })
		bob.send(t, "lobby", fmt.Sprintf("honest %d", seq))
		want = append(want, body, fmt.Sprintf("honest %d", seq))
	}
	// One step past the bound is dropped by everyone alike.
	sendRaw(t, link, lobbyMsg(mallory, steps+1, ClockBound(steps+1)+1, "too far"))
	c.waitConverged("lobby", alice, bob)

	c.start(carol)
	c.waitLinked(alice, bob, carol)
	c.waitConverged("lobby", alice, bob, carol)
	carol.send(t, "lobby", "carol after")
	alice.send(t, "lobby", "alice after")
	want = append(want, "carol after", "alice after")
	for _, n := range []*testNode{alice, bob, carol} {
		waitFor(t, n.name+" has every message", func() bool { return hasBodies(n.history(t, "lobby"), want...) })
	}
	c.waitConverged("lobby", alice, bob, carol)
	h := carol.history(t, "lobby")
	if len(h) != len(want) || hasBodies(h, "too far") {
		t.Fatalf("carol's history has %d messages, want %d without \"too far\":\n%s", len(h), len(want), strings.Join(h, "\n"))
	}
	for _, v := range carol.views(t) {
		if v.Clock > ClockBound(v.Seq) {
			t.Errorf("message %q has clock %d above the bound %d of seq %d", v.Body, v.Clock, ClockBound(v.Seq), v.Seq)
		}
	}
}

func TestClockBound(t *testing.T) {
	for _, tc := range []struct{ seq, want uint64 }{
		{1, ClockStep},
		{2, 2 * ClockStep},
		{MaxClock/ClockStep - 1, MaxClock - ClockStep},
		{MaxClock / ClockStep, MaxClock},
		{1 << 63, MaxClock},
		{^uint64(0), MaxClock},
	} {
		if got := ClockBound(tc.seq); got != tc.want {
			t.Errorf("ClockBound(%d) = %d, want %d", tc.seq, got, tc.want)
		}
	}
}

// Two nodes are fed two versions of one message of a hostile author, then
// linked: both keep the same version, mark the author, and lose nothing else.
func TestEquivocationConvergesAndIsReported(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory := newID(t)
	for _, n := range []*testNode{alice, bob} {
		if _, err := c.openStore(n).Trust(mallory.Fingerprint(), "mallory"); err != nil {
			t.Fatal(err)
		}
		c.start(n)
	}
	one, three := lobbyMsg(mallory, 1, 1, "one"), lobbyMsg(mallory, 3, 3, "three")
	twoA, twoB := lobbyMsg(mallory, 2, 2, "two for alice"), lobbyMsg(mallory, 2, 2, "two for bob")
	sendRaw(t, rawMember(t, alice, mallory), one, twoA, three)
	sendRaw(t, rawMember(t, bob, mallory), one, twoB, three)
	alice.send(t, "lobby", "alice's own")
	bob.send(t, "lobby", "bob's own")
	waitFor(t, "alice holds her version", func() bool { return hasBodies(alice.history(t, "lobby"), "two for alice", "three") })
	waitFor(t, "bob holds his version", func() bool { return hasBodies(bob.history(t, "lobby"), "two for bob", "three") })

	// Now they trust each other and link.
	if _, err := alice.node.Trust(bob.id.Fingerprint(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.node.Trust(alice.id.Fingerprint(), "alice"); err != nil {
		t.Fatal(err)
	}
	c.waitLinked(alice, bob)
	kept := twoA
	if twoB.ID() < twoA.ID() {
		kept = twoB
	}
	for _, n := range []*testNode{alice, bob} {
		waitFor(t, n.name+" keeps the smaller version", func() bool { return hasBodies(n.history(t, "lobby"), kept.Body) })
	}
	c.waitConverged("lobby", alice, bob)
	for _, n := range []*testNode{alice, bob} {
		h := n.history(t, "lobby")
		if !hasBodies(h, "one", kept.Body, "three", "alice's own", "bob's own") || len(h) != 5 {
			t.Fatalf("%s's history:\n%s", n.name, strings.Join(h, "\n"))
		}
		waitFor(t, n.name+" marks mallory", func() bool {
			for _, v := range n.views(t) {
				if v.Author == mallory.Fingerprint().String() && !v.Equivocator {
					return false
				}
			}
			return true
		})
		for _, v := range n.views(t) {
			if v.Equivocator != (v.Author == mallory.Fingerprint().String()) {
				t.Errorf("%s: message %q marked %v", n.name, v.Body, v.Equivocator)
			}
		}
		ev := n.waitEvent(t, EventEquivocation, &testNode{name: "mallory", id: mallory})
		if ev.Room != "lobby" || !strings.Contains(ev.Reason, "sequence number 2") {
			t.Errorf("%s: equivocation event %+v", n.name, ev)
		}
	}
	// The mark survives a restart.
	c.stop(alice)
	c.start(alice)
	for _, v := range alice.views(t) {
		if v.Author == mallory.Fingerprint().String() && !v.Equivocator {
			t.Errorf("after a restart, %q is not marked", v.Body)
		}
	}
	// A member who joins later only ever gets the kept copy by sync, and
	// the evidence after it: it holds the same history and marks mallory.
	carol := c.add("carol")
	c.trustAll(alice, carol)
	if _, err := alice.node.Trust(carol.id.Fingerprint(), "carol"); err != nil {
		t.Fatal(err)
	}
	c.start(carol)
	c.waitConverged("lobby", alice, bob, carol)
	if ev := carol.waitEvent(t, EventEquivocation, &testNode{name: "mallory", id: mallory}); ev.Room != "lobby" {
		t.Errorf("carol: equivocation event %+v", ev)
	}
	c.waitConverged("lobby", alice, bob, carol)
	for _, v := range carol.views(t) {
		if v.Equivocator != (v.Author == mallory.Fingerprint().String()) {
			t.Errorf("carol: message %q marked %v", v.Body, v.Equivocator)
		}
	}
}

// A stored message damaged on disk (a flipped byte of its sealed record) is never served: the
// rest of the room reaches a late joiner on one link, without relinking;
// history shows the record as damaged; and a peer's good copy repairs it.
func TestDamagedRecordDoesNotBlockSync(t *testing.T) {
	c := newCluster(t)
	alice, bob, carol := c.add("alice"), c.add("bob"), c.add("carol")
	c.trustAll(alice, bob, carol)
	c.start(alice)
	c.start(carol)
	c.waitLinked(alice, carol)
	for i := 1; i <= 30; i++ {
		alice.send(t, "lobby", fmt.Sprintf("message %d", i))
	}
	waitFor(t, "carol has all 30", func() bool { return len(carol.history(t, "lobby")) == 30 })
	c.stop(carol) // carol keeps a good copy, offline
	c.stop(alice)
	if err := storagetest.EditMessage(alice.dbPath, "lobby", alice.id.Public(), 10, func(sealed []byte) []byte {
		sealed[len(sealed)-lcrypto.SignatureSize-1] ^= 0xFF // a byte of the body's ciphertext
		return sealed
	}); err != nil {
		t.Fatal(err)
	}
	c.start(alice)
	views := alice.views(t)
	if len(views) != 30 || !views[9].Damaged || views[9].Body != "" || views[8].Damaged {
		t.Fatalf("alice's history does not mark only the damaged record: %d views, [9] = %+v", len(views), views[9])
	}

	c.start(bob)
	waitFor(t, "bob gets the 29 good messages", func() bool { return len(bob.history(t, "lobby")) == 29 })
	// One link all along: peer_up once, never peer_down.
	up := 0
	for drained := false; !drained; {
		select {
		case ev := <-bob.events:
			switch {
			case ev.Kind == EventPeerUp && ev.Peer.Fingerprint == alice.id.Fingerprint().String():
				up++
			case ev.Kind == EventPeerDown:
				t.Fatalf("bob's link went down: %+v", ev)
			}
		default:
			drained = true
		}
	}
	if up != 1 || !bob.linkedTo(alice) {
		t.Fatalf("bob linked to alice %d times (linked now: %v), want once", up, bob.linkedTo(alice))
	}

	// Carol comes back with the good copy: alice's record is repaired, and
	// bob gets message 10 from one of them.
	c.start(carol)
	for _, n := range []*testNode{alice, bob, carol} {
		waitFor(t, n.name+" holds all 30 good messages", func() bool {
			v := n.views(t)
			return len(v) == 30 && !slices.ContainsFunc(v, func(v *MessageView) bool { return v.Damaged })
		})
	}
	c.waitConverged("lobby", alice, bob, carol)
	for _, v := range alice.views(t) {
		if v.Equivocator {
			t.Fatalf("a repaired record marked alice as signing twice: %+v", v)
		}
	}
}

// A message edited on disk fails to open (its record is sealed); one
// rewritten with the data key, by anyone who has it, still fails its
// signature: history shows both as damaged, never as the author's words.
func TestHistoryMarksEditedMessage(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	c.start(alice)
	alice.send(t, "lobby", "pay bob 10")
	alice.send(t, "lobby", "thanks")
	alice.send(t, "lobby", "bye")
	c.stop(alice)
	if err := storagetest.EditMessage(alice.dbPath, "lobby", alice.id.Public(), 3, func(sealed []byte) []byte {
		sealed[len(sealed)/2] ^= 1
		return sealed
	}); err != nil {
		t.Fatal(err)
	}
	db := c.openStore(alice)
	prev, ok, err := db.Message("lobby", [32]byte(alice.id.Public()), 1)
	if err != nil || !ok {
		t.Fatalf("message 1: %v %v", ok, err)
	}
	next := prev
	next.Raw = []byte(strings.Replace(string(prev.Raw), "pay bob 10", "pay bob 90", 1))
	if done, err := db.ReplaceMessage(prev, next); err != nil || !done {
		t.Fatalf("rewrite: %v %v", done, err)
	}
	v := alice.views(t)
	if len(v) != 3 || !v[0].Damaged || v[0].Body != "" || v[1].Damaged || v[1].Body != "thanks" || !v[2].Damaged || v[2].Body != "" {
		t.Fatalf("history = %+v, %+v, %+v", v[0], v[1], v[2])
	}
	if strings.Contains(fmt.Sprint(*v[0]), "pay bob 90") {
		t.Fatal("the edited text is shown")
	}
	alice.store.Close()
	alice.store = nil
}

func TestSyncCheckEncoding(t *testing.T) {
	k1, k2 := newID(t).Public(), newID(t).Public()
	if bytes.Compare(k1[:], k2[:]) > 0 {
		k1, k2 = k2, k1
	}
	chk := syncCheck{Room: "lobby", Entries: []checkEntry{
		{Author: k1, Head: 3, Chain: chainHash{}.next([]byte("a"))},
		{Author: k2, Head: 1 << 40, Chain: chainHash{1}},
	}}
	b := chk.encode()
	if len(b) != 1+5+2+2*(32+8+32) {
		t.Fatalf("encoding is %d bytes", len(b))
	}
	got, err := decodeSyncCheck(b)
	if err != nil || !slices.Equal(got.Entries, chk.Entries) || got.Room != "lobby" {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	bad := map[string][]byte{
		"truncated":  b[:len(b)-1],
		"trailing":   append(slices.Clone(b), 0),
		"descending": syncCheck{Room: "lobby", Entries: []checkEntry{chk.Entries[1], chk.Entries[0]}}.encode(),
		"head 0":     syncCheck{Room: "lobby", Entries: []checkEntry{{Author: k1}}}.encode(),
		"bad room":   syncCheck{Room: "Lobby!"}.encode(),
	}
	for name, b := range bad {
		if _, err := decodeSyncCheck(b); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err = %v, want ErrFrame", name, err)
		}
	}
}

// The kept copy of an equivocation is the one with the smaller id, and the
// chain over 1..n changes with any copy.
func TestConflictRuleAndChain(t *testing.T) {
	id := newID(t)
	a, b := lobbyMsg(id, 1, 1, "a"), lobbyMsg(id, 1, 1, "b")
	if winsConflict(a.Encode(), b.Encode()) != (a.ID() < b.ID()) || winsConflict(a.Encode(), b.Encode()) == winsConflict(b.Encode(), a.Encode()) {
		t.Fatal("the rule is not the smaller id, or not antisymmetric")
	}
	var c0 chainHash
	if c0.next(a.Encode()) == c0.next(b.Encode()) || c0.next(a.Encode()).next(b.Encode()) == c0.next(b.Encode()).next(a.Encode()) {
		t.Fatal("chain does not depend on each message and their order")
	}
}
