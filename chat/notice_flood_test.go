package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// knockFlood runs untrusted handshakes with fresh keys against tn, from
// 127.0.0.2 up, perIP from each address, and returns when all are done.
func knockFlood(t *testing.T, tn *testNode, addrs, perIP int) {
	t.Helper()
	target, err := tn.node.Addr(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, addrs*perIP)
	for a := range addrs {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+a))}}
		wg.Add(1)
		go func() { // one address's handshakes, one after another
			defer wg.Done()
			for range perIP {
				id, err := lcrypto.NewIdentity(rand.Reader)
				if err != nil {
					errs <- err
					return
				}
				conn, err := d.Dial("tcp", target.String())
				if err != nil {
					errs <- err
					return
				}
				cfg := session.DefaultConfig()
				cfg.Identity = id
				cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k == tn.id.Public() }
				cfg.Hello = hello{Rooms: []string{"lobby"}}.encode()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if l, err := session.Dial(ctx, conn, cfg); err == nil {
					l.Close("unexpected")
					errs <- errors.New("an untrusted key got a link")
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUntrustedFloodNeverDrownsMessages: 100 untrusted handshakes with
// fresh keys from 20 addresses while 30 real messages arrive. A subscriber
// that reads nothing until it is all over still gets all 30 messages: the
// knocks come as a few notices and one "N more untrusted peers" summary.
func TestUntrustedFloodNeverDrownsMessages(t *testing.T) {
	c := newCluster(t)
	alice, bob := c.add("alice"), c.add("bob")
	c.trustAll(alice, bob)
	cfg := c.config(alice)
	cfg.EventBuffer = 64
	cfg.NoticeInterval = 500 * time.Millisecond
	c.startWith(alice, cfg)
	c.start(bob)
	c.waitLinked(alice, bob)
	slow, _ := alice.node.Subscribe() // reads nothing until the end

	var bodies []string
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 30 {
			b := fmt.Sprintf("real %02d", i)
			if _, _, err := bob.node.Send(context.Background(), "lobby", b); err != nil {
				t.Errorf("send: %v", err)
				return
			}
		}
	}()
	for i := range 30 {
		bodies = append(bodies, fmt.Sprintf("real %02d", i))
	}
	knockFlood(t, alice, 20, 5)
	<-sent
	waitFor(t, "alice to store the 30 messages", func() bool { return hasBodies(alice.history(t, "lobby"), bodies...) })

	got := map[string]bool{}
	var knocks, summed uint64
	waitFor(t, "the 30 messages and the knock summary", func() bool {
		for {
			select {
			case ev := <-slow:
				switch ev.Kind {
				case EventMessage:
					got[ev.Message.Body] = true
				case EventUntrusted:
					knocks++
				case EventUntrustedMany:
					summed += ev.Count
				case EventDropped:
					t.Errorf("dropped %d events", ev.Count)
				}
			default:
				return len(got) == 30 && summed > 0
			}
		}
	})
	if knocks > knockNotices {
		t.Errorf("%d knocks reported one by one, want at most %d", knocks, knockNotices)
	}
	t.Logf("knocks: %d reported, %d summed up", knocks, summed)
}

// TestSlowSubscriberIsToldWhatItMissed: a subscriber whose queue is full
// loses events, is told how many by an events_dropped event when there is
// room again, and notices never take the room messages need.
func TestSlowSubscriberIsToldWhatItMissed(t *testing.T) {
	h := hub{buf: 8}
	ch, stop := h.subscribe()
	defer stop()
	for range 20 {
		h.publish(Event{Kind: EventUntrusted})
	}
	if len(ch) != 6 { // notices keep a quarter of the queue free
		t.Fatalf("%d notices queued, want 6 of 8", len(ch))
	}
	h.publish(Event{Kind: EventMessage, Message: &MessageView{Body: "m1"}})
	h.publish(Event{Kind: EventMessage, Message: &MessageView{Body: "m2"}})
	h.publish(Event{Kind: EventMessage, Message: &MessageView{Body: "m3"}}) // full: lost
	for range 8 {
		<-ch
	}
	h.flushDropped()
	ev := <-ch
	if ev.Kind != EventDropped || ev.Count != 15 {
		t.Fatalf("got %+v, want events_dropped with count 15 (14 notices, 1 message)", ev)
	}
	h.flushDropped() // told once
	if len(ch) != 0 {
		t.Fatalf("%d more events after the notice", len(ch))
	}
	h.publish(Event{Kind: EventMessage})
	if ev := <-ch; ev.Kind != EventMessage {
		t.Fatalf("after the notice: %+v", ev)
	}
}
