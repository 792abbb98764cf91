package chat

import (
	"context"
	"testing"
	"time"
)

// A linked peer's live message of its own tells its clock skew; a message
// it relays from someone else does not. Diagnose reports the first, by peer.
func TestDiagnoseClockSkew(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	ahead := 10 * time.Minute
	own := Message{Room: "lobby", Seq: 1, Clock: 1, Time: time.Now().Add(ahead), Body: "from mallory's fast clock"}
	own.Sign(mallory)
	relayed := Message{Room: "lobby", Seq: 1, Clock: 2, Time: time.Now().Add(-time.Hour), Body: "bob's, relayed"}
	relayed.Sign(bob.id)
	for _, m := range []Message{own, relayed} {
		if err := link.Send(frameChat, m.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "alice to store both", func() bool {
		return hasBodies(alice.history(t, "lobby"), "from mallory's fast clock", "bob's, relayed")
	})
	d := alice.node.Diagnose(context.Background(), "")
	if len(d.ClockSkew) != 1 || d.ClockSkew[0].Fingerprint != mallory.Fingerprint().String() {
		t.Fatalf("clock skew %+v, want one reading, mallory's", d.ClockSkew)
	}
	if got := time.Duration(d.ClockSkew[0].SkewMS) * time.Millisecond; got < ahead-time.Minute || got > ahead {
		t.Fatalf("mallory's skew %v, want about %v", got, ahead)
	}
	if d.Listen == "" || d.Refused == nil {
		t.Fatalf("diagnosis %+v: no listen address or a null refused list", d)
	}
}
