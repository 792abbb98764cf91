package chat

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lanchat/lanchat/storage"
)

// The cost of a relayed copy of a stored message: dropped by its bytes
// (recent.go) against the path every copy took before, decoding, the
// in-flight check and the store lookup (CompareMessages) that finds it
// stored. Neither counts the link's decryption, which both pay.

// storedCopy returns a node (not running) whose store holds the message
// whose encoding it also returns (not in its recent set).
func storedCopy(b *testing.B) (*Node, []byte) {
	b.Helper()
	store, err := storage.Open(filepath.Join(b.TempDir(), "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	cfg := DefaultConfig()
	cfg.Identity, cfg.Store, cfg.NoDiscovery = benchIdentity(b), store, true
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.committer().Close() })
	raw := signedBatch(b, benchIdentity(b), 1)[0]
	m, err := DecodeMessage(raw)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := n.committer().Add(context.Background(), toStored(&m, raw)); err != nil {
		b.Fatal(err)
	}
	return n, raw
}

func BenchmarkDuplicateRecent(b *testing.B) {
	n, raw := storedCopy(b)
	n.recent.add(raw) // as screen does when it claims a message
	b.ReportAllocs()
	for b.Loop() {
		if !n.recent.has(raw) {
			b.Fatal("the stored copy is not recent")
		}
	}
}

func BenchmarkDuplicateFullPath(b *testing.B) {
	n, raw := storedCopy(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		msgs, _, err := n.screenWith(ctx, nil, [][]byte{raw}, func(m *Message) bool {
			return n.room(m.Room) != nil && !n.inflight.has(m)
		})
		if err != nil || len(msgs) != 0 {
			b.Fatalf("the stored copy was kept: %v", err)
		}
	}
}
