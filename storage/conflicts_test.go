package storage

import (
	"fmt"
	"slices"
	"testing"
)

func TestCompareMessages(t *testing.T) {
	db := openTestDB(t)
	if _, err := db.AddMessages([]StoredMessage{msg("r", 1, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	other := msg("r", 1, 1, 1)
	other.Raw = []byte("another copy")
	got, err := db.CompareMessages([]StoredMessage{msg("r", 1, 1, 1), other, msg("r", 1, 2, 2), msg("nope", 1, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Presence{Same, Differs, Absent, Absent}; !slices.Equal(got, want) {
		t.Fatalf("CompareMessages = %v, want %v", got, want)
	}
}

func TestReplaceMessageMovesItInTheOrder(t *testing.T) {
	db := openTestDB(t)
	if _, err := db.AddMessages([]StoredMessage{msg("r", 1, 1, 5), msg("r", 2, 1, 7)}); err != nil {
		t.Fatal(err)
	}
	old := msg("r", 1, 1, 5)
	next := msg("r", 1, 1, 9)
	if ok, err := db.ReplaceMessage(old, next); err != nil || !ok {
		t.Fatalf("ReplaceMessage = %v, %v", ok, err)
	}
	// The old copy is no longer stored: a second replacement of it fails.
	if ok, err := db.ReplaceMessage(old, msg("r", 1, 1, 3)); err != nil || ok {
		t.Fatalf("replacing a copy no longer stored = %v, %v", ok, err)
	}
	h, err := db.History(HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, m := range h {
		raws = append(raws, string(m.Raw))
	}
	if want := []string{"r/2/1/7", "r/1/1/9"}; !slices.Equal(raws, want) {
		t.Fatalf("history = %q, want %q", raws, want)
	}
	st, err := db.RoomState("r")
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 2 || st.MaxClock != 9 {
		t.Fatalf("room state %+v: want count 2, clock 9", st)
	}
	if m, ok, err := db.Message("r", next.Author, 1); err != nil || !ok || string(m.Raw) != "r/1/1/9" || m.Clock != 9 {
		t.Fatalf("Message = %+v, %v, %v", m, ok, err)
	}
	if _, err := db.ReplaceMessage(old, msg("r", 1, 2, 5)); err == nil {
		t.Fatal("replacing a message by another sequence number worked")
	}
}

func TestEquivocatorMarks(t *testing.T) {
	db := openTestDB(t)
	a := msg("r", 1, 1, 1).Author
	for i, seq := range []uint64{4, 2} {
		added, err := db.MarkEquivocator("r", a, seq, []byte(fmt.Sprint("evidence ", seq)))
		if err != nil || added != (i == 0) {
			t.Fatalf("mark %d: added = %v, %v", i, added, err)
		}
	}
	got, err := db.Equivocators("r")
	if err != nil || len(got) != 1 || got[a].Seq != 4 || string(got[a].Other) != "evidence 4" {
		t.Fatalf("Equivocators = %v, %v; want the first mark: seq 4 and its evidence", got, err)
	}
	if got, err := db.Equivocators("other"); err != nil || len(got) != 0 {
		t.Fatalf("another room: %v, %v", got, err)
	}
	// Marks do not disturb the room's messages or state.
	if _, err := db.AddMessages([]StoredMessage{msg("r", 1, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if st, err := db.RoomState("r"); err != nil || st.Count != 1 || st.MaxClock != 1 {
		t.Fatalf("room state %+v, %v", st, err)
	}
}

func TestJoinedRoomsAreRemembered(t *testing.T) {
	db := openTestDB(t)
	for _, set := range [][]string{{"lobby", "dev"}, {"dev"}} {
		if err := db.SetJoinedRooms(set); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.JoinedRooms()
	if err != nil || !slices.Equal(got, []string{"dev"}) {
		t.Fatalf("JoinedRooms = %v, %v; want [dev]", got, err)
	}
}
