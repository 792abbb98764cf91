//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// runFiles: one file offered by one node and fetched by another over one
// loopback link, against the same bytes over a raw TCP + ChaCha20-Poly1305
// stream and against cp of the file on the same disk; the bytes a fetch
// stopped at half and resumed costs; chat latency during a transfer; and
// four receivers at once (serving each other) against four in a row.
func runFiles(ctx context.Context, b *bench) ([]row, error) {
	size := b.size.fileBytes
	b.note(fmt.Sprintf("# file transfer: in-process nodes, a %d MiB file (see cmd/lanchat-bench/fig_files.go)", size>>20))
	dir, err := b.dir("files")
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "payload.bin")
	content := make([]byte, size)
	if _, err := rand.Read(content); err != nil {
		return nil, err
	}
	if err := os.WriteFile(src, content, 0o644); err != nil {
		return nil, err
	}
	content = nil
	fc, err := newFileCluster(ctx, dir, 5)
	if err != nil {
		return nil, err
	}
	defer fc.stop()
	offer, err := fc.nodes[0].node.OfferFile(ctx, chat.DefaultRoom, src)
	if err != nil {
		return nil, err
	}
	if err := fc.waitOffer(ctx, offer.ID); err != nil {
		return nil, err
	}
	mb := float64(size) / 1e6
	var rows []row

	// One file, one link.
	cpu0 := cpuTime()
	took, err := fc.fetch(ctx, 1, offer.ID, filepath.Join(dir, "out1"))
	if err != nil {
		return nil, err
	}
	cpu := cpuTime() - cpu0
	raw, err := rawStream(ctx, size)
	if err != nil {
		return nil, fmt.Errorf("raw stream baseline: %w", err)
	}
	cp, err := cpTime(ctx, src, filepath.Join(dir, "copy.bin"))
	if err != nil {
		return nil, fmt.Errorf("cp baseline: %w", err)
	}
	atLeast := func(f float64) check { return func(l, b float64) bool { return l >= f*b } }
	rows = append(rows,
		compared(fmt.Sprintf("file: %d MiB over one link, offer → verified in place", size>>20),
			measure{mb / took.Seconds(), "MB/s", ""}, measure{mb / raw.Seconds(), "MB/s", "same bytes over one raw TCP + ChaCha20-Poly1305 stream"},
			"≥ 0.8× raw", atLeast(0.8)),
		compared(fmt.Sprintf("file: %d MiB fetched, against cp on the same disk", size>>20),
			measure{mb / took.Seconds(), "MB/s", ""}, measure{mb / cp.Seconds(), "MB/s", "cp of the file (page cache, no fsync)"},
			"≥ 0.8× cp when disk-bound", nil),
		alone("file: CPU per GB fetched (both nodes, one process)", measure{cpu.Seconds() / (mb / 1000), "s", ""}, "—", nil),
	)

	// Chat latency while node 2 fetches from node 0, against idle.
	idle, err := fc.chatLatency(ctx, 20)
	if err != nil {
		return nil, err
	}
	busy, err := fc.latencyDuring(ctx, 2, offer.ID, filepath.Join(dir, "out2"))
	if err != nil {
		return nil, err
	}
	rows = append(rows, compared("chat latency during a file transfer on the same link (median)",
		measure{busy.Seconds() * 1000, "ms", ""}, measure{idle.Seconds() * 1000, "ms", "same link idle"}, "small factor of idle", nil))

	// Resume: node 3 stops at half and starts again.
	served0 := fc.servedBy(0, 1, 2, 4)
	if err := fc.resumeAtHalf(ctx, 3, offer.ID, filepath.Join(dir, "out3"), uint64(size)); err != nil {
		return nil, err
	}
	sent := fc.servedBy(0, 1, 2, 4) - served0
	rows = append(rows, alone("file: bytes sent for a fetch stopped at 50 % and resumed, ÷ file size",
		measure{float64(sent) / float64(size), "×", ""}, "≤ 1.1×", func(l, _ float64) bool { return l <= 1.1 }))

	// Swarm: nodes 1–4 fetch a new offer at once (they serve each other),
	// against the four fetching another one in turn.
	swarm, err := fc.offerAll(ctx, src, "swarm", 1, 2, 3, 4)
	if err != nil {
		return nil, err
	}
	inTurn, err := fc.offerAll(ctx, src, "turn", 1)
	if err != nil {
		return nil, err
	}
	for _, i := range []int{2, 3, 4} {
		d, err := fc.offerAll(ctx, src, "turn", i)
		if err != nil {
			return nil, err
		}
		inTurn += d
	}
	rows = append(rows, compared(fmt.Sprintf("file: 4 receivers all hold %d MiB, fetching at once (members serve each other)", size>>20),
		measure{swarm.Seconds(), "s", ""}, measure{inTurn.Seconds(), "s", "4 fetches in turn"}, "< 1× in turn", func(l, b float64) bool { return l < b }))
	return rows, nil
}

