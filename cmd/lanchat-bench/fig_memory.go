//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// runMemory: VmRSS of the real binary (`lanchat chat`) idle and with links
// to memoryLinks peers (in-process nodes of this driver), and the cost per
// link.
func runMemory(ctx context.Context, b *bench) ([]row, error) {
	links := b.size.memoryLinks
	id, err := newIdentity()
	if err != nil {
		return nil, err
	}
	peers, err := startPeers(ctx, b, id.Public(), links)
	defer func() {
		if err := stopAll(peers); err != nil {
			b.logf("stopping the peers: %v", err)
		}
	}()
	if err != nil {
		return nil, err
	}
	home, err := b.dir("memory")
	if err != nil {
		return nil, err
	}
	var keys []lcrypto.IdentityKey
	for _, p := range peers {
		keys = append(keys, p.id.Public())
	}
	db, err := makeDataDir(home, id, keys...)
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	b.note("lanchat chat --discovery-addr 127.255.255.255 --beacon-port PORT --port 0 [--peer ADDR]...   # VmRSS from /proc/PID/status")
	idle, _, err := b.childRSS(ctx, home, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("idle node: %w", err)
	}
	busy, hwm, err := b.childRSS(ctx, home, peers, id)
	if err != nil {
		return nil, fmt.Errorf("node with %d links: %w", links, err)
	}
	perLink := float64(busy-idle) / float64(links)
	return []row{
		alone("memory: RSS of lanchat chat, no links", measure{float64(idle) / 1024, "MiB", ""}, "—", nil),
		alone(fmt.Sprintf("memory: RSS of lanchat chat with %d idle links (peak %s MiB)", links, sig3(float64(hwm)/1024)),
			measure{float64(busy) / 1024, "MiB", ""}, "≤ 20 MB", func(l, _ float64) bool { return l*1024*1024 <= 20e6 }),
		alone("memory: cost per idle link (difference / links)", measure{perLink, "KiB", ""}, "≤ 64 KiB", func(l, _ float64) bool { return l <= 64 }),
	}, nil
}

// startPeers starts n in-process nodes, without discovery, that trust key.
func startPeers(ctx context.Context, b *bench, key lcrypto.IdentityKey, n int) ([]*benchNode, error) {
	dir, err := b.dir("memory-peers")
	if err != nil {
		return nil, err
	}
	var nodes []*benchNode
	for i := range n {
		id, err := newIdentity()
		if err != nil {
			return nodes, err
		}
		store, err := openStore(dir, "peer"+strconv.Itoa(i), key)
		if err != nil {
			return nodes, err
		}
		bn, err := startNode(ctx, loopbackConfig(id, store, 0, 4))
		if err != nil {
			store.Close()
			return nodes, err
		}
		nodes = append(nodes, bn)
	}
	return nodes, nil
}

// childRSS runs `lanchat chat` on home with a --peer for each of peers,
// waits until every peer reports the link (and the settle time), and
// returns its VmRSS and VmHWM in KiB. Beacons go to a private port nobody
// else uses.
func (b *bench) childRSS(ctx context.Context, home string, peers []*benchNode, id *lcrypto.Identity) (rss, hwm int, err error) {
	port, err := freeUDPPort()
	if err != nil {
		return 0, 0, err
	}
	args := []string{"--discovery-addr", "127.255.255.255", "--beacon-port", strconv.Itoa(port), "--port", "0"}
	for _, p := range peers {
		args = append(args, "--peer", p.addr)
	}
	c, err := startChat(b.binary, home, args...)
	if err != nil {
		return 0, 0, err
	}
	defer c.kill()
	if err := c.waitLine(ctx, "listening on", 10*time.Second); err != nil {
		return 0, 0, err
	}
	if len(peers) > 0 {
		keys := map[string]bool{id.Fingerprint().String(): true}
		err := waitUntil(ctx, 30*time.Second, 20*time.Millisecond, "every peer linked", func() bool {
			for _, p := range peers {
				if p.linkedTo(keys) != 1 {
					return false
				}
			}
			return true
		})
		if err != nil {
			return 0, 0, err
		}
	}
	select {
	case <-time.After(b.size.memorySettle): // idle links: keepalives only
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	pid := c.cmd.Process.Pid
	rss, err = procStatusKiB(pid, "VmRSS")
	if err != nil {
		return 0, 0, err
	}
	hwm, err = procStatusKiB(pid, "VmHWM")
	if err != nil {
		return 0, 0, err
	}
	if err := c.stop(10 * time.Second); err != nil {
		return 0, 0, errors.Join(errors.New("lanchat chat did not stop cleanly"), err)
	}
	return rss, hwm, nil
}
