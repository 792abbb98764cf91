package chat

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/internal/fuzzseed"
)

const roomsMoreVectorFile = "../testdata/chat/rooms-more-vectors.json"

// TestRoomsMoreVectors checks the rooms-more encoding against PROTOCOL.md
// 5.15's vectors, and what a receiver refuses or skips.
func TestRoomsMoreVectors(t *testing.T) {
	raw, err := os.ReadFile(roomsMoreVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Vectors []struct {
			Rooms     []string
			Body      string
			Plaintext string
		}
		Malformed []string
		Skipped   []string
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
		// A malformed vector may spell a room in ASCII after its length byte.
		i := strings.IndexFunc(s, func(r rune) bool { return r >= 'G' })
		b, err := hex.DecodeString(s[:i])
		if err != nil {
			t.Fatalf("vector %q: %v", s, err)
		}
		return append(b, s[i:]...)
	}
	for _, vec := range v.Vectors {
		body := encodeRoomsMore(vec.Rooms)
		if got := hex.EncodeToString(body); got != vec.Body {
			t.Errorf("encodeRoomsMore(%q) = %s, want %s", vec.Rooms, got, vec.Body)
		}
		plain := binary.BigEndian.AppendUint32([]byte{byte(frameRoomsMore)}, uint32(len(body))) // PROTOCOL.md 4.1
		if got := hex.EncodeToString(append(plain, body...)); got != vec.Plaintext {
			t.Errorf("plaintext of %q = %s, want %s", vec.Rooms, got, vec.Plaintext)
		}
		rooms, ok, err := decodeRoomsMore(body)
		if err != nil || !ok || !slices.Equal(rooms, vec.Rooms) && len(vec.Rooms) > 0 {
			t.Errorf("decodeRoomsMore(%s) = %q, %v, %v", vec.Body, rooms, ok, err)
		}
	}
	for _, s := range v.Malformed {
		if _, _, err := decodeRoomsMore(unhex(s)); !errors.Is(err, ErrFrame) {
			t.Errorf("decodeRoomsMore(%s) = %v, want ErrFrame", s, err)
		}
	}
	for _, s := range v.Skipped {
		if rooms, ok, err := decodeRoomsMore(unhex(s)); err != nil || ok || rooms != nil {
			t.Errorf("decodeRoomsMore(%s) = %q, %v, %v; want skipped", s, rooms, ok, err)
		}
	}
	full := roomNamesForTest("r", MaxRooms)
	body := encodeRoomsMore(full)
	if rooms, ok, err := decodeRoomsMore(body); err != nil || !ok || !slices.Equal(rooms, full) {
		t.Fatalf("a full frame of %d rooms: %d rooms, %v, %v", MaxRooms, len(rooms), ok, err)
	}
	if len(body) > maxFrameSize {
		t.Fatalf("a full rooms-more frame is %d bytes, above the frame bound", len(body))
	}
}

// FuzzRoomsMore: any body is refused with ErrFrame, skipped (a later
// version), or decodes to at most MaxRooms valid rooms that encode back to
// exactly the body; never a panic.
func FuzzRoomsMore(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "FuzzRoomsMore") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rooms, ok, err := decodeRoomsMore(b)
		switch {
		case err != nil:
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("refused with %v, not ErrFrame", err)
			}
		case !ok:
			if len(b) == 0 || b[0] <= roomsMoreVersion {
				t.Fatalf("skipped %x, which is version 1 or less", b)
			}
		default:
			if len(rooms) > MaxRooms {
				t.Fatalf("%d rooms", len(rooms))
			}
			for _, r := range rooms {
				if ValidateRoom(r) != nil {
					t.Fatalf("invalid room %q accepted", r)
				}
			}
			if got := encodeRoomsMore(rooms); string(got) != string(b) {
				t.Fatalf("re-encoded %x, decoded from %x", got, b)
			}
		}
	})
}