// offerAll offers a copy of src (named name, so it is a new offer the
// first time) from node 0, or reuses it, and times nodes until every one
// of them has fetched it, all at once.
func (fc *fileCluster) offerAll(ctx context.Context, src, name string, nodes ...int) (time.Duration, error) {
	if fc.offers == nil {
		fc.offers = map[string]string{}
	}
	id := fc.offers[name]
	if id == "" {
		dir := filepath.Join(filepath.Dir(src), name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return 0, err
		}
		p := filepath.Join(dir, name+".bin")
		if err := os.Link(src, p); err != nil {
			return 0, err
		}
		// A different first byte: another root, another offer.
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return 0, err
		}
		_, err = f.WriteAt([]byte(name[:1]), 0)
		f.Close()
		if err != nil {
			return 0, err
		}
		o, err := fc.nodes[0].node.OfferFile(ctx, chat.DefaultRoom, p)
		if err != nil {
			return 0, err
		}
		if err := fc.waitOffer(ctx, o.ID); err != nil {
			return 0, err
		}
		id, fc.offers[name] = o.ID, o.ID
	}
	start := time.Now()
	for _, i := range nodes {
		if _, err := fc.nodes[i].node.Fetch(ctx, id, filepath.Join(filepath.Dir(src), fmt.Sprintf("%s-out%d", name, i))); err != nil {
			return 0, err
		}
	}
	for _, i := range nodes {
		if err := fc.waitDone(ctx, i, id); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// fileCluster is n in-process nodes in the default room, each linked to
// every other by --peer.
type fileCluster struct {
	nodes  []*benchNode
	cfgs   []chat.Config
	offers map[string]string // offer ids by name (offerAll)
}

func newFileCluster(ctx context.Context, dir string, n int) (*fileCluster, error) {
	ids, err := newIdentities(n)
	if err != nil {
		return nil, err
	}
	fc := &fileCluster{}
	for i, id := range ids {
		var others []lcrypto.IdentityKey
		for j, o := range ids {
			if j != i {
				others = append(others, o.Public())
			}
		}
		store, err := openStore(dir, fmt.Sprintf("n%d", i), others...)
		if err != nil {
			fc.stop()
			return nil, err
		}
		cfg := loopbackConfig(id, store, 0, n)
		cfg.FilesDir = filepath.Join(dir, fmt.Sprintf("n%d-files", i))
		for _, o := range fc.nodes { // a full mesh: each dials those before it
			cfg.StaticPeers = append(cfg.StaticPeers, o.addr)
		}
		bn, err := startNode(ctx, cfg)
		if err != nil {
			store.Close()
			fc.stop()
			return nil, err
		}
		bn.unsub()
		fc.nodes, fc.cfgs = append(fc.nodes, bn), append(fc.cfgs, cfg)
	}
	return fc, waitUntil(ctx, 30*time.Second, 10*time.Millisecond, "the file cluster to link", func() bool {
		for _, bn := range fc.nodes {
			if len(bn.node.LinkedPeers()) != n-1 {
				return false
			}
		}
		return true
	})
}

func (fc *fileCluster) stop() { _ = stopAll(fc.nodes) }

// servedBy sums the chunk bytes the nodes served.
func (fc *fileCluster) servedBy(nodes ...int) uint64 {
	var n uint64
	for _, i := range nodes {
		n += fc.nodes[i].node.Stats().FileBytesServed
	}
	return n
}

// waitOffer waits until every node holds the offer.
func (fc *fileCluster) waitOffer(ctx context.Context, id string) error {
	return waitUntil(ctx, 30*time.Second, 10*time.Millisecond, "the offer to reach every node", func() bool {
		for _, bn := range fc.nodes[1:] {
			if fileOf(bn, id) == nil {
				return false
			}
		}
		return true
	})
}

func fileOf(bn *benchNode, id string) *chat.FileView {
	list, err := bn.node.Files()
	if err != nil {
		return nil
	}
	for _, f := range list {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// fetch fetches offer id on node i and times it until it is in place.
func (fc *fileCluster) fetch(ctx context.Context, i int, id, out string) (time.Duration, error) {
	start := time.Now()
	if _, err := fc.nodes[i].node.Fetch(ctx, id, out); err != nil {
		return 0, err
	}
	err := fc.waitDone(ctx, i, id)
	return time.Since(start), err
}

func (fc *fileCluster) waitDone(ctx context.Context, i int, id string) error {
	return waitUntil(ctx, 10*time.Minute, 2*time.Millisecond, "the fetch", func() bool {
		f := fileOf(fc.nodes[i], id)
		return f != nil && (f.State == chat.FileDone || f.State == chat.FileFailed)
	})
}

// chatLatency sends n messages from node 0 and returns the median time
// until node 1 stores each.
func (fc *fileCluster) chatLatency(ctx context.Context, n int) (time.Duration, error) {
	var times []time.Duration
	for k := 0; k < n; k++ {
		d, err := fc.oneMessage(ctx, fmt.Sprintf("ping %d %d", k, time.Now().UnixNano()))
		if err != nil {
			return 0, err
		}
		times = append(times, d)
	}
	return median(times), nil
}

// oneMessage times one message from node 0 to node 2 (the fetching one).
func (fc *fileCluster) oneMessage(ctx context.Context, body string) (time.Duration, error) {
	events, stop := fc.nodes[2].node.Subscribe()
	defer stop()
	start := time.Now()
	if _, _, err := fc.nodes[0].node.Send(ctx, chat.DefaultRoom, body); err != nil {
		return 0, err
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == chat.EventMessage && ev.Message != nil && ev.Message.Body == body {
				return time.Since(start), nil
			}
		case <-timeout:
			return 0, errors.New("a chat message took more than 30 s")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// latencyDuring measures chat latency to node i while it fetches id.
func (fc *fileCluster) latencyDuring(ctx context.Context, i int, id, out string) (time.Duration, error) {
	if _, err := fc.nodes[i].node.Fetch(ctx, id, out); err != nil {
		return 0, err
	}
	var times []time.Duration
	for k := 0; k < 50; k++ {
		f := fileOf(fc.nodes[i], id)
		if f == nil || f.State != chat.FileFetching || f.Have == 0 {
			if len(times) > 0 && f != nil && f.State == chat.FileDone {
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		d, err := fc.oneMessage(ctx, fmt.Sprintf("busy %d %d", k, time.Now().UnixNano()))
		if err != nil {
			return 0, err
		}
		times = append(times, d)
	}
	if err := fc.waitDone(ctx, i, id); err != nil {
		return 0, err
	}
	if len(times) == 0 {
		return 0, errors.New("the transfer ended before a message could be timed during it")
	}
	return median(times), nil
}

// resumeAtHalf fetches id on node i, stops the node once it holds half,
// and starts it again: the fetch goes on by itself until it is in place.
func (fc *fileCluster) resumeAtHalf(ctx context.Context, i int, id, out string, size uint64) error {
	bn := fc.nodes[i]
	if _, err := bn.node.Fetch(ctx, id, out); err != nil {
		return err
	}
	if err := waitUntil(ctx, 10*time.Minute, time.Millisecond, "half", func() bool {
		f := fileOf(bn, id)
		return f != nil && f.Have >= size/2
	}); err != nil {
		return err
	}
	cfg := fc.cfgs[i]
	path := bn.store.Path()
	if err := bn.stop(); err != nil {
		return err
	}
	store, err := storage.Open(path, storage.DefaultOptions())
	if err != nil {
		return err
	}
	cfg.Store = store
	nb, err := startNode(ctx, cfg)
	if err != nil {
		store.Close()
		return err
	}
	nb.unsub()
	fc.nodes[i] = nb
	return fc.waitDone(ctx, i, id)
}

// rawStream sends size bytes over one loopback TCP connection sealed with
// ChaCha20-Poly1305 in Noise-sized messages, and times it until the
// receiver has opened them all.
func rawStream(ctx context.Context, size int) (time.Duration, error) {
	const piece = 256 << 10
	buf := make([]byte, piece)
	payload := make([][]byte, 0, size/piece+1)
	for left := size; left > 0; left -= piece {
		payload = append(payload, buf[:min(piece, left)])
	}
	return rawTransfer(ctx, payload)
}

// cpTime times cp of src to dst.
func cpTime(ctx context.Context, src, dst string) (time.Duration, error) {
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	took := time.Since(start)
	return took, os.Remove(dst)
}
