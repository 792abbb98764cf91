//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// discTimes are the discovery figure's measurements.
type discTimes struct {
	visible, linked, left []time.Duration
	silent                time.Duration
}

// runDiscovery: node start → peer visible and → link up, clean leave, and a
// silent (SIGSTOPped) peer's link dropped, with loopback broadcast beacons on
// a private port and the default intervals.
func runDiscovery(ctx context.Context, b *bench) ([]row, error) {
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	b.note(fmt.Sprintf("# discovery: beacons to 127.255.255.255:%d, default intervals; the silent peer is: lanchat chat --discovery-addr 127.255.255.255 --beacon-port PORT --port 0", port))
	dir, err := b.dir("discovery")
	if err != nil {
		return nil, err
	}
	aID, err := newIdentity()
	if err != nil {
		return nil, err
	}
	aStore, err := openStore(dir, "a")
	if err != nil {
		return nil, err
	}
	a, err := startNode(ctx, loopbackConfig(aID, aStore, port, 4))
	if err != nil {
		aStore.Close()
		return nil, err
	}
	defer a.stop()
	// Trial 0 is a warm-up, not counted. It also lets this goroutine read
	// a's peer list safely: chat.Node.Peers reads a field that Run sets
	// after the node listens, and a's first event (published by a goroutine
	// Run started later) orders that write before our reads.
	var t discTimes
	for i := range b.size.discTrials + 1 {
		if i == 1 {
			t = discTimes{}
		}
		if err := discTrial(ctx, b, a, dir, port, i, &t); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
	}
	if t.silent, err = silentPeer(ctx, b, a, port); err != nil {
		return nil, fmt.Errorf("silent peer: %w", err)
	}
	return discRows(t), nil
}

func discRows(t discTimes) []row {
	k := len(t.visible)
	within := func(limit time.Duration) check {
		return func(l, _ float64) bool { return l <= ms(limit) }
	}
	worst := func(what string, ds []time.Duration) string {
		return fmt.Sprintf("discovery: %s (worst of %d; median %s ms)", what, k, sig3(ms(median(ds))))
	}
	return []row{
		alone(worst("node start → listed by the running peer", t.visible), measure{ms(maxDuration(t.visible)), "ms", ""}, "≤ 1 s", within(time.Second)),
		alone(worst("node start → link up", t.linked), measure{ms(maxDuration(t.linked)), "ms", ""}, "≤ 1.5 s", within(1500*time.Millisecond)),
		alone("discovery: silent peer (SIGSTOP) → its link dropped", measure{t.silent.Seconds(), "s", ""}, "≤ 5 s", within(5*time.Second)),
		alone(worst("clean leave → peer gone at the other side", t.left), measure{ms(maxDuration(t.left)), "ms", ""}, "≤ 100 ms", within(100*time.Millisecond)),
	}
}

// discTrial starts a new node next to a, times how soon a lists it (a
// beacon heard) and how soon the new node has its link to a, then stops it
// and times how soon a notices.
func discTrial(ctx context.Context, b *bench, a *benchNode, dir string, port, i int, t *discTimes) error {
	id, err := newIdentity()
	if err != nil {
		return err
	}
	if _, err := a.node.Trust(id.Fingerprint(), "trial"+strconv.Itoa(i)); err != nil {
		return err
	}
	store, err := openStore(dir, "trial"+strconv.Itoa(i), a.id.Public())
	if err != nil {
		return err
	}
	fp := id.Fingerprint().String()
	start := time.Now()
	n, err := startNode(ctx, loopbackConfig(id, store, port, 4))
	if err != nil {
		store.Close()
		return err
	}
	defer n.stop()
	err = waitUntil(ctx, 10*time.Second, time.Millisecond, "peer visible", func() bool {
		if i == 0 {
			return true // a's Peers is not safe to read yet
		}
		for _, p := range a.node.Peers() {
			if p.Fingerprint == fp {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	t.visible = append(t.visible, time.Since(start))
	up, err := n.waitEvent(ctx, 10*time.Second, "link up", peerEvent(chat.EventPeerUp, a.id.Public()))
	if err != nil {
		return err
	}
	t.linked = append(t.linked, up.Time.Sub(start))
	if _, err := a.waitEvent(ctx, 10*time.Second, "link up at the other side", peerEvent(chat.EventPeerUp, id.Public())); err != nil {
		return err
	}
	leave := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- n.stop() }()
	down, err := a.waitEvent(ctx, 10*time.Second, "peer gone", peerEvent(chat.EventPeerDown, id.Public()))
	if err := errors.Join(err, <-stopped); err != nil {
		return err
	}
	t.left = append(t.left, down.Time.Sub(leave))
	return untrust(a, id)
}

func untrust(a *benchNode, id *lcrypto.Identity) error {
	return a.node.Untrust(id.Fingerprint())
}

// silentPeer runs the real binary as a peer of a, freezes it with SIGSTOP
// once linked, and times how soon a drops the link.
func silentPeer(ctx context.Context, b *bench, a *benchNode, port int) (time.Duration, error) {
	id, err := newIdentity()
	if err != nil {
		return 0, err
	}
	home, err := b.dir("silent")
	if err != nil {
		return 0, err
	}
	db, err := makeDataDir(home, id, a.id.Public())
	if err != nil {
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	if _, err := a.node.Trust(id.Fingerprint(), "silent"); err != nil {
		return 0, err
	}
	c, err := startChat(b.binary, home, "--discovery-addr", "127.255.255.255", "--beacon-port", strconv.Itoa(port), "--port", "0")
	if err != nil {
		return 0, err
	}
	defer c.kill()
	if _, err := a.waitEvent(ctx, 15*time.Second, "link up with the child", peerEvent(chat.EventPeerUp, id.Public())); err != nil {
		return 0, err
	}
	frozen := time.Now()
	if err := c.signal(syscall.SIGSTOP); err != nil {
		return 0, fmt.Errorf("SIGSTOP: %w", err)
	}
	down, err := a.waitEvent(ctx, 30*time.Second, "silent link dropped", peerEvent(chat.EventPeerDown, id.Public()))
	if err != nil {
		return 0, err
	}
	return down.Time.Sub(frozen), untrust(a, id)
}
