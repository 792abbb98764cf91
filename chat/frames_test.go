package chat

import (
	"testing"
	"time"

	"github.com/lanchat/lanchat/session"
)

// TestUnknownFrameTypesSkipped: a newer peer's application frame types
// reach the node (the session hands them up untouched), which skips and
// counts them and keeps the link.
func TestUnknownFrameTypesSkipped(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	for _, typ := range []uint8{0x3f, 0x7f, 0xff} {
		if err := link.Send(session.FrameType(typ), []byte("from the future")); err != nil {
			t.Fatal(err)
		}
	}
	m := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now(), Body: "still here"}
	m.Sign(mallory)
	sendRaw(t, link, m)
	waitFor(t, "alice to store the message after the unknown frames", func() bool {
		return hasBodies(alice.history(t, "lobby"), "still here")
	})
	if s := alice.node.Stats(); s.FramesSkipped != 3 {
		t.Fatalf("stats %+v: want 3 frames skipped", s)
	}
	select {
	case <-link.Done():
		t.Fatalf("an unknown frame type closed the link: %v", link.Err())
	default:
	}
}
