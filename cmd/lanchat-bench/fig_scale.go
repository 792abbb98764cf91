//go:build unix

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// scaleSize is one room size of the scale figure: msgs messages from one
// sender, one per pace.
type scaleSize struct {
	nodes, msgs int
	pace        time.Duration
}

func scaleSizes(quick bool) []scaleSize {
	if quick {
		return []scaleSize{{2, 40, 10 * time.Millisecond}, {8, 40, 20 * time.Millisecond},
			{32, 20, 50 * time.Millisecond}, {64, 10, 100 * time.Millisecond}}
	}
	return []scaleSize{{2, 200, 10 * time.Millisecond}, {8, 200, 20 * time.Millisecond},
		{32, 100, 50 * time.Millisecond}, {64, 50, 100 * time.Millisecond}, {128, 30, 200 * time.Millisecond}}
}

// scaleResult is what one phase (flood or tree) of one size measured.
type scaleResult struct {
	p50, p99         time.Duration // send → stored at the last receiver
	cpuPerMsg        time.Duration // the receivers' process (every node but the sender), until it is quiet again
	senderCPU        time.Duration // the sender's own process
	frames, bytes    float64       // chat frames (and their bytes) all nodes sent, per message
	senderFrames     float64       // of them, the sender's
	senderBytes      float64
	linkFrames       float64 // application frames of every type all nodes sent, per message
	repairsPerSecond float64 // repair syncs sent, whole cluster
	idleCores        float64 // CPU the linked cluster uses with no message, in cores
}

// runScale: one room of 2 … 128 fully linked nodes, one sender, messages
// paced; every size flooded, and the sizes the default relay bounds
// (chat.DefaultRelayConfig) also along the tree, on the same cluster.
func runScale(ctx context.Context, b *bench) ([]row, error) {
	b.note("# scale: in-process nodes on 127.0.0.1, data dirs on tmpfs (/dev/shm) where there is one (see cmd/lanchat-bench/fig_scale.go)")
	if err := raiseFileLimit(); err != nil {
		b.logf("   raising the file limit: %v", err)
	}
	var rows []row
	var base scaleBase
	for _, sz := range scaleSizes(b.opts.quick) {
		r, err := scaleRun(ctx, b, sz, &base)
		rows = append(rows, r...)
		if err != nil {
			return rows, fmt.Errorf("%d nodes: %w", sz.nodes, err)
		}
	}
	return rows, nil
}

// scaleBase is the 2-node flood of the run: the baseline of the other
// sizes' growth.
type scaleBase struct {
	set bool
	res scaleResult
	mem float64
}

