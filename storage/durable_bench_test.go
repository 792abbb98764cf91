package storage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/bbolt"
)

// The durable-write figures of `make bench`: messages/s into history with
// the node's grouped commits, beside bare bbolt with one transaction per
// message and bare bbolt Batch. All three use the same writers, keys and
// values, and fsync every commit (bbolt's default).

// durableWriters is how many goroutines write at once: a node with 16
// links, each with a message waiting for its commit.
const durableWriters = 16

// durableValueSize is the size of an encoded signed chat message with a
// 100-byte body in a short room (what a chat frame carries).
const durableValueSize = 250

// durableMsg is the i-th message of the benchmark: 8 authors in turn, each
// with its own contiguous sequence numbers.
func durableMsg(i uint64, raw []byte) StoredMessage {
	var a [AuthorKeySize]byte
	a[0] = byte(i % 8)
	seq := i/8 + 1
	return StoredMessage{Room: "lobby", Author: a, Seq: seq, Clock: i + 1, Raw: raw}
}

// runWriters calls write(i) for i in [0, n) from durableWriters goroutines
// and reports the rate as msgs/s.
func runWriters(b *testing.B, write func(i uint64) error) {
	b.Helper()
	var next atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, durableWriters)
	b.ResetTimer()
	for range durableWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= uint64(b.N) {
					return
				}
				if err := write(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func durableValue(b *testing.B) []byte {
	raw := make([]byte, durableValueSize)
	if _, err := rand.Read(raw); err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkDurableCommitter is lanchat's path: storage.Committer.Add from
// every writer, grouped into shared transactions.
func BenchmarkDurableCommitter(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "lanchat.db"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c := NewCommitter(db, 0)
	defer c.Close()
	raw := durableValue(b)
	runWriters(b, func(i uint64) error {
		_, err := c.Add(context.Background(), durableMsg(i, raw))
		return err
	})
	st, err := db.RoomState("lobby")
	if err != nil || st.Count != uint64(b.N) {
		b.Fatalf("stored %d of %d messages: %v", st.Count, b.N, err)
	}
}

// durableWindow is how many writes one link keeps in flight: the chat
// package's per-link delivery queue (chat.deliveryQueue).
const durableWindow = 64

// BenchmarkDurableCommitterPipelined is a node's receive path: one link
// submits each message as it arrives (storage.Committer.Submit) and a second
// goroutine waits for the commits in order, with at most durableWindow
// writes in flight.
func BenchmarkDurableCommitterPipelined(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "lanchat.db"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c := NewCommitter(db, 0)
	defer c.Close()
	raw := durableValue(b)
	pending := make(chan Pending, durableWindow)
	waited := make(chan error, 1)
	b.ResetTimer()
	go func() {
		var first error
		for p := range pending {
			if _, err := p.Wait(); err != nil && first == nil {
				first = err
			}
		}
		waited <- first
	}()
	for i := range uint64(b.N) {
		p, err := c.Submit(context.Background(), durableMsg(i, raw))
		if err != nil {
			b.Fatal(err)
		}
		pending <- p
	}
	close(pending)
	if err := <-waited; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	st, err := db.RoomState("lobby")
	if err != nil || st.Count != uint64(b.N) {
		b.Fatalf("stored %d of %d messages: %v", st.Count, b.N, err)
	}
}

// openBareBolt opens a plain bbolt file with one bucket.
func openBareBolt(b *testing.B) *bbolt.DB {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("o"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return db
}

// bareKey is the key lanchat's order index would give the message.
func bareKey(m StoredMessage) []byte {
	k := binary.BigEndian.AppendUint64(nil, m.Clock)
	k = append(k, m.Author[:]...)
	return binary.BigEndian.AppendUint64(k, m.Seq)
}

// BenchmarkDurableBoltTxPerMessage is the baseline without grouping: one
// bbolt Update (one fsync) per message, one Put each.
func BenchmarkDurableBoltTxPerMessage(b *testing.B) {
	db := openBareBolt(b)
	raw := durableValue(b)
	runWriters(b, func(i uint64) error {
		m := durableMsg(i, raw)
		return db.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("o")).Put(bareKey(m), m.Raw) })
	})
}

// BenchmarkDurableBoltBatch is bbolt's own grouping, db.Batch, with its
// default MaxBatchSize and MaxBatchDelay.
func BenchmarkDurableBoltBatch(b *testing.B) {
	db := openBareBolt(b)
	raw := durableValue(b)
	runWriters(b, func(i uint64) error {
		m := durableMsg(i, raw)
		return db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("o")).Put(bareKey(m), m.Raw) })
	})
}
