//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	// Its gigabytes of copies go with the figure, not at the end of the run:
	// the figures after it find the page cache as they would have.
	defer os.RemoveAll(dir)
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

	// One file, one link: the best of a few rounds, each a new offer of
	// the same bytes (a first byte of its own) fetched by node 1,
	// interleaved with the raw stream and cp of the same bytes. CPU is the
	// whole process's (both nodes, or both ends of the raw stream).
	one, err := fc.oneLink(ctx, src, max(b.size.rounds, 2))
	if err != nil {
		return nil, err
	}
	atLeast := func(f float64) check { return func(l, b float64) bool { return l >= f*b } }
	perGB := func(d time.Duration) float64 { return d.Seconds() / (mb / 1000) }
	rate := func(d time.Duration) float64 { return mb / d.Seconds() }
	cpTarget, cpCheck := "≥ 0.8× cp when disk-bound; not here (cp is faster than the raw stream)", check(nil)
	if one.cp > one.raw {
		cpTarget, cpCheck = "≥ 0.8× cp (disk-bound here: cp is slower than the raw stream)", atLeast(0.8)
	}
	rows = append(rows,
		compared(fmt.Sprintf("file: %d MiB over one link, offer → verified in place", size>>20),
			measure{rate(one.took), "MB/s", ""}, measure{rate(one.raw), "MB/s", "same bytes over one raw TCP + ChaCha20-Poly1305 stream"},
			"≥ 0.8× raw", atLeast(0.8)),
		compared(fmt.Sprintf("file: %d MiB fetched, against cp on the same disk", size>>20),
			measure{rate(one.took), "MB/s", ""}, measure{rate(one.cp), "MB/s", "cp of the file (page cache, no fsync)"},
			cpTarget, cpCheck),
		compared("file: CPU per GB fetched (both nodes, one process)",
			measure{perGB(one.cpu), "s", ""}, measure{perGB(one.rawCPU), "s", "the raw stream, both ends"}, "—", nil),
		compared(fmt.Sprintf("file: %d MiB over one link, against a plain file-to-file stream", size>>20),
			measure{rate(one.took), "MB/s", ""}, measure{rate(one.rawFile), "MB/s", "read, raw stream, write, sync at the end: no hash, no protocol"}, "—", nil),
		compared("file: CPU per GB, against the plain file-to-file stream",
			measure{perGB(one.cpu), "s", ""}, measure{perGB(one.rawFileCPU), "s", "the file-to-file stream, both ends"}, "—", nil),
	)
	// The most a fetch can reach here: its work is at least the
	// file-to-file stream's plus a hash of every byte, and the two ends
	// share this machine's cores.
	cores := float64(runtime.GOMAXPROCS(0))
	bound := mb / ((one.rawFileCPU + one.hashCPU).Seconds() / cores)
	rows = append(rows, compared("file: one link, against the most these cores allow for a fetch's work",
		measure{rate(one.took), "MB/s", ""},
		measure{bound, "MB/s", fmt.Sprintf("file-to-file stream's CPU + SHA-256 of the bytes, all %d cores busy: %s× the raw stream", int(cores), sig3(bound/rate(one.raw)))},
		"—", nil))

	// Node 1 holds the offer too, as before these rounds: node 2 fetches it
	// below from nodes 0 and 1, and node 3 from 0, 1 and 2.
	if _, err := fc.fetch(ctx, 1, offer.ID, filepath.Join(dir, "out1")); err != nil {
		return nil, err
	}

	// Chat latency while node 2 fetches from nodes 0 and 1, against idle.
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
	up0 := fc.servedBy(0)
	swarm, err := fc.offerAll(ctx, src, "swarm", 1, 2, 3, 4)
	if err != nil {
		return nil, err
	}
	swarmUp := fc.servedBy(0) - up0
	up0 = fc.servedBy(0)
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
	turnUp := fc.servedBy(0) - up0
	rows = append(rows, compared(fmt.Sprintf("file: 4 receivers all hold %d MiB, fetching at once (members serve each other)", size>>20),
		measure{swarm.Seconds(), "s", ""}, measure{inTurn.Seconds(), "s", "4 fetches in turn (both CPU-bound on this machine: see lab swarm)"}, "—", nil),
		compared("file: what the sender uploads for those 4 receivers, ÷ file size",
			measure{float64(swarmUp) / float64(size), "×", ""}, measure{float64(turnUp) / float64(size), "×", "4 fetches in turn (each may fetch from those before it)"}, "—", nil))
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
		o, err := fc.offerVariant(ctx, src, name)
		if err != nil {
			return 0, err
		}
		id, fc.offers[name] = o, o
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

