//go:build unix

package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// fanResult is what one fan-out run measured.
type fanResult struct {
	rate     float64         // messages/s, each stored by every receiver
	p50, p99 time.Duration   // send → stored at the last receiver
	latency  []time.Duration // of the paced messages
	// dropped is how many relayed copies all nodes together dropped
	// unread (chat.Stats.DuplicatesDropped), per message sent.
	dropped float64
}

// runFanout: one sender, rooms of 2, 8 and 32 nodes, against a plain TCP
// fan-out of the same bytes; each size twice, the nodes' stores on the
// real disk (as the bench machine has one disk, every node's fsyncs queue
// on it) and on a memory file system (what the rest of the path costs, as
// on a LAN where each node has its own disk), and beside it one group
// commit's latency on the real disk.
func runFanout(ctx context.Context, b *bench) ([]row, error) {
	b.note("# room fan-out: in-process nodes on 127.0.0.1, stores on the disk and on a tmpfs (see cmd/lanchat-bench/fig_fanout.go)")
	var rows []row
	for _, fs := range b.size.fanout {
		dir, err := b.dir(fmt.Sprintf("fanout%d", fs.nodes))
		if err != nil {
			return rows, err
		}
		disk, wire, err := lanchatFanout(ctx, b, fs, dir)
		if err != nil {
			return rows, fmt.Errorf("%d nodes: %w", fs.nodes, err)
		}
		commits, err := commitLatency(ctx, dir, commitSamplesFor(b))
		if err != nil {
			return rows, fmt.Errorf("%d nodes, group-commit baseline: %w", fs.nodes, err)
		}
		t, err := tcpFanout(ctx, fs, wire)
		if err != nil {
			return rows, fmt.Errorf("%d nodes, TCP baseline: %w", fs.nodes, err)
		}
		rows = append(rows, fanoutRows(fs, disk, t)...)
		rows = append(rows, diskRows(fs, disk, t, commits)...)
		mem, err := memFanout(ctx, b, fs)
		if err != nil {
			b.logf("   %d nodes on a memory file system: skipped: %v", fs.nodes, err)
			rows = append(rows, failedRow(fmt.Sprintf("room fan-out, %d nodes, stores on a memory file system", fs.nodes), fmt.Errorf("skipped: %w", err)))
			continue
		}
		rows = append(rows, memRows(fs, mem, t)...)
	}
	return rows, nil
}

// commitSamplesFor is how many group commits of one message the real-disk
// baseline times.
func commitSamplesFor(b *bench) int {
	if b.opts.quick {
		return 200
	}
	return 500
}

// memFanout is the figure with every node's store on a memory file system.
func memFanout(ctx context.Context, b *bench, fs fanoutSize) (fanResult, error) {
	dir, cleanup, err := memStoreDir(b, fmt.Sprintf("fanout%d", fs.nodes))
	if err != nil {
		return fanResult{}, err
	}
	defer cleanup()
	res, _, err := lanchatFanout(ctx, b, fs, dir)
	return res, err
}

// fanoutRows are the real-disk rows against plain TCP (the figure's rows
// from before the memfs split, with their targets).
func fanoutRows(fs fanoutSize, l, t fanResult) []row {
	name := fmt.Sprintf("room fan-out, %d nodes, real disk", fs.nodes)
	target, ok := "—", check(nil)
	switch fs.nodes {
	case 8:
		target, ok = "p99 ≤ 2 ms", func(l, _ float64) bool { return l <= 2 }
	case 32:
		target, ok = "p99 ≤ 10 ms", func(l, _ float64) bool { return l <= 10 }
	}
	return latencyRows(name, fs, l, t, target, ok)
}

// latencyRows are one fan-out run's rate, p50 and p99 against plain TCP's,
// the p99 with its target.
func latencyRows(name string, fs fanoutSize, l, t fanResult, target string, ok check) []row {
	what := fmt.Sprintf("plain TCP, 1 sender → %d", fs.nodes-1)
	return []row{
		compared(name+": msgs/s stored by every receiver, sent back to back",
			measure{l.rate, "msgs/s", fmt.Sprintf("%s deliveries/s", thousands(l.rate*float64(fs.nodes-1)))},
			measure{t.rate, "msgs/s", what}, "—", nil),
		compared(fmt.Sprintf("%s: send → stored at last receiver, p50 (%d msgs, 1 per %v)", name, len(l.latency), fs.pace),
			measure{ms(l.p50), "ms", ""}, measure{ms(t.p50), "ms", what}, "—", nil),
		compared(name+": send → stored at last receiver, p99", measure{ms(l.p99), "ms", ""}, measure{ms(t.p99), "ms", what}, target, ok),
	}
}

