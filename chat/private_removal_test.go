package chat

import (
	"bytes"
	"sync"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// bodiesIn returns the bodies of the message frames among frames.
func bodiesIn(frames []session.Frame) []string {
	var out []string
	for _, f := range frames {
		if f.Type != frameConvoMessage && f.Type != frameChat {
			continue
		}
		if m, err := DecodeMessage(f.Body); err == nil {
			out = append(out, m.Body)
		}
	}
	return out
}

// The admin's removal of mallory and its next message reach carol over two
// links at once (a heal): the removal is on its way in on one link — in
// carol's commit queue, or stored and waiting in its link's delivery line —
// while the message is delivered on the other. Carol must not pass the
// message on to mallory (nor to anyone) before the removal is applied;
// once it is, the message goes to the remaining members, still not to
// mallory. (SECURITY.md: a removed member gets nothing written after its
// removal from a member who holds the removal.)
func TestPrivateRoomRemovalRacesTheNextMessage(t *testing.T) {
	for _, where := range []string{"delivery line", "commit queue"} {
		t.Run(where, func(t *testing.T) { testRemovalRace(t, where) })
	}
}

func testRemovalRace(t *testing.T, where string) {
	c := newCluster(t)
	carol := c.add("carol")
	alice, bob, dave, mallory := newID(t), newID(t), newID(t), newID(t)
	store := c.openStore(carol)
	for name, id := range map[string]*lcrypto.Identity{"alice": alice, "bob": bob, "dave": dave, "mallory": mallory} {
		if _, err := store.Trust(id.Fingerprint(), name); err != nil {
			t.Fatal(err)
		}
	}
	var nonce [NonceSize]byte
	nonce[0] = 7
	room := PrivateID(alice.Public(), nonce)
	at := func(id *lcrypto.Identity, seq, clock uint64, body string) Message {
		m := Message{Room: room, Seq: seq, Clock: clock, Time: time.Now(), Body: body}
		m.Sign(id)
		return m
	}
	remove := at(alice, 6, 10, Op{Kind: OpRemove, Subject: mallory.Public(), Cut: 0}.Encode())
	later := at(alice, 7, 11, "alice-after-removal")
	// dave's, sorted before the removal: it goes to mallory whatever carol
	// holds, after anything carol passed on before it from dave's link.
	marker := at(dave, 1, 9, "dave-marker")

	// "delivery line": the removal's line stops before applying it.
	reached, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	cfg := c.config(carol)
	cfg.NoDiscovery = true
	if where == "delivery line" {
		cfg.beforeConvoApply = func(m *Message) {
			if m.Author == alice.Public() && m.Seq == remove.Seq {
				once.Do(func() { close(reached) })
				<-release
			}
		}
	}
	c.startWith(carol, cfg)
	// Registered after the node's stop, so it runs first: a failing test
	// must not leave the line (or the commit) held while the node stops.
	t.Cleanup(func() { unblock() })
	linkM, linkX, linkY := rawMember(t, carol, mallory), rawMember(t, carol, bob), rawMember(t, carol, dave)

	// alice (who never links) creates the room and invites everyone; bob
	// brings carol the welcome.
	ops := [][]byte{at(alice, 1, 1, Op{Kind: OpCreate, Nonce: nonce, Name: "ops"}.Encode()).Encode()}
	for i, k := range []lcrypto.IdentityKey{carol.id.Public(), bob.Public(), dave.Public(), mallory.Public()} {
		ops = append(ops, at(alice, uint64(2+i), uint64(2+i), Op{Kind: OpInvite, Subject: k}.Encode()).Encode())
	}
	if err := linkX.Send(frameConvoWelcome, welcome{Room: room, Ops: ops}.encode()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "carol to hold the room with five members", func() bool {
		ms, err := carol.node.RoomMembers(room)
		return err == nil && len(ms.Members()) == 5
	})
	cv := carol.node.convo(room)
	pending := func(m *Message) bool {
		cv.mu.Lock()
		defer cv.mu.Unlock()
		return cv.pending[m.Author][m.Seq] > 0
	}

	// The removal comes in on bob's link and waits: in the delivery line,
	// or (the commit held) in the commit queue.
	if where == "commit queue" {
		unblock = carol.node.committer().Hold()
	}
	if err := linkX.Send(frameConvoMessage, remove.Encode()); err != nil {
		t.Fatal(err)
	}
	if where == "delivery line" {
		waitFor(t, "the removal to be stored and wait in its line", func() bool {
			select {
			case <-reached:
				return true
			default:
				return false
			}
		})
	} else {
		waitFor(t, "the removal to be on its way in", func() bool { return pending(&remove) })
	}
	// Meanwhile the next message, and the marker, on dave's link.
	for _, m := range []Message{later, marker} {
		if err := linkY.Send(frameConvoMessage, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	if where == "commit queue" {
		waitFor(t, "both to be queued behind the held commit", func() bool { return pending(&later) && pending(&marker) })
		unblock()
	}
	// Carol's line for dave's link handles the two in order: once the
	// marker reaches mallory, the message's turn is over.
	got := recvUntil(t, linkM, func(f session.Frame) bool {
		m, err := DecodeMessage(f.Body)
		return f.Type == frameConvoMessage && err == nil && m.Body == "dave-marker"
	})
	for _, b := range bodiesIn(got) {
		if b == "alice-after-removal" {
			t.Fatal("carol passed alice's message to mallory before applying alice's earlier removal of her")
		}
	}

	unblock()
	waitFor(t, "carol to apply mallory's removal", func() bool {
		ms, err := carol.node.RoomMembers(room)
		return err == nil && !ms.IsMember(mallory.Public()) && len(ms.Members()) == 4
	})
	// The message held back goes to the members that may have it (bob),
	// once the removal is applied.
	recvUntil(t, linkX, func(f session.Frame) bool {
		m, err := DecodeMessage(f.Body)
		return f.Type == frameConvoMessage && err == nil && m.Body == "alice-after-removal"
	})
	carol.send(t, "lobby", "carol-marker")
	got = recvUntil(t, linkM, func(f session.Frame) bool {
		return f.Type == frameChat && bytes.Contains(f.Body, []byte("carol-marker"))
	})
	for _, b := range bodiesIn(got) {
		if b == "alice-after-removal" {
			t.Fatal("carol passed alice's message written after the removal to mallory")
		}
	}
	if cv.mu.Lock(); len(cv.pending) != 0 || len(cv.held) != 0 {
		t.Errorf("carol still has %d authors pending and %d messages held back", len(cv.pending), len(cv.held))
	}
	cv.mu.Unlock()
}
