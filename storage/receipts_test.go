package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
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

// TestReceiptsSealed: neither the members of a room nor how far each read
// is in the file in the clear (member keys and positions as markers); the
// records an older lanchat wrote in the clear are read, re-sealed by the
// next write of the room's receipts and gone after a compaction; a sealed
// member record moved to another member's key does not open.
func TestReceiptsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := Open(path, DefaultOptions())
	must(t, err)
	var bob, carol, dave [AuthorKeySize]byte
	for i, k := range []*[AuthorKeySize]byte{&bob, &carol, &dave} {
		copy(k[:], marker(t, "member"+string(rune('a'+i))))
	}
	pos := Position{Clock: 0x4d41524b45523031, Author: carol, Seq: 0x4d41524b45523032} // "MARKER01", "MARKER02"
	must(t, db.PutRoomMembers("lobby", map[[AuthorKeySize]byte]MemberState{bob: {Read: pos, Heads: map[[AuthorKeySize]byte]uint64{bob: 4}}}))
	// dave's record and the read position as the landed code wrote them.
	must(t, db.update(func(tx *bbolt.Tx) error {
		k, err := db.ring()
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketReceipts).Bucket(k.roomID("lobby"))
		if err := b.Put(append([]byte("m"), dave[:]...), encodeMember(MemberState{Left: true, Read: pos, Heads: map[[AuthorKeySize]byte]uint64{}})); err != nil {
			return err
		}
		return b.Put(keyReadPos, orderKey(pos.Clock, pos.Author, pos.Seq))
	}))
	if !fileHas(t, path, dave[:]) {
		t.Fatal("the legacy record is not in the file: the scan proves nothing")
	}
	got, err := db.RoomMembers("lobby")
	must(t, err)
	if len(got) != 2 || got[bob].Read != pos || !got[dave].Left || got[dave].Read != pos {
		t.Fatalf("members with a legacy record: %+v", got)
	}
	if p, err := db.ReadPosition("lobby"); err != nil || p != pos {
		t.Fatalf("legacy read position: %v, %v", p, err)
	}
	must(t, db.PutRoomMembers("lobby", map[[AuthorKeySize]byte]MemberState{carol: {Heads: map[[AuthorKeySize]byte]uint64{carol: 1}}}))
	must(t, db.Compact())
	got, err = db.RoomMembers("lobby")
	must(t, err)
	if len(got) != 3 || !got[dave].Left || got[dave].Read != pos || got[carol].Heads[carol] != 1 {
		t.Fatalf("members after re-sealing: %+v", got)
	}
	if p, err := db.ReadPosition("lobby"); err != nil || p != pos {
		t.Fatalf("read position after re-sealing: %v, %v", p, err)
	}
	must(t, db.Close())
	for _, m := range [][]byte{bob[:], carol[:], dave[:], []byte("MARKER01"), []byte("MARKER02")} {
		if fileHas(t, path, m) {
			t.Errorf("the file holds %q", m)
		}
	}
	checkFile(t, path)

	db, err = Open(path, DefaultOptions())
	must(t, err)
	defer db.Close()
	must(t, db.update(func(tx *bbolt.Tx) error { // bob's sealed value under carol's key
		k, err := db.ring()
		if err != nil {
			return err
		}
		id := k.roomID("lobby")
		b := tx.Bucket(bucketReceipts).Bucket(id)
		return b.Put(memberKey(k, id, carol), bytes.Clone(b.Get(memberKey(k, id, bob))))
	}))
	got, err = db.RoomMembers("lobby")
	must(t, err)
	if _, ok := got[carol]; ok || len(got) != 2 {
		t.Fatalf("a moved record was read: %+v", got)
	}
}

// PutMembersOfRooms stores many rooms' member states at once, each under
// its own room, as PutRoomMembers does one by one.
func TestPutMembersOfRooms(t *testing.T) {
	db := openTestDB(t)
	bob, carol := [AuthorKeySize]byte{1}, [AuthorKeySize]byte{2}
	in := map[string]map[[AuthorKeySize]byte]MemberState{
		"lobby": {bob: {Heads: map[[AuthorKeySize]byte]uint64{bob: 7}}},
		"ops":   {bob: {Left: true}, carol: {Read: Position{Clock: 5, Author: bob, Seq: 1}}},
		"empty": {},
	}
	if err := db.PutMembersOfRooms(in); err != nil {
		t.Fatal(err)
	}
	lobby, err := db.RoomMembers("lobby")
	if err != nil || len(lobby) != 1 || lobby[bob].Heads[bob] != 7 || lobby[bob].Left {
		t.Fatalf("lobby: %+v, %v", lobby, err)
	}
	ops, err := db.RoomMembers("ops")
	if err != nil || len(ops) != 2 || !ops[bob].Left || ops[carol].Read != in["ops"][carol].Read || len(ops[carol].Heads) != 0 {
		t.Fatalf("ops: %+v, %v", ops, err)
	}
	if m, err := db.RoomMembers("other"); err != nil || len(m) != 0 {
		t.Fatalf("a room not written: %+v, %v", m, err)
	}
}
