package session

import (
	"errors"
	"testing"
	"time"

	"github.com/lanchat/lanchat/session/sessiontest"
)

func TestDefaultConfigIsFresh(t *testing.T) {
	a := DefaultConfig()
	a.MaxFrameSize = 1
	a.Hello = []byte("x")
	if b := DefaultConfig(); b.MaxFrameSize == 1 || b.Hello != nil {
		t.Fatal("DefaultConfig returned shared state")
	}
}

func TestDefaultConfigMeetsGoals(t *testing.T) {
	d := DefaultConfig()
	// A dead peer is declared within DeadTimeout + DeadTimeout/8 of silence.
	if worst := d.DeadTimeout + d.DeadTimeout/8; worst > 5*time.Second {
		t.Fatalf("a dead peer may go unnoticed for %v, the goal is 5 s", worst)
	}
	if d.DeadTimeout < 3*d.KeepaliveInterval {
		t.Fatalf("DeadTimeout %v leaves room for fewer than 3 keepalives of %v", d.DeadTimeout, d.KeepaliveInterval)
	}
	if d.SendQueueBytes < d.MaxFrameSize+QueueOverhead || d.RecvQueueBytes < d.MaxFrameSize+QueueOverhead {
		t.Fatal("default queues cannot hold a largest frame")
	}
	g := DefaultGuardConfig()
	if g.MaxHandshakes != 16 || g.HandshakeRate != 20 || g.HandshakeBurst != 5 {
		t.Fatalf("guard defaults %+v", g)
	}
}

func TestConfigNormalized(t *testing.T) {
	id := sessiontest.Identity(t, 1)
	hello := []byte("hello")
	c := Config{Identity: id, Hello: hello}
	n, err := c.normalized()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if n.HandshakeTimeout != d.HandshakeTimeout || n.DeadTimeout != d.DeadTimeout || n.MaxFrameSize != d.MaxFrameSize ||
		n.SendQueueBytes != d.SendQueueBytes || n.RekeyAfterMessages != d.RekeyAfterMessages || n.Rand == nil {
		t.Fatalf("zero fields not defaulted: %+v", n)
	}
	n.Hello[0] = 'j'
	if string(hello) != "hello" || c.HandshakeTimeout != 0 || c.Rand != nil {
		t.Fatal("normalized changed the caller's config")
	}
	big := Config{Identity: id, MaxFrameSize: 8 << 20}
	if n, err := big.normalized(); err != nil || n.SendQueueBytes < 8<<20 {
		t.Fatalf("a large MaxFrameSize gets queues of %d, %v", n.SendQueueBytes, err)
	}
	if _, err := (Config{}).normalized(); !errors.Is(err, ErrConfig) {
		t.Fatalf("no identity: %v", err)
	}
}
