package chat

import (
	"context"
	"crypto/rand"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
	"github.com/lanchat/lanchat/storage"
)

// The chat-receive figure of `make bench`: signed chat messages arriving on
// one link, each verified, stored durably and shown (an event), beside the
// decode and signature check of the same messages in memory. Both report
// msgs/s (wall time) and msgs/s/core (messages per CPU second of the whole
// process: the sending end of the link is counted too).

// benchBody is a 100-byte message body.
var benchBody = strings.Repeat("lanchat benchmark text. ", 5)[:100]

// signedBatch returns n signed messages by id in room lobby, seq 1..n,
// encoded, signed on every core.
func signedBatch(b *testing.B, id *lcrypto.Identity, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	now := time.Now()
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				m := Message{Room: DefaultRoom, Seq: uint64(i + 1), Clock: uint64(i + 1), Time: now, Body: benchBody}
				m.Sign(id)
				out[i] = m.Encode()
			}
		}()
	}
	wg.Wait()
	return out
}

func benchIdentity(b *testing.B) *lcrypto.Identity {
	b.Helper()
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// benchNode runs a node that trusts peer, without discovery, until the
// benchmark ends, and returns it with its event stream.
func benchNode(b *testing.B, peer lcrypto.IdentityKey, events int) (*Node, <-chan Event) {
	b.Helper()
	store, err := storage.Open(filepath.Join(b.TempDir(), "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Trust(peer.Fingerprint(), "sender"); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Identity = benchIdentity(b)
	cfg.Store = store
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.NoDiscovery = true
	cfg.EventBuffer = events
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	evs, _ := n.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("node: %v", err)
		}
		store.Close()
	})
	return n, evs
}

// benchSender links to n as a trusted member in the lobby, with a plain
// session link (no node behind it), and drains what n sends back.
func benchSender(b *testing.B, n *Node, id *lcrypto.Identity) *session.Link {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := n.Addr(ctx)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		b.Fatal(err)
	}
	cfg := session.DefaultConfig()
	cfg.Identity = id
	cfg.Trusted = func(k lcrypto.IdentityKey) bool { return k == n.Identity() }
	cfg.Hello = hello{Nick: "sender", Rooms: []string{DefaultRoom}}.encode()
	link, err := session.Dial(ctx, conn, cfg)
	if err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, err := link.Recv(context.Background()); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { link.Close("benchmark over"); <-drained })
	return link
}

// BenchmarkChatReceiveOneLink: b.N signed 100-byte messages sent on one link
// to a running node; the clock stops when the node has shown the last one,
// which it does only after the message is durable.
func BenchmarkChatReceiveOneLink(b *testing.B) {
	sender := benchIdentity(b)
	msgs := signedBatch(b, sender, b.N)
	n, events := benchNode(b, sender.Public(), b.N+64)
	link := benchSender(b, n, sender)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cpu0, _ := processCPU()
	b.ResetTimer()
	sent := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := link.SendWait(ctx, frameChat, m); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for shown := 0; shown < b.N; {
		select {
		case ev := <-events:
			if ev.Kind == EventMessage {
				shown++
			}
		case err := <-sent:
			if err != nil {
				b.Fatalf("sending: %v", err)
			}
			sent = nil
		case <-ctx.Done():
			b.Fatalf("only %d of %d messages shown", shown, b.N)
		}
	}
	b.StopTimer()
	reportRates(b, cpu0)
}

// reportRates adds messages per second of wall time and per CPU second.
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu1, ok := processCPU(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "msgs/s/core")
	}
}

// BenchmarkChatVerifyOnly is the baseline: decoding and checking the
// signature of the same messages in memory, nothing else.
func BenchmarkChatVerifyOnly(b *testing.B) {
	msgs := signedBatch(b, benchIdentity(b), b.N)
	cpu0, _ := processCPU()
	b.ResetTimer()
	for _, raw := range msgs {
		m, err := DecodeMessage(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRates(b, cpu0)
}