// scaleRun measures one size: links the cluster, floods, then (above the
// default FloodUpTo) relays along the tree.
func scaleRun(ctx context.Context, b *bench, sz scaleSize, base *scaleBase) ([]row, error) {
	need := uint64(sz.nodes*(sz.nodes-1) + 4*sz.nodes + 256)
	if lim := fileLimit(); lim < need {
		return []row{alone(fmt.Sprintf("scale, %d nodes", sz.nodes),
			measure{0, "", fmt.Sprintf("skipped: needs about %d file descriptors, the limit is %d (ulimit -n)", need, lim)}, "—", nil)}, nil
	}
	dir, cleanup, err := scaleDir(b, sz.nodes)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	heapBefore := heapNow()
	start := time.Now()
	sender, nodes, err := startMesh(ctx, dir, sz.nodes, sz.msgs*2+64)
	defer func() {
		if err := stopAll(nodes); err != nil {
			b.logf("stopping the cluster: %v", err)
		}
		if sender != nil {
			if err := sender.stop(); err != nil {
				b.logf("stopping the sender: %v", err)
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	linked := time.Since(start)
	quiesce(ctx, 30*time.Second)
	// The receivers, in this process. Signed: with one receiver the heap
	// can end below where it started (what earlier figures left is
	// collected meanwhile); that reads as 0, not as a wrapped-around count.
	memPerNode := max(0, float64(int64(heapNow())-int64(heapBefore))) / float64(len(nodes)) / 1024
	b.logf("   %d nodes, %d links: linked in %v, %.0f KiB per node", sz.nodes, sz.nodes*(sz.nodes-1)/2, linked.Round(time.Millisecond), memPerNode)

	rec := newRecorder(sender.key, nodes, 2*sz.msgs)
	defer rec.stop()
	// The tree first: a flood of the large sizes overflows send queues,
	// which closes links, and the relinks would still run in the next phase.
	def := chat.DefaultRelayConfig()
	flood := def
	flood.FloodUpTo = -1
	phases := []chat.RelayConfig{flood}
	if sz.nodes-1 > def.FloodUpTo {
		phases = []chat.RelayConfig{def, flood}
	} // else the default relay floods this size: nothing else to show
	var fl, tr scaleResult
	for i, relay := range phases {
		if err := setRelay(sender, nodes, relay); err != nil {
			return nil, err
		}
		if err := waitMeshed(ctx, sender, nodes); err != nil {
			return nil, err
		}
		quiesce(ctx, 10*time.Second)
		r, err := scalePhase(ctx, sender, nodes, rec, sz, i*sz.msgs)
		if err != nil {
			return nil, fmt.Errorf("relay %+v: %w", relay, err)
		}
		b.logf("   FloodUpTo %d: p99 %v, %.0f frames/msg, %v CPU/msg at the receivers, %v at the sender, %.1f repair syncs/s",
			relay.FloodUpTo, r.p99, r.frames, r.cpuPerMsg, r.senderCPU, r.repairsPerSecond)
		if relay.FloodUpTo < 0 {
			fl = r
		} else {
			tr = r
		}
	}
	if !base.set {
		base.set, base.res, base.mem = true, fl, memPerNode
	}
	rows := scaleRows(sz, fl, base, memPerNode, linked)
	if len(phases) == 1 {
		return rows, nil
	}
	return append(rows, treeRows(sz, tr, fl, base, def)...), nil
}

// waitMeshed waits until every node is linked with every other again (a
// flood may have closed links whose send queue filled): each receiver with
// the sender and every other receiver.
func waitMeshed(ctx context.Context, sender *scaleSender, nodes []*benchNode) error {
	fps := map[string]bool{sender.key.Fingerprint().String(): true}
	for _, n := range nodes {
		fps[n.id.Fingerprint().String()] = true
	}
	return waitUntil(ctx, 2*time.Minute, 50*time.Millisecond, "every pair linked", func() bool {
		for _, n := range nodes {
			if n.linkedTo(fps) < len(nodes) {
				return false
			}
		}
		return true
	})
}

func setRelay(sender *scaleSender, nodes []*benchNode, r chat.RelayConfig) error {
	for _, n := range nodes {
		n.node.SetRelay(r)
	}
	return sender.must("relay %d", r.FloodUpTo)
}

// scalePhase sends sz.msgs messages (after the first done of them) from
// the sender, one per pace, and measures them.
func scalePhase(ctx context.Context, sender *scaleSender, nodes []*benchNode, rec *recorder, sz scaleSize, done int) (scaleResult, error) {
	var res scaleResult
	s0 := time.Now()
	idleStats, err := sender.stats()
	if err != nil {
		return res, err
	}
	idle, err := idleMin(ctx)
	if err != nil {
		return res, err
	}
	sender0, err := sender.stats()
	if err != nil {
		return res, err
	}
	senderIdle := float64(sender0.cpu-idleStats.cpu) / float64(time.Since(s0)) // cores
	res.idleCores = idle + senderIdle
	before := clusterStats(nodes)
	cpu0, t0 := cpuTime(), time.Now()
	sentAt := make([]time.Time, sz.msgs)
	tick := time.NewTicker(sz.pace)
	defer tick.Stop()
	for i := range sz.msgs {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		sentAt[i] = time.Now()
		if err := sender.must("send %d", done+i); err != nil {
			return res, fmt.Errorf("send %d: %w", i, err)
		}
	}
	if err := rec.wait(ctx, done+sz.msgs, 3*time.Minute); err != nil {
		return res, err
	}
	settle(ctx, idle, 30*time.Second) // the duplicates still arriving are part of the cost
	elapsed := time.Since(t0)
	cpu := cpuTime() - cpu0 - time.Duration(idle*float64(elapsed)) // what the cluster uses idle is not the messages'

	after := clusterStats(nodes)
	sender1, err := sender.stats()
	if err != nil {
		return res, err
	}
	senderCPU := sender1.cpu - sender0.cpu - time.Duration(senderIdle*float64(elapsed))
	var lat []time.Duration
	for i := range sz.msgs {
		lat = append(lat, rec.lastArrival(done+i, done+i+1).Sub(sentAt[i]))
	}
	per := float64(sz.msgs)
	res.p50, res.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	res.cpuPerMsg = max(cpu, 0) / time.Duration(sz.msgs)
	res.senderCPU = max(senderCPU, 0) / time.Duration(sz.msgs)
	res.senderFrames = float64(sender1.chatFrames-sender0.chatFrames) / per
	res.senderBytes = float64(sender1.chatBytes-sender0.chatBytes) / per
	res.frames = float64(after.ChatFramesSent-before.ChatFramesSent)/per + res.senderFrames
	res.bytes = float64(after.ChatBytesSent-before.ChatBytesSent)/per + res.senderBytes
	res.linkFrames = float64(after.LinkFramesSent-before.LinkFramesSent+sender1.linkFrames-sender0.linkFrames) / per
	res.repairsPerSecond = float64(after.RepairSyncs-before.RepairSyncs) / elapsed.Seconds()
	return res, nil
}

func clusterStats(nodes []*benchNode) chat.Stats {
	var s chat.Stats
	for _, n := range nodes {
		st := n.node.Stats()
		s.ChatFramesSent += st.ChatFramesSent
		s.ChatBytesSent += st.ChatBytesSent
		s.LinkFramesSent += st.LinkFramesSent
		s.RepairSyncs += st.RepairSyncs
	}
	return s
}

func scaleRows(sz scaleSize, r scaleResult, base *scaleBase, mem float64, linked time.Duration) []row {
	name := fmt.Sprintf("scale, %d nodes, flood", sz.nodes)
	two := "2 nodes, flood"
	minimum := fmt.Sprintf("n−1 = %d: each receiver once", sz.nodes-1)
	return []row{
		compared(fmt.Sprintf("%s: send → stored at last receiver, p99 (%d msgs, 1 per %v)", name, sz.msgs, sz.pace),
			measure{ms(r.p99), "ms", fmt.Sprintf("p50 %s ms", sig3(ms(r.p50)))}, measure{ms(base.res.p99), "ms", two}, "—", nil),
		compared(name+": the sender's CPU per message (its own process), idle use taken off", measure{ms(r.senderCPU), "ms", ""},
			measure{ms(base.res.senderCPU), "ms", two}, "—", nil),
		compared(name+": the receivers' CPU per message (n−1 nodes, one process), until quiet, idle use taken off", measure{ms(r.cpuPerMsg), "ms", ""},
			measure{ms(base.res.cpuPerMsg), "ms", two}, "—", nil),
		alone(name+": CPU of the linked cluster with no message (keepalives, receipts)", measure{100 * r.idleCores, "% of a core", ""}, "—", nil),
		compared(name+": chat frames on the wire per message", measure{r.frames, "frames", fmt.Sprintf("%s B; %s frames of all types", thousands(r.bytes), sig3(r.linkFrames))},
			measure{float64(sz.nodes - 1), "frames", minimum}, "—", nil),
		compared(name+": the sender's chat frames per message", measure{r.senderFrames, "frames", thousands(r.senderBytes) + " B"},
			measure{float64(sz.nodes - 1), "frames", "one per link"}, "—", nil),
		compared(fmt.Sprintf("%s: memory per node, linked and idle (heap + stacks; linked in %v)", name, linked.Round(100*time.Millisecond)),
			measure{mem, "KiB", ""}, measure{base.mem, "KiB", two}, "—", nil),
	}
}

func treeRows(sz scaleSize, r, fl scaleResult, base *scaleBase, def chat.RelayConfig) []row {
	linear := float64(sz.nodes-1) * ms(base.res.cpuPerMsg)
	name := fmt.Sprintf("scale, %d nodes, tree relay (k=%d)", sz.nodes, def.Fanout)
	same := fmt.Sprintf("flood, %d nodes", sz.nodes)
	return []row{
		compared(fmt.Sprintf("%s: send → stored at last receiver, p99 (%d msgs, 1 per %v)", name, sz.msgs, sz.pace),
			measure{ms(r.p99), "ms", fmt.Sprintf("p50 %s ms", sig3(ms(r.p50)))}, measure{ms(fl.p99), "ms", same}, "—", nil),
		compared(name+": the sender's CPU per message (its own process), idle use taken off", measure{ms(r.senderCPU), "ms", ""},
			measure{ms(fl.senderCPU), "ms", same}, "—", nil),
		compared(name+": the receivers' CPU per message (n−1 nodes, one process), until quiet, idle use taken off", measure{ms(r.cpuPerMsg), "ms", ""},
			measure{ms(fl.cpuPerMsg), "ms", same}, fmt.Sprintf("≤ (n−1) × 2 nodes' = %s ms: linear", sig3(linear)),
			func(l, _ float64) bool { return l <= linear }),
		compared(name+": chat frames on the wire per message", measure{r.frames, "frames",
			fmt.Sprintf("%s B; %s frames of all types, repair syncs included", thousands(r.bytes), sig3(r.linkFrames))},
			measure{fl.frames, "frames", same}, fmt.Sprintf("≤ 1.1 (n−1) = %.0f", 1.1*float64(sz.nodes-1)),
			func(l, _ float64) bool { return l <= 1.1*float64(sz.nodes-1) }),
		compared(name+": the sender's chat frames per message", measure{r.senderFrames, "frames", thousands(r.senderBytes) + " B"},
			measure{fl.senderFrames, "frames", same}, fmt.Sprintf("≤ k = %d", def.Fanout),
			func(l, _ float64) bool { return l <= float64(def.Fanout) }),
		compared(name+": CPU of the linked cluster with no message (keepalives, receipts, repair syncs)",
			measure{100 * r.idleCores, "% of a core", fmt.Sprintf("%.0f repair syncs/s", r.repairsPerSecond)},
			measure{100 * fl.idleCores, "% of a core", same}, "—", nil),
	}
}

// startMesh starts the sender (a child process) and n−1 nodes in this
// process on dir, all trusting each other, each node dialling the sender
// and the nodes before it, and waits until every pair is linked.
func startMesh(ctx context.Context, dir string, n, events int) (*scaleSender, []*benchNode, error) {
	ids, err := newIdentities(n)
	if err != nil {
		return nil, nil, err
	}
	trusting := func(i int) []lcrypto.IdentityKey {
		var out []lcrypto.IdentityKey
		for j, o := range ids {
			if j != i {
				out = append(out, o.Public())
			}
		}
		return out
	}
	store, err := openStore(dir, "node0", trusting(0)...)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Close(); err != nil {
		return nil, nil, err
	}
	sender, err := startScaleSender(dir, filepath.Join(dir, "node0.db"), ids[0], n)
	if err != nil {
		return nil, nil, err
	}
	nodes := make([]*benchNode, 0, n-1)
	addrs := []string{sender.addr}
	for i := 1; i < n; i++ {
		store, err := openStore(dir, fmt.Sprintf("node%d", i), trusting(i)...)
		if err != nil {
			return sender, nodes, err
		}
		cfg := loopbackConfig(ids[i], store, 0, n)
		cfg.StaticPeers = append([]string(nil), addrs...)
		cfg.EventBuffer = events
		bn, err := startNode(ctx, cfg)
		if err != nil {
			store.Close()
			return sender, nodes, err
		}
		nodes = append(nodes, bn)
		addrs = append(addrs, bn.addr)
	}
	return sender, nodes, waitMeshed(ctx, sender, nodes)
}

// scaleDir is where a size's stores go: on tmpfs if the host has one, so
// that the figure is not one shared disk's fsync queue (each node of a real
// LAN has its own disk); else under the run's temporary directory.
func scaleDir(b *bench, n int) (string, func(), error) {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", fmt.Sprintf("lanchat-scale%d-", n)); err == nil {
			return d, func() {
				if err := os.RemoveAll(d); err != nil {
					b.logf("removing %s: %v", d, err)
				}
			}, nil
		}
	}
	d, err := b.dir(fmt.Sprintf("scale%d", n))
	return d, func() {}, err
}

// idleCores measures, over d, how many cores this process uses.
func idleCores(ctx context.Context, d time.Duration) (float64, error) {
	c0, t0 := cpuTime(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(cpuTime()-c0) / float64(time.Since(t0)), nil
}

// idleMin is the least CPU this process used in three windows of 400 ms:
// leftovers of the last phase (relinks, catch-ups) overstate one window.
func idleMin(ctx context.Context) (float64, error) {
	best := math.Inf(1)
	for range 3 {
		c, err := idleCores(ctx, 400*time.Millisecond)
		if err != nil {
			return 0, err
		}
		best = min(best, c)
	}
	return best, nil
}

// settle waits until this process uses no more than its idle CPU (plus a
// twentieth of a core) over 200 ms, or at most within.
func settle(ctx context.Context, idle float64, within time.Duration) {
	const window = 200 * time.Millisecond
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		busy, err := idleCores(ctx, window)
		if err != nil || busy <= 1.2*idle+0.05 {
			return
		}
	}
}

// heapNow is the heap and goroutine stacks in use after two collections
// (the second empties what sync.Pools kept through the first).
func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// raiseFileLimit lifts this process's open-file limit to its hard limit
// (a 128-node mesh in one process holds about 16,500 sockets).
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit to %d: %w", lim.Max, err)
	}
	return nil
}

func fileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return uint64(lim.Cur)
}