// offerVariant offers, from node 0, a copy of src whose first byte is
// name's (another root, another offer), once every node holds the offer.
func (fc *fileCluster) offerVariant(ctx context.Context, src, name string) (string, error) {
	dir := filepath.Join(filepath.Dir(src), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name+".bin")
	if err := copyFile(src, p); err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteAt([]byte(name[:1]), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	o, err := fc.nodes[0].node.OfferFile(ctx, chat.DefaultRoom, p)
	if err != nil {
		return "", err
	}
	return o.ID, fc.waitOffer(ctx, o.ID)
}

// copyFile copies src to a new file dst (a copy, not a link: changing one
// leaves the other as it was).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// oneLinkRun is the best of the one-file, one-link rounds: the fetch, the
// raw stream and cp of the same bytes (least time of each), and the CPU
// time of the process during the fetch and during the raw stream (least
// of each).
type oneLinkRun struct {
	took, raw, cp, cpu, rawCPU time.Duration
	// rawFile and rawFileCPU: the raw stream from the file to a new file
	// (rawFileStream); hashCPU: SHA-256 of as many bytes, in chunks.
	rawFile, rawFileCPU, hashCPU time.Duration
}

// oneLink runs rounds rounds: node 1 fetches a new offer of src's bytes
// from node 0, then the raw stream sends as many bytes, then cp copies the
// file.
func (fc *fileCluster) oneLink(ctx context.Context, src string, rounds int) (oneLinkRun, error) {
	var best oneLinkRun
	keep := func(v *time.Duration, d time.Duration) {
		if *v == 0 || d < *v {
			*v = d
		}
	}
	fi, err := os.Stat(src)
	if err != nil {
		return best, err
	}
	dir := filepath.Dir(src)
	for r := range rounds {
		name := fmt.Sprintf("%cround%d", 'a'+r, r)
		id, err := fc.offerVariant(ctx, src, name)
		if err != nil {
			return best, err
		}
		quiesce(ctx, 2*time.Second)
		cpu0 := cpuTime()
		out := filepath.Join(dir, name+"-out")
		took, err := fc.fetch(ctx, 1, id, out)
		if err != nil {
			return best, err
		}
		keep(&best.cpu, cpuTime()-cpu0)
		keep(&best.took, took)
		// The fetched copy goes, as cp's copy does after it: each write
		// finds the page cache in the same state (on a VM, memory the
		// page cache has not used lately can cost several times more to
		// fill).
		if err := os.RemoveAll(out); err != nil {
			return best, err
		}
		cpu0 = cpuTime()
		raw, err := rawStream(ctx, int(fi.Size()))
		if err != nil {
			return best, fmt.Errorf("raw stream baseline: %w", err)
		}
		keep(&best.rawCPU, cpuTime()-cpu0)
		keep(&best.raw, raw)
		cpu0 = cpuTime()
		rawFile, err := rawFileStream(ctx, src, filepath.Join(dir, "raw-copy.bin"))
		if err != nil {
			return best, fmt.Errorf("raw file stream baseline: %w", err)
		}
		keep(&best.rawFileCPU, cpuTime()-cpu0)
		keep(&best.rawFile, rawFile)
		keep(&best.hashCPU, hashCPU(int(fi.Size())))
		cp, err := cpTime(ctx, src, filepath.Join(dir, "copy.bin"))
		if err != nil {
			return best, fmt.Errorf("cp baseline: %w", err)
		}
		keep(&best.cp, cp)
		// This round's copy of the file goes too, so that every round,
		// and the fetch and cp within it, start from the same page cache.
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return best, err
		}
	}
	return best, nil
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
	events, stop := fc.nodes[i].node.Subscribe() // before the fetch: no event is missed
	defer stop()
	start := time.Now()
	if _, err := fc.nodes[i].node.Fetch(ctx, id, out); err != nil {
		return 0, err
	}
	err := fc.waitEnd(ctx, i, id, events)
	return time.Since(start), err
}

