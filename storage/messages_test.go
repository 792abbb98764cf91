package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "lanchat.db"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		db.Close()
	})
	return db
}

func msg(room string, author byte, seq, clock uint64) StoredMessage {
	var a [AuthorKeySize]byte
	a[0] = author
	return StoredMessage{Room: room, Author: a, Seq: seq, Clock: clock,
		Raw: []byte(fmt.Sprintf("%s/%d/%d/%d", room, author, seq, clock))}
}

func TestAddMessagesDedupAndHeads(t *testing.T) {
	db := openTestDB(t)
	added, err := db.AddMessages([]StoredMessage{msg("r", 1, 1, 1), msg("r", 1, 3, 3), msg("r", 1, 1, 1), msg("r", 2, 1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true}; fmt.Sprint(added) != fmt.Sprint(want) {
		t.Fatalf("added = %v, want %v", added, want)
	}
	st, err := db.RoomState("r")
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := msg("r", 1, 0, 0).Author, msg("r", 2, 0, 0).Author
	if st.Heads[a1] != 1 || st.Heads[a2] != 1 || st.MaxClock != 3 || st.Count != 3 {
		t.Fatalf("state = %+v, want heads 1/1 (gap at seq 2), clock 3, count 3", st)
	}
	// Filling the gap moves the head past everything present.
	if _, err := db.AddMessages([]StoredMessage{msg("r", 1, 2, 2)}); err != nil {
		t.Fatal(err)
	}
	st, _ = db.RoomState("r")
	if st.Heads[a1] != 3 {
		t.Fatalf("head = %d after filling the gap, want 3", st.Heads[a1])
	}
	after, err := db.MessagesAfter("r", a1, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[0].Seq != 2 || after[1].Seq != 3 {
		t.Fatalf("MessagesAfter = %+v, want seqs 2, 3", after)
	}
}

func TestHistoryTotalOrderAcrossRooms(t *testing.T) {
	db := openTestDB(t)
	in := []StoredMessage{msg("b", 2, 1, 5), msg("a", 1, 1, 1), msg("a", 2, 1, 1), msg("b", 1, 1, 3), msg("a", 1, 2, 4)}
	if _, err := db.AddMessages(in); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		q     HistoryQuery
		clock []uint64
	}{
		{"all rooms", HistoryQuery{}, []uint64{1, 1, 3, 4, 5}},
		{"newest 2", HistoryQuery{Limit: 2}, []uint64{4, 5}},
		{"one room", HistoryQuery{Rooms: []string{"a"}}, []uint64{1, 1, 4}},
		{"missing room", HistoryQuery{Rooms: []string{"zzz"}}, nil},
		{"match", HistoryQuery{Match: func(raw []byte) bool { return raw[0] == 'b' }}, []uint64{3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.History(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var clocks []uint64
			for _, m := range got {
				clocks = append(clocks, m.Clock)
			}
			if fmt.Sprint(clocks) != fmt.Sprint(tt.clock) {
				t.Fatalf("clocks = %v, want %v", clocks, tt.clock)
			}
		})
	}
	// Ties on the clock break by author key.
	got, _ := db.History(HistoryQuery{Rooms: []string{"a"}, Limit: 3})
	if got[0].Author[0] != 1 || got[1].Author[0] != 2 {
		t.Fatal("equal clocks are not ordered by author key")
	}
}

func TestCommitterGroupsConcurrentWriters(t *testing.T) {
	db := openTestDB(t)
	c := NewCommitter(db, 0)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				added, err := c.Add(context.Background(), msg("r", byte(w), uint64(i), uint64(i)))
				if err != nil || len(added) != 1 || !added[0] {
					errs <- fmt.Errorf("writer %d message %d: added=%v err=%v", w, i, added, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Add(context.Background(), msg("r", 0, 99, 99)); err != ErrCommitterClosed {
		t.Fatalf("Add after Close: %v, want ErrCommitterClosed", err)
	}
	st, err := db.RoomState("r")
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != writers*each {
		t.Fatalf("stored %d messages, want %d", st.Count, writers*each)
	}
}

// A batch of duplicates writes nothing (no page write, no fsync).
func TestAddOnlyDuplicatesWritesNothing(t *testing.T) {
	db := openTestDB(t)
	in := []StoredMessage{msg("r", 1, 1, 1), msg("r", 1, 2, 2)}
	if _, err := db.AddMessages(in); err != nil {
		t.Fatal(err)
	}
	writes := func() int64 { st := db.bolt.Stats(); return st.TxStats.GetWrite() }
	before := writes()
	added, err := db.AddMessages(in)
	if err != nil || added[0] || added[1] {
		t.Fatalf("AddMessages of duplicates = %v, %v; want none added", added, err)
	}
	if after := writes(); after != before {
		t.Fatalf("duplicates caused %d page writes", after-before)
	}
}
