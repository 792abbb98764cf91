package storage

import (
	"errors"
	"path/filepath"
	"testing"
)

// Members' states and the read position round-trip through the file,
// survive a reopen, and the read position never moves back.
func TestReceiptsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := db.RoomMembers("lobby"); err != nil || len(m) != 0 {
		t.Fatalf("a fresh file: %v, %v", m, err)
	}
	if p, err := db.ReadPosition("lobby"); err != nil || !p.IsZero() {
		t.Fatalf("a fresh file's read position: %v, %v", p, err)
	}
	bob, carol := [AuthorKeySize]byte{1}, [AuthorKeySize]byte{2}
	in := map[[AuthorKeySize]byte]MemberState{
		bob:   {Read: Position{Clock: 3, Author: carol, Seq: 2}, Heads: map[[AuthorKeySize]byte]uint64{bob: 4, carol: 2}},
		carol: {Left: true, Heads: map[[AuthorKeySize]byte]uint64{}},
	}
	if err := db.PutRoomMembers("lobby", in); err != nil {
		t.Fatal(err)
	}
	later := Position{Clock: 9, Author: bob, Seq: 1}
	for _, tc := range []struct {
		p     Position
		moved bool
	}{{later, true}, {Position{Clock: 2, Author: bob, Seq: 1}, false}, {later, false}} {
		if moved, err := db.SetReadPosition("lobby", tc.p); err != nil || moved != tc.moved {
			t.Fatalf("SetReadPosition(%v) = %v, %v; want moved %v", tc.p, moved, err, tc.moved)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.RoomMembers("lobby")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[bob].Read != in[bob].Read || got[bob].Heads[bob] != 4 || got[bob].Heads[carol] != 2 ||
		got[bob].Left || !got[carol].Left || len(got[carol].Heads) != 0 {
		t.Fatalf("after reopening: %+v", got)
	}
	if p, err := db.ReadPosition("lobby"); err != nil || p != later {
		t.Fatalf("read position after reopening: %v, %v; want %v", p, err, later)
	}
	if _, err := db.SetReadPosition("lobby", Position{Clock: 10}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("a read-only file took a read position: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// A damaged member record is reported as a damaged file, not misread.
func TestMemberRecordRefusesDamage(t *testing.T) {
	good := encodeMember(MemberState{Heads: map[[AuthorKeySize]byte]uint64{{1}: 1}})
	for _, tc := range []struct {
		name string
		rec  []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"count too large", append(append([]byte{}, good[:49]...), 0xff, 0xff, 0xff, 0xff)},
	} {
		if _, err := decodeMember(tc.rec); err == nil {
			t.Errorf("%s: decoded", tc.name)
		}
	}
	if m, err := decodeMember(good); err != nil || m.Heads[[AuthorKeySize]byte{1}] != 1 {
		t.Fatalf("the good record: %+v, %v", m, err)
	}
}
