package storage

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestAddMessagesBatchEqualsOneByOne: one transaction of many messages of
// several rooms and authors, out of order and with duplicates, leaves the
// rooms exactly as adding them one at a time does (heads, highest clock,
// count, which were new, the history's order).
func TestAddMessagesBatchEqualsOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var msgs []StoredMessage
	for i := 0; i < 400; i++ {
		room := []string{"a", "b", "c"}[rng.IntN(3)]
		author := byte(rng.IntN(5))
		seq := uint64(rng.IntN(40) + 1)
		msgs = append(msgs, msg(room, author, seq, seq*3+uint64(author)))
	}
	batched, single := openTestDB(t), openTestDB(t)
	var gotAdded []bool
	for i := 0; i < len(msgs); i += 37 { // batches of 37, the last shorter
		added, err := batched.AddMessages(msgs[i:min(i+37, len(msgs))])
		if err != nil {
			t.Fatal(err)
		}
		gotAdded = append(gotAdded, added...)
	}
	var wantAdded []bool
	for i := range msgs {
		added, err := single.AddMessages(msgs[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		wantAdded = append(wantAdded, added...)
	}
	if !reflect.DeepEqual(gotAdded, wantAdded) {
		t.Fatalf("batched added = %v\nwant %v", gotAdded, wantAdded)
	}
	for _, room := range []string{"a", "b", "c"} {
		got, err := batched.RoomState(room)
		if err != nil {
			t.Fatal(err)
		}
		want, err := single.RoomState(room)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("room %s: batched state %+v, one by one %+v", room, got, want)
		}
		gh, err := batched.History(HistoryQuery{Rooms: []string{room}})
		if err != nil {
			t.Fatal(err)
		}
		wh, err := single.History(HistoryQuery{Rooms: []string{room}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gh, wh) {
			t.Fatalf("room %s: histories differ", room)
		}
	}
}

// TestCommitterHold: while held, a submitted write is not in the file and
// its Wait does not return; released, it lands and Wait reports it new.
func TestCommitterHold(t *testing.T) {
	db := openTestDB(t)
	c := NewCommitter(db, 0)
	defer c.Close()
	release := c.Hold()
	m := msg("r", 1, 1, 1)
	p, err := c.Submit(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan []bool, 1)
	go func() {
		added, err := p.Wait()
		if err != nil {
			added = nil
		}
		waited <- added
	}()
	pres, err := db.CompareMessages([]StoredMessage{m})
	if err != nil {
		t.Fatal(err)
	}
	if pres[0] != Absent {
		t.Fatal("a held write is in the file")
	}
	select {
	case <-waited:
		t.Fatal("Wait returned while the commit is held")
	default:
	}
	release()
	release() // a second call does nothing
	if added := <-waited; len(added) != 1 || !added[0] {
		t.Fatalf("released write: added = %v, want [true]", added)
	}
	// Later writes are not held.
	if added, err := c.Add(context.Background(), msg("r", 1, 2, 2)); err != nil || !added[0] {
		t.Fatalf("write after release: %v, %v", added, err)
	}
}

// TestCommitterReusesReplies: a reply handed back by Wait carries the next
// write's outcome, not a stale one.
func TestCommitterReusesReplies(t *testing.T) {
	db := openTestDB(t)
	c := NewCommitter(db, 0)
	defer c.Close()
	for i := uint64(1); i <= 50; i++ {
		for _, want := range []bool{true, false} { // new, then a duplicate
			added, err := c.Add(context.Background(), msg("r", 1, i, i))
			if err != nil || len(added) != 1 || added[0] != want {
				t.Fatalf("message %d: added = %v, %v; want [%v]", i, added, err, want)
			}
		}
	}
}