func roomNamesForTest(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

// peerRooms returns the rooms tn sees other in, over their link.
func peerRooms(tn, other *testNode) []string {
	for _, p := range tn.node.LinkedPeers() {
		if p.Fingerprint == other.id.Fingerprint().String() {
			return p.Rooms
		}
	}
	return nil
}

// TestManyRoomsShared: two nodes in far more rooms than a hello names see
// each other in all of them, catch up on link-up in rooms beyond the
// hello's, chat live there, and hear of joins and leaves past 64 rooms.
func TestManyRoomsShared(t *testing.T) {
	c := newCluster(t)
	rooms := roomNamesForTest("r", 200)
	alice, bob := c.add("alice", rooms...), c.add("bob", rooms...)
	c.trustAll(alice, bob)
	c.start(alice)
	missed := rooms // one in every room, most of them beyond the hello's
	for _, r := range missed {
		alice.send(t, r, "missed in "+r)
	}
	c.start(bob)
	c.waitLinked(alice, bob)
	for _, r := range missed {
		waitFor(t, "bob catches up in "+r, func() bool { return hasBodies(bob.history(t, r), "missed in "+r) })
	}
	for _, p := range [][2]*testNode{{alice, bob}, {bob, alice}} {
		waitFor(t, p[0].name+" sees "+p[1].name+" in every room", func() bool { return slices.Equal(peerRooms(p[0], p[1]), rooms) })
	}
	bob.send(t, rooms[180], "live beyond the hello")
	waitFor(t, "alice gets bob's live message", func() bool { return hasBodies(alice.history(t, rooms[180]), "live beyond the hello") })
	if _, err := alice.node.Join("zz-late"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Leave(rooms[170]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob sees alice's join and leave", func() bool {
		got := peerRooms(bob, alice)
		return slices.Contains(got, "zz-late") && !slices.Contains(got, rooms[170]) && len(got) == len(rooms)
	})
}

// TestManyRoomsWithOlderPeer: a node in more than 64 rooms never tells a
// node before rooms-more (which refuses a peer in more than 64) about more
// than 64, at link-up or by later joins; the link stays up and the rooms
// it does name work.
func TestManyRoomsWithOlderPeer(t *testing.T) {
	c := newCluster(t)
	rooms := roomNamesForTest("r", 100)
	oldRooms := rooms[36:] // 64 rooms; r0036 … r0063 are in alice's hello
	alice, old := c.add("alice", rooms...), c.add("old", oldRooms...)
	c.trustAll(alice, old)
	c.start(alice)
	cfg := c.config(old)
	cfg.legacyRooms = true
	c.startWith(old, cfg)
	c.waitLinked(alice, old)
	if got := peerRooms(old, alice); !slices.Equal(got, rooms[:helloRooms]) {
		t.Fatalf("the older node sees alice in %d rooms %q…, want her hello's %d", len(got), got[:min(3, len(got))], helloRooms)
	}
	if got := peerRooms(alice, old); !slices.Equal(got, oldRooms) {
		t.Fatalf("alice sees the older node in %d rooms, want %d", len(got), len(oldRooms))
	}
	// Alice joins more, leaves one the older node knows, joins again: it
	// hears of the leave and of one join in its place, never of a 65th.
	for _, r := range []string{"za", "zb"} {
		if _, err := alice.node.Join(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.node.Leave(rooms[40]); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.node.Join("zc"); err != nil {
		t.Fatal(err)
	}
	alice.send(t, rooms[50], "after the joins")
	waitFor(t, "the older node gets the message on the same link", func() bool {
		return hasBodies(old.history(t, rooms[50]), "after the joins")
	})
	got := peerRooms(old, alice)
	if len(got) != helloRooms || slices.Contains(got, rooms[40]) || !slices.Contains(got, "zc") {
		t.Fatalf("the older node sees alice in %d rooms (%v has %s: %v, zc: %v)", len(got), helloRooms,
			rooms[40], slices.Contains(got, rooms[40]), slices.Contains(got, "zc"))
	}
	for _, tn := range []*testNode{alice, old} {
		select {
		case ev := <-drainKind(tn, EventPeerDown):
			t.Fatalf("%s: the link went down: %s", tn.name, ev.Reason)
		default:
		}
	}
	if old.node.Stats().FramesSkipped == 0 {
		t.Fatal("the older node skipped no frame: alice sent it no rooms-more")
	}
}

// drainKind returns a channel holding the first event of kind already in
// tn's stream, if any (it consumes the stream).
func drainKind(tn *testNode, kind EventKind) <-chan Event {
	out := make(chan Event, 1)
	for {
		select {
		case ev := <-tn.events:
			if ev.Kind == kind {
				out <- ev
				return out
			}
		default:
			return out
		}
	}
}

// TestLinkSyncsAreBounded: a peer asking for 60 rooms at once holds at
// most maxLinkSyncs sync goroutines, and every room is answered in full
// (each with a final batch), after the others waited their turn.
func TestLinkSyncsAreBounded(t *testing.T) {
	c := newCluster(t)
	rooms := roomNamesForTest("r", 60)
	alice := c.add("alice", rooms...)
	mallory := newID(t)
	if _, err := c.openStore(alice).Trust(mallory.Fingerprint(), "mallory"); err != nil {
		t.Fatal(err)
	}
	cfg := c.config(alice)
	cfg.NoDiscovery = true
	c.startWith(alice, cfg)
	body := strings.Repeat("x", 3000)
	for _, r := range rooms {
		for range 4 {
			alice.send(t, r, body) // each sync has something to send
		}
	}
	link := rawMemberHello(t, alice, mallory, hello{Nick: "mallory", Rooms: rooms}.encode())
	// Sample the sync goroutines from before the requests go out until
	// every room is answered.
	most, stop, sampled := 0, make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for !isClosed(stop) {
			most = max(most, countStacks("chat.(*link).runSyncs("))
		}
	}()
	for _, r := range rooms {
		if err := link.Send(frameSyncRequest, syncRequest{Room: r}.encode()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	done := map[string]bool{}
	msgs := 0
	for len(done) < len(rooms) {
		f, err := link.Recv(ctx)
		if err != nil {
			close(stop)
			<-sampled
			t.Fatalf("after %d rooms answered: %v", len(done), err)
		}
		if f.Type != frameSyncResponse {
			continue
		}
		resp, err := decodeSyncResponse(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		msgs += len(resp.Msgs)
		if resp.Done {
			if done[resp.Room] {
				t.Fatalf("room %s answered twice", resp.Room)
			}
			done[resp.Room] = true
		}
	}
	close(stop)
	<-sampled
	if most > maxLinkSyncs {
		t.Fatalf("%d sync goroutines ran at once for one link, want at most %d", most, maxLinkSyncs)
	}
	if msgs != 4*len(rooms) {
		t.Fatalf("the syncs sent %d messages, want %d", msgs, 4*len(rooms))
	}
	waitFor(t, "the link's syncs to end", func() bool { return countStacks("chat.(*link).runSyncs(") == 0 })
}

// countStacks counts the lanchat goroutines whose stack contains s.
func countStacks(s string) int {
	n := 0
	for _, stack := range lanchatGoroutines() {
		if strings.Contains(stack, s) {
			n++
		}
	}
	return n
}

// TestRelayViewSizeCountsTheView: the repair tick's count of a room's view
// is the size of the view relayView builds, with members linked, members
// left, and members known only from the receipts (not linked now).
func TestRelayViewSizeCountsTheView(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.add("alice", "lobby", "ops"), c.add("bob", "lobby", "ops"), c.add("carol", "lobby", "ops")
	c.trustAll(a, b, d)
	for _, n := range []*testNode{a, b, d} {
		c.start(n)
	}
	c.waitLinked(a, b, d)
	check := func(room string, want int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("alice's view of %s to hold %d", room, want), func() bool {
			links := a.node.linksInRoom(room)
			return len(a.node.relayView(room, links)) == want && a.node.relayViewSize(room, links) == want
		})
	}
	check("lobby", 3)
	if _, err := d.node.Leave("lobby"); err != nil {
		t.Fatal(err)
	}
	check("lobby", 2) // carol left: linked, but not in the room
	c.stop(b)
	check("ops", 3) // bob: not linked, still a member as far as alice knows
}
