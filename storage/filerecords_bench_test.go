package storage

import (
	"bytes"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkFileRecords: putting a 300-byte file record (one durable
// transaction each) and reading all 1,000 records of a kind back.
func BenchmarkFileRecords(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "lanchat.db"), DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := bytes.Repeat([]byte("x"), 300)
	b.Run("put", func(b *testing.B) {
		for i := range b.N {
			if err := db.PutFileRecord("fetch", strconv.Itoa(i), val); err != nil {
				b.Fatal(err)
			}
		}
	})
	for i := range 1000 {
		if err := db.PutFileRecord("share", strconv.Itoa(i), val); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("read-1000", func(b *testing.B) {
		for range b.N {
			if recs, _, err := db.FileRecords("share"); err != nil || len(recs) != 1000 {
				b.Fatal(len(recs), err)
			}
		}
	})
}
