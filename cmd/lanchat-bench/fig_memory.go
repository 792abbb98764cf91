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
// link; and what one end of an idle link holds in memory, in process
// (chat/idlemem_test.go: heap in use + goroutine stacks per link end).
func runMemory(ctx context.Context, b *bench) ([]row, error) {
	links := b.size.memoryLinks
	id, err := newIdentity()
	if err != nil {
		return nil, err
	}
	peers, err := startPeers(ctx, b, id.Public(), links, nil)
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
	idle, _, _, err := b.childRSS(ctx, home, nil, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("idle node: %w", err)
	}
	busy, hwm, _, err := b.childRSS(ctx, home, peers, id, 0)
	if err != nil {
		return nil, fmt.Errorf("node with %d links: %w", links, err)
	}
	perLink := float64(busy-idle) / float64(links)
	res, err := b.runGoBench(ctx, "./chat/", "^BenchmarkIdleLinkMemory(AfterCatchUp)?$", "1x", "")
	if err != nil {
		return nil, err
	}
	var inproc, caught [4]float64
	for i, unit := range []string{"B/link-end", "heap-B/link-end", "stack-B/link-end", "goroutines/link-end"} {
		if inproc[i], err = metric(res, "BenchmarkIdleLinkMemory", unit); err != nil {
			return nil, err
		}
		if caught[i], err = metric(res, "BenchmarkIdleLinkMemoryAfterCatchUp", unit); err != nil {
			return nil, err
		}
	}
	garbage, err := metric(res, "BenchmarkIdleLinkMemory", "alloc-B/link-end")
	if err != nil {
		return nil, err
	}
	const perLinkTarget = "≤ 32 KiB"
	return []row{
		alone("memory: RSS of lanchat chat, no links", measure{float64(idle) / 1024, "MiB", ""}, "—", nil),
		alone(fmt.Sprintf("memory: RSS of lanchat chat with %d idle links (peak %s MiB)", links, sig3(float64(hwm)/1024)),
			measure{float64(busy) / 1024, "MiB", ""}, "≤ 20 MB", func(l, _ float64) bool { return l*1024*1024 <= 20e6 }),
		alone("memory: cost per idle link (difference / links)", measure{perLink, "KiB", ""}, perLinkTarget, func(l, _ float64) bool { return l <= 32 }),
		alone(fmt.Sprintf("memory: one end of an idle link in process, heap in use + stacks (%s KiB heap, %s KiB stacks, %s goroutines)",
			sig3(inproc[1]/1024), sig3(inproc[2]/1024), sig3(inproc[3])),
			measure{inproc[0] / 1024, "KiB", ""}, perLinkTarget, func(l, _ float64) bool { return l <= 32 }),
		alone(fmt.Sprintf("memory: the same after a catch-up of 100 messages on each link (%s KiB heap, %s KiB stacks)",
			sig3(caught[1]/1024), sig3(caught[2]/1024)),
			measure{caught[0] / 1024, "KiB", ""}, perLinkTarget, func(l, _ float64) bool { return l <= 32 }),
		alone("memory: bytes a link end allocates while it comes up (garbage held as RSS until a collection)",
			measure{garbage / 1024, "KiB", ""}, "—", nil),
	}, nil
}

// startPeers starts n in-process nodes, without discovery, that trust key,
// in rooms (none: the default room).
func startPeers(ctx context.Context, b *bench, key lcrypto.IdentityKey, n int, rooms []string) ([]*benchNode, error) {
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
		cfg := loopbackConfig(id, store, 0, 4)
		cfg.Rooms = rooms
		bn, err := startNode(ctx, cfg)
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
// returns its VmRSS and VmHWM in KiB, and the CPU time it used over
// idleCPU after the settle time (none when 0). Beacons go to a private
// port nobody else uses.
func (b *bench) childRSS(ctx context.Context, home string, peers []*benchNode, id *lcrypto.Identity, idleCPU time.Duration) (rss, hwm int, cpu time.Duration, err error) {
	port, err := freeUDPPort()
	if err != nil {
		return 0, 0, 0, err
	}
	args := []string{"--discovery-addr", "127.255.255.255", "--beacon-port", strconv.Itoa(port), "--port", "0"}
	for _, p := range peers {
		args = append(args, "--peer", p.addr)
	}
	c, err := startChat(b.binary, home, args...)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.kill()
	if err := c.waitLine(ctx, "listening on", 10*time.Second); err != nil {
		return 0, 0, 0, err
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
			return 0, 0, 0, err
		}
	}
	select {
	case <-time.After(b.size.memorySettle): // idle links: keepalives only
	case <-ctx.Done():
		return 0, 0, 0, ctx.Err()
	}
	pid := c.cmd.Process.Pid
	if idleCPU > 0 {
		if cpu, err = idleCPUOf(ctx, pid, idleCPU); err != nil {
			return 0, 0, 0, err
		}
	}
	rss, err = procStatusKiB(pid, "VmRSS")
	if err != nil {
		return 0, 0, 0, err
	}
	hwm, err = procStatusKiB(pid, "VmHWM")
	if err != nil {
		return 0, 0, 0, err
	}
	if err := c.stop(10 * time.Second); err != nil {
		return 0, 0, 0, errors.Join(errors.New("lanchat chat did not stop cleanly"), err)
	}
	return rss, hwm, cpu, nil
}

// idleCPUOf is the CPU time process pid uses over window.
func idleCPUOf(ctx context.Context, pid int, window time.Duration) (time.Duration, error) {
	before, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	after, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}
