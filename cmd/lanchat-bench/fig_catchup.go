//go:build unix

package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// runCatchUp: two nodes, one missed N messages; seconds from link up until
// it has stored them all, against the same bytes over one raw link.
func runCatchUp(ctx context.Context, b *bench) ([]row, error) {
	c, err := b.getCorpus()
	if err != nil {
		return nil, err
	}
	n := b.size.catchUp
	b.note(fmt.Sprintf("# catch-up: two in-process nodes, %d messages (see cmd/lanchat-bench/fig_catchup.go)", n))
	msgs, err := b.catchUpMessages(c, n)
	if err != nil {
		return nil, err
	}
	raws := make([][]byte, len(msgs))
	for i := range msgs {
		raws[i] = msgs[i].Raw
	}
	// The verify baseline runs just before and just after the catch-up,
	// and the mean is kept: on a shared machine the load moves between
	// the two.
	cpu0 := cpuTime()
	verifyBefore, err := verifyAllCores(raws)
	if err != nil {
		return nil, fmt.Errorf("verify baseline: %w", err)
	}
	verifyCPU := cpuTime() - cpu0
	took, sinceStart, catchCPU, err := lanchatCatchUp(ctx, b, c.authors[0], msgs)
	if err != nil {
		return nil, err
	}
	base, err := rawLinkTransfer(ctx, raws)
	if err != nil {
		return nil, fmt.Errorf("raw link baseline: %w", err)
	}
	verifyAfter, err := verifyAllCores(raws)
	if err != nil {
		return nil, fmt.Errorf("verify baseline: %w", err)
	}
	verify := (verifyBefore + verifyAfter) / 2
	target, ok := "—", check(nil)
	if n >= 100_000 {
		target, ok = "≤ 5 s", func(l, _ float64) bool { return l <= 5 }
	}
	catchUp := fmt.Sprintf("catch-up: %s missed messages, link up → all stored", thousands(float64(n)))
	return []row{
		compared(catchUp, measure{took.Seconds(), "s", ""}, measure{base.Seconds(), "s", "same bytes over one raw TCP + ChaCha20-Poly1305 link"}, target, ok),
		compared(catchUp, measure{took.Seconds(), "s", ""},
			measure{verify.Seconds(), "s", fmt.Sprintf("decode + single Ed25519 verify of the same messages in memory, %d goroutines, mean of a run before and one after", runtime.GOMAXPROCS(0))},
			"≤ 1.2×", func(l, b float64) bool { return l <= 1.2*b }),
		compared(fmt.Sprintf("catch-up: %s missed messages, CPU time of both nodes, link up → all stored", thousands(float64(n))),
			measure{catchCPU.Seconds(), "s", ""}, measure{verifyCPU.Seconds(), "s", "CPU time of the decode + single verify baseline"}, "—", nil),
		alone(fmt.Sprintf("catch-up: %s missed messages, node start → all stored", thousands(float64(n))),
			measure{sinceStart.Seconds(), "s", ""}, "—", nil),
	}, nil
}

// catchUpMessages returns the corpus's first n messages (signed now unless
// the history figure already did).
func (b *bench) catchUpMessages(c *corpus, n int) ([]storage.StoredMessage, error) {
	for from := 0; from < n; from += fillChunk {
		to := min(from+fillChunk, n)
		c.keep(c.messages(from, to), from, n)
	}
	msgs := c.messages(0, n)
	if len(msgs) != n {
		return nil, fmt.Errorf("corpus has %d messages, want %d", len(msgs), n)
	}
	return msgs, nil
}

// lanchatCatchUp starts a node holding msgs (as the corpus's first author)
// and then an empty one that dials it, and times the empty one's catch-up
// (wall time from link up and from its start, and the process's CPU time,
// both nodes, from link up).
func lanchatCatchUp(ctx context.Context, b *bench, owner *lcrypto.Identity, msgs []storage.StoredMessage) (fromLink, fromStart, cpu time.Duration, err error) {
	dir, err := b.dir("catchup")
	if err != nil {
		return 0, 0, 0, err
	}
	late, err := newIdentity()
	if err != nil {
		return 0, 0, 0, err
	}
	full, err := openStore(dir, "full", late.Public())
	if err != nil {
		return 0, 0, 0, err
	}
	for from := 0; from < len(msgs); from += fillChunk {
		if _, err := full.AddMessages(msgs[from:min(from+fillChunk, len(msgs))]); err != nil {
			full.Close()
			return 0, 0, 0, err
		}
	}
	a, err := startNode(ctx, loopbackConfig(owner, full, 0, 2))
	if err != nil {
		full.Close()
		return 0, 0, 0, err
	}
	defer a.stop()
	empty, err := openStore(dir, "late", owner.Public())
	if err != nil {
		return 0, 0, 0, err
	}
	cfg := loopbackConfig(late, empty, 0, 2)
	cfg.StaticPeers = []string{a.addr}
	start := time.Now()
	bn, err := startNode(ctx, cfg)
	if err != nil {
		empty.Close()
		return 0, 0, 0, err
	}
	defer bn.stop()
	up, err := bn.waitEvent(ctx, 10*time.Second, "link up", peerEvent(chat.EventPeerUp, owner.Public()))
	if err != nil {
		return 0, 0, 0, err
	}
	bn.unsub() // the catch-up's message events are not needed
	cpu0 := cpuTime()
	want := uint64(len(msgs))
	var have uint64
	err = waitUntil(ctx, 5*time.Minute, 5*time.Millisecond, "catch-up", func() bool {
		st, err := empty.RoomState(chat.DefaultRoom)
		have = st.Count
		return err == nil && st.Count >= want
	})
	done, cpu := time.Now(), cpuTime()-cpu0
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w (%d of %d stored)", err, have, want)
	}
	return done.Sub(up.Time), done.Sub(start), cpu, nil
}

// verifyAllCores times decoding and verifying each of raws singly (as a
// node without batch verification would), spread over GOMAXPROCS
// goroutines: the catch-up's verify bound on this machine.
func verifyAllCores(raws [][]byte) (time.Duration, error) {
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raws); i += workers {
				m, err := chat.DecodeMessage(raws[i])
				if err == nil {
					err = m.Verify()
				}
				if err != nil {
					errs[w] = fmt.Errorf("message %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return took, nil
}