// diskRows: the real-disk p99 against plain TCP's p99 plus one group
// commit's p99 (target 2× at 8 and 32 nodes), and that group commit
// against a bare fdatasync.
func diskRows(fs fanoutSize, l, t fanResult, c commitSamples) []row {
	name := fmt.Sprintf("room fan-out, %d nodes, real disk", fs.nodes)
	cp99 := percentile(c.commit, 0.99)
	target, ok := "—", check(nil)
	if fs.nodes >= 8 {
		target, ok = "≤ 2×", func(l, b float64) bool { return l <= 2*b }
	}
	return []row{
		compared(name+": send → stored at last receiver, p99, against TCP + one group commit",
			measure{ms(l.p99), "ms", ""},
			measure{ms(t.p99 + cp99), "ms", fmt.Sprintf("plain TCP p99 %s ms + group commit p99 %s ms", sig3(ms(t.p99)), sig3(ms(cp99)))},
			target, ok),
		compared(fmt.Sprintf("group commit of one message (Committer.Add, one writer, real disk), p99 of %d, beside the %d-node run", len(c.commit), fs.nodes),
			measure{ms(cp99), "ms", ""},
			measure{ms(percentile(c.fsync, 0.99)), "ms", "bare write + fdatasync of one 4 KiB page, p99"}, "—", nil),
	}
}

// memRows: the stores on a memory file system, against plain TCP (target
// p99 ≤ 3× at 8 and 32 nodes).
func memRows(fs fanoutSize, l, t fanResult) []row {
	name := fmt.Sprintf("room fan-out, %d nodes, memory file system", fs.nodes)
	target, ok := "—", check(nil)
	if fs.nodes >= 8 {
		target, ok = "p99 ≤ 3× TCP", func(l, b float64) bool { return l <= 3*b }
	}
	return append(latencyRows(name, fs, l, t, target, ok),
		compared(name+": relayed copies dropped unread, per message (all nodes)",
			measure{l.dropped, "copies", ""},
			measure{float64((fs.nodes - 1) * (fs.nodes - 2)), "copies", "what a full mesh relays: (N−1)(N−2)"}, "—", nil))
}

// fanBody is the 100-byte body of message i.
func fanBody(i int) string {
	s := fmt.Sprintf("fan-out message %06d ", i)
	return s + strings.Repeat("x", 100-len(s))
}

// lanchatFanout runs the figure on a cluster of fs.nodes nodes, their
// stores under dir, and returns it with the encoded size of each message
// sent (for the baseline).
func lanchatFanout(ctx context.Context, b *bench, fs fanoutSize, dir string) (fanResult, [][]byte, error) {
	nodes, err := startClusterIn(ctx, b, fs, dir)
	defer func() {
		if err := stopAll(nodes); err != nil {
			b.logf("stopping the cluster: %v", err)
		}
	}()
	if err != nil {
		return fanResult{}, nil, err
	}
	total := fs.burst + fs.paced
	rec := newRecorder(nodes[0].id.Public(), nodes[1:], total)
	defer rec.stop()

	sender := nodes[0].node
	var res fanResult
	var wire [][]byte
	send := func(i int) error {
		v, _, err := sender.Send(ctx, chat.DefaultRoom, fanBody(i))
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		wire = append(wire, wireSizeOf(v))
		return nil
	}
	t0 := time.Now()
	for i := range fs.burst {
		if err := send(i); err != nil {
			return res, nil, err
		}
	}
	if err := rec.wait(ctx, fs.burst, 3*time.Minute); err != nil {
		return res, nil, err
	}
	res.rate = float64(fs.burst) / rec.lastArrival(0, fs.burst).Sub(t0).Seconds()
	quiesce(ctx, 10*time.Second)

	sentAt := make([]time.Time, fs.paced)
	tick := time.NewTicker(fs.pace)
	defer tick.Stop()
	for i := range fs.paced {
		<-tick.C
		sentAt[i] = time.Now()
		if err := send(fs.burst + i); err != nil {
			return res, nil, err
		}
	}
	if err := rec.wait(ctx, total, 3*time.Minute); err != nil {
		return res, nil, err
	}
	rec.stop()
	for i := range fs.paced {
		res.latency = append(res.latency, rec.lastArrival(fs.burst+i, fs.burst+i+1).Sub(sentAt[i]))
	}
	res.p50, res.p99 = percentile(res.latency, 0.50), percentile(res.latency, 0.99)
	var dropped uint64
	for _, n := range nodes {
		dropped += n.node.Stats().DuplicatesDropped
	}
	res.dropped = float64(dropped) / float64(total)
	return res, wire, nil
}