// waitDone waits until node i's fetch of id has ended.
func (fc *fileCluster) waitDone(ctx context.Context, i int, id string) error {
	events, stop := fc.nodes[i].node.Subscribe()
	defer stop()
	return fc.waitEnd(ctx, i, id, events)
}

// waitEnd waits for the end of node i's fetch of id by its events (a node
// publishes the end at once), looking at Files only now and then in case
// the end came before events or one was dropped: polling Files, which
// reads the history, costs CPU that the transfer would not have. A failed
// fetch is an error.
func (fc *fileCluster) waitEnd(ctx context.Context, i int, id string, events <-chan chat.Event) error {
	ended := func(f *chat.FileView) (bool, error) {
		switch {
		case f == nil || f.ID != id:
			return false, nil
		case f.State == chat.FileFailed:
			return true, fmt.Errorf("the fetch failed: %s", f.Error)
		default:
			return f.State == chat.FileDone, nil
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(10 * time.Minute)
	for {
		if done, err := ended(fileOf(fc.nodes[i], id)); done {
			return err
		}
		for waiting := true; waiting; {
			select {
			case ev, ok := <-events:
				if !ok {
					return errors.New("the node stopped during the fetch")
				}
				if ev.Kind == chat.EventFile {
					if done, err := ended(ev.File); done {
						return err
					}
				}
			case <-tick.C:
				waiting = false
			case <-timeout:
				return errors.New("the fetch took more than 10 minutes")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
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
	// It listens on a new port: it dials every other node, so that those
	// that dialled it before link to it again too.
	cfg.StaticPeers = nil
	for j, o := range fc.nodes {
		if j != i {
			cfg.StaticPeers = append(cfg.StaticPeers, o.addr)
		}
	}
	nb, err := startNode(ctx, cfg)
	if err != nil {
		store.Close()
		return err
	}
	nb.unsub()
	fc.nodes[i] = nb
	if err := fc.waitDone(ctx, i, id); err != nil {
		return err
	}
	return waitUntil(ctx, 30*time.Second, 10*time.Millisecond, "the file cluster to link again", func() bool {
		for _, bn := range fc.nodes {
			if len(bn.node.LinkedPeers()) != len(fc.nodes)-1 {
				return false
			}
		}
		return true
	})
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

// rawFileStream carries src's bytes over the raw stream into a new file
// dst, the way a plain tool would: the sender reads 256 KiB pieces, the
// receiver writes what it opens at its offset and syncs dst at the end. It
// is a fetch's disk and link work without its hashing and protocol. dst is
// removed afterwards.
func rawFileStream(ctx context.Context, src, dst string) (time.Duration, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(dst)
	defer out.Close()
	var off int64
	return rawRun(ctx, rawEnds{
		total: int(fi.Size()),
		next: func(buf []byte) ([]byte, error) {
			n, err := in.ReadAt(buf, off)
			off += int64(n)
			if n > 0 {
				return buf[:n], nil
			}
			if err == nil {
				err = io.EOF
			}
			return nil, err
		},
		sink: func(at int, p []byte) error {
			_, err := out.WriteAt(p, int64(at))
			return err
		},
		finish: out.Sync,
	})
}

// hashCPU is the CPU time SHA-256 takes over size bytes in 256 KiB chunks
// (one buffer, in the cache: the least a receiver's check of every chunk
// can cost).
func hashCPU(size int) time.Duration {
	buf := make([]byte, 256<<10)
	start := cpuTime()
	for left := size; left > 0; left -= len(buf) {
		sha256.Sum256(buf[:min(len(buf), left)])
	}
	return cpuTime() - start
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
