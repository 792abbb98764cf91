package storage

import (
	"bytes"
	"crypto/rand"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

// The cost of sealing in `make bench`: reading the newest 100 messages of
// a room of sealedBenchMsgs, through History (records opened), beside the
// same read on the plaintext layout the landed code used (schema 1: the
// room's bucket by name, the records in the clear: a cursor and a copy,
// which is what its History did); and storing messages, sealed, beside
// storing them in the clear.

const (
	sealedBenchMsgs  = 100_000
	sealedBenchLimit = 100
)

func benchRaw() []byte {
	raw := make([]byte, durableValueSize)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return raw
}

func BenchmarkHistorySealed(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "lanchat.db"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw := benchRaw()
	for start := uint64(0); start < sealedBenchMsgs; start += 10_000 {
		var msgs []StoredMessage
		for i := start; i < start+10_000; i++ {
			msgs = append(msgs, durableMsg(i, raw))
		}
		if _, err := db.AddMessages(msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := db.History(HistoryQuery{Rooms: []string{"lobby"}, Limit: sealedBenchLimit})
		if err != nil || len(got) != sealedBenchLimit || !bytes.Equal(got[0].Raw, raw) {
			b.Fatalf("history: %d, %v", len(got), err)
		}
	}
}

func BenchmarkHistoryPlaintext(b *testing.B) {
	bdb, err := bbolt.Open(filepath.Join(b.TempDir(), "plain.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	raw := benchRaw()
	for start := uint64(0); start < sealedBenchMsgs; start += 10_000 {
		err := bdb.Update(func(tx *bbolt.Tx) error {
			r, err := tx.CreateBucketIfNotExists([]byte("lobby"))
			if err != nil {
				return err
			}
			o, err := r.CreateBucketIfNotExists(bktOrder)
			if err != nil {
				return err
			}
			o.FillPercent = 0.9
			for i := start; i < start+10_000; i++ {
				m := durableMsg(i, raw)
				if err := o.Put(orderKey(m.Clock, m.Author, m.Seq), raw); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		var got [][]byte
		err := bdb.View(func(tx *bbolt.Tx) error {
			c := tx.Bucket([]byte("lobby")).Bucket(bktOrder).Cursor()
			for k, v := c.Last(); k != nil && len(got) < sealedBenchLimit; k, v = c.Prev() {
				got = append(got, bytes.Clone(v))
			}
			return nil
		})
		if err != nil || len(got) != sealedBenchLimit {
			b.Fatalf("plain read: %d, %v", len(got), err)
		}
	}
}

// BenchmarkSealRecord and BenchmarkOpenRecord: one message record of
// durableValueSize bytes.
func BenchmarkSealRecord(b *testing.B) {
	k := fuzzKeyring(b)
	raw, ad := benchRaw(), recordAD(orderKey(1, [AuthorKeySize]byte{1}, 1), bucketMessages, []byte("room-id-16-bytes"), bktOrder)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		_ = k.seal(raw, ad)
	}
}

func BenchmarkOpenRecord(b *testing.B) {
	k := fuzzKeyring(b)
	raw, ad := benchRaw(), recordAD(orderKey(1, [AuthorKeySize]byte{1}, 1), bucketMessages, []byte("room-id-16-bytes"), bktOrder)
	sealed := k.seal(raw, ad)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := k.open(sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}