// wireSizeOf returns a stand-in for the encoded message v: the same length
// (the baseline only needs the bytes count of each frame to match).
func wireSizeOf(v *chat.MessageView) []byte {
	return make([]byte, chatMessageSize(v.Room, v.Body))
}

// chatMessageSize is the encoded size of a signed message (PROTOCOL.md):
// version, room length, room, author, seq, clock, time, body length, body,
// signature.
func chatMessageSize(room, body string) int {
	return 1 + 1 + len(room) + lcrypto.KeySize + 8 + 8 + 8 + 2 + len(body) + lcrypto.SignatureSize
}

// startCluster starts fs.nodes nodes that all trust each other, node i
// dialling nodes 0..i-1 (no discovery: the figure is about messages), and
// waits until every pair is linked.
func startCluster(ctx context.Context, b *bench, fs fanoutSize) ([]*benchNode, error) {
	dir, err := b.dir(fmt.Sprintf("fanout%d", fs.nodes))
	if err != nil {
		return nil, err
	}
	return startClusterIn(ctx, b, fs, dir)
}

// startClusterIn is startCluster with the nodes' stores under dir.
func startClusterIn(ctx context.Context, b *bench, fs fanoutSize, dir string) ([]*benchNode, error) {
	ids, err := newIdentities(fs.nodes)
	if err != nil {
		return nil, err
	}
	fps := map[string]bool{}
	for _, id := range ids {
		fps[id.Fingerprint().String()] = true
	}
	nodes := make([]*benchNode, 0, fs.nodes)
	var addrs []string
	for i, id := range ids {
		var trusted []lcrypto.IdentityKey
		for j, o := range ids {
			if j != i {
				trusted = append(trusted, o.Public())
			}
		}
		store, err := openStore(dir, fmt.Sprintf("node%d", i), trusted...)
		if err != nil {
			return nodes, err
		}
		cfg := loopbackConfig(id, store, 0, fs.nodes)
		cfg.StaticPeers = append([]string(nil), addrs...)
		cfg.EventBuffer = fs.burst + fs.paced + 4096
		n, err := startNode(ctx, cfg)
		if err != nil {
			store.Close()
			return nodes, err
		}
		nodes = append(nodes, n)
		addrs = append(addrs, n.addr)
	}
	start := time.Now()
	err = waitUntil(ctx, fs.linkWithin, 20*time.Millisecond, "every pair linked", func() bool {
		for _, n := range nodes {
			if n.linkedTo(fps) < fs.nodes-1 {
				return false
			}
		}
		return true
	})
	b.logf("   %d nodes linked (%d links) in %v", fs.nodes, fs.nodes*(fs.nodes-1)/2, time.Since(start).Round(time.Millisecond))
	return nodes, err
}

// recorder notes when each receiver showed each of the sender's messages
// (the event is published once the message is durable).
type recorder struct {
	arrivals [][]time.Time // [receiver][seq-1]
	got      atomic.Int64  // first arrivals so far, all receivers
	stops    []func()
	wg       sync.WaitGroup
	once     sync.Once
}

func newRecorder(sender lcrypto.IdentityKey, receivers []*benchNode, total int) *recorder {
	r := &recorder{arrivals: make([][]time.Time, len(receivers))}
	fp := sender.Fingerprint().String()
	for i, n := range receivers {
		r.arrivals[i] = make([]time.Time, total)
		events, stop := n.node.Subscribe()
		r.stops = append(r.stops, stop)
		r.wg.Add(1)
		go func(arr []time.Time) {
			defer r.wg.Done()
			for ev := range events {
				if ev.Kind != chat.EventMessage || ev.Message.Author != fp {
					continue
				}
				if s := ev.Message.Seq; s >= 1 && s <= uint64(len(arr)) && arr[s-1].IsZero() {
					arr[s-1] = ev.Time
					r.got.Add(1)
				}
			}
		}(r.arrivals[i])
	}
	return r
}

// wait returns once every receiver has the first n messages.
func (r *recorder) wait(ctx context.Context, n int, within time.Duration) error {
	want := int64(n * len(r.arrivals))
	return waitUntil(ctx, within, time.Millisecond, fmt.Sprintf("%d messages at %d receivers", n, len(r.arrivals)),
		func() bool { return r.got.Load() >= want })
}

// stop ends the subscriptions and waits for the recording goroutines.
func (r *recorder) stop() {
	r.once.Do(func() {
		for _, s := range r.stops {
			s()
		}
		r.wg.Wait()
	})
}

// lastArrival is the latest time any receiver stored a message of [from, to).
func (r *recorder) lastArrival(from, to int) time.Time {
	var last time.Time
	for _, arr := range r.arrivals {
		for _, t := range arr[from:to] {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}
