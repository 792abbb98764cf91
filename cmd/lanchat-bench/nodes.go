//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// benchNode is an in-process chat node with its store.
type benchNode struct {
	id     *lcrypto.Identity
	store  *storage.DB
	node   *chat.Node
	addr   string
	events <-chan chat.Event // subscribed before Run: nothing is missed
	unsub  func()
	cancel context.CancelFunc
	done   chan error
}

func newIdentity() (*lcrypto.Identity, error) {
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new identity: %w", err)
	}
	return id, nil
}

func newIdentities(n int) ([]*lcrypto.Identity, error) {
	ids := make([]*lcrypto.Identity, n)
	for i := range ids {
		var err error
		if ids[i], err = newIdentity(); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// openStore creates a store at dir/name.db that trusts the given keys.
func openStore(dir, name string, trusted ...lcrypto.IdentityKey) (*storage.DB, error) {
	db, err := storage.Open(filepath.Join(dir, name+".db"), storage.DefaultOptions())
	if err != nil {
		return nil, err
	}
	for i, k := range trusted {
		if _, err := db.Trust(k.Fingerprint(), fmt.Sprintf("peer%d", i)); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// loopbackConfig is a node's config for the benchmarks: links on a free
// port of 127.0.0.1, beacons to 127.255.255.255 on beaconPort (0: no
// discovery), and a guard that lets many nodes of one host link at once.
func loopbackConfig(id *lcrypto.Identity, store *storage.DB, beaconPort int, peers int) chat.Config {
	cfg := chat.DefaultConfig()
	cfg.Identity, cfg.Store = id, store
	cfg.ListenAddr = "127.0.0.1:0"
	if beaconPort == 0 {
		cfg.NoDiscovery = true
	} else {
		cfg.Discovery.Addr = "127.255.255.255"
		cfg.Discovery.Port = beaconPort
	}
	cfg.Guard = clusterGuard(peers)
	return cfg
}

// clusterGuard raises the accept limits for peers nodes on one IP: every
// link of the cluster comes from 127.0.0.1, possibly all at once.
func clusterGuard(peers int) session.GuardConfig {
	g := session.DefaultGuardConfig()
	g.MaxLinksPerIP = max(g.MaxLinksPerIP, 2*peers+4)
	g.MaxHandshakes = max(g.MaxHandshakes, 2*peers+4)
	g.MaxHandshakesPerIP = g.MaxHandshakes
	g.HandshakeBurst = max(g.HandshakeBurst, 2*peers+4)
	g.HandshakeRate = max(g.HandshakeRate, float64(20*peers))
	return g
}

// startNode runs a node with cfg until stop.
func startNode(ctx context.Context, cfg chat.Config) (*benchNode, error) {
	n, err := chat.New(cfg)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	bn := &benchNode{id: cfg.Identity, store: cfg.Store, node: n, cancel: cancel, done: make(chan error, 1)}
	bn.events, bn.unsub = n.Subscribe()
	go func() { bn.done <- n.Run(runCtx) }()
	waitCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	addr, err := n.Addr(waitCtx)
	if err != nil {
		bn.stop()
		return nil, fmt.Errorf("node did not listen: %w", err)
	}
	bn.addr = addr.String()
	return bn, nil
}

// stop ends the node cleanly and closes its store.
func (bn *benchNode) stop() error {
	if bn.cancel == nil {
		return nil
	}
	bn.cancel()
	bn.cancel = nil
	err := <-bn.done
	bn.unsub()
	return errors.Join(err, bn.store.Close())
}

func stopAll(nodes []*benchNode) error {
	var errs []error
	for _, n := range nodes {
		if n != nil {
			errs = append(errs, n.stop())
		}
	}
	return errors.Join(errs...)
}

// waitEvent returns the first event of bn (after those already read) that
// match accepts.
func (bn *benchNode) waitEvent(ctx context.Context, within time.Duration, what string, match func(chat.Event) bool) (chat.Event, error) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-bn.events:
			if !ok {
				return chat.Event{}, fmt.Errorf("%s: the node stopped", what)
			}
			if match(ev) {
				return ev, nil
			}
		case <-timer.C:
			return chat.Event{}, fmt.Errorf("%s: not within %v", what, within)
		case <-ctx.Done():
			return chat.Event{}, ctx.Err()
		}
	}
}

// peerEvent matches an event of kind about the peer with key.
func peerEvent(kind chat.EventKind, key lcrypto.IdentityKey) func(chat.Event) bool {
	fp := key.Fingerprint().String()
	return func(ev chat.Event) bool { return ev.Kind == kind && ev.Peer != nil && ev.Peer.Fingerprint == fp }
}

// linkedTo reports how many of keys bn has a live link with.
func (bn *benchNode) linkedTo(keys map[string]bool) int {
	n := 0
	for _, p := range bn.node.LinkedPeers() {
		if keys[p.Fingerprint] {
			n++
		}
	}
	return n
}

// waitUntil polls cond every step until it holds, ctx ends or within passes.
func waitUntil(ctx context.Context, within, step time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(step)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, within)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// freeUDPPort returns a UDP port that was free on 127.0.0.1 a moment ago, so
// that the beacons of one figure reach no other test or node.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free UDP port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
