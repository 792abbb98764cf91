package storage

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// fastKDF seals in microseconds: for tests only.
var fastKDF = lcrypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func marker(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + "mk" + hex.EncodeToString(b)
}

// newSealedDB makes a database whose data key is sealed with pass, and an
// identity (with nickname nick) sealed with it too.
func newSealedDB(t *testing.T, path string, pass []byte, nick string) *DB {
	t.Helper()
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SealDataKey(pass, fastKDF); err != nil {
		t.Fatal(err)
	}
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, static := id.NoiseStatic()
	sealed, err := lcrypto.Seal(id.MarshalSecret(), pass, fastKDF, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutIdentity(IdentityRecord{Key: id.Public(), NoiseStatic: static, Secret: sealed, Sealed: true, Nickname: nick}); err != nil {
		t.Fatal(err)
	}
	return db
}

func msgIn(room string, author byte, seq, clock uint64, body string) StoredMessage {
	return StoredMessage{Room: room, Author: [AuthorKeySize]byte{author}, Seq: seq, Clock: clock, Raw: []byte("body:" + body)}
}

// fileHas reports whether the file at path holds s, as it is or lower-cased.
func fileHas(t *testing.T, path string, s []byte) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, s) || bytes.Contains(bytes.ToLower(b), bytes.ToLower(s))
}

// TestNoPlaintextInFile: nothing a user wrote or received — bodies, room
// names, nicknames, trusted-peer names, equivocation evidence — is found in
// the file, also after replacing, forgetting and compacting; and all of it
// reads back.
func TestNoPlaintextInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	nick, room, peer := marker(t, "nick"), marker(t, "room"), marker(t, "peer")
	db := newSealedDB(t, path, []byte("pass"), nick)
	var bodies []string
	var msgs []StoredMessage
	for i := range 50 {
		b := marker(t, "body")
		bodies = append(bodies, b)
		msgs = append(msgs, msgIn(room, 1, uint64(i+1), uint64(i+1), b))
	}
	if _, err := db.AddMessages(msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Trust(lcrypto.Fingerprint{7}, peer); err != nil {
		t.Fatal(err)
	}
	if err := db.SetJoinedRooms([]string{room}); err != nil {
		t.Fatal(err)
	}
	evidence := marker(t, "evidence")
	if _, err := db.MarkEquivocator(room, [AuthorKeySize]byte{1}, 3, []byte(evidence)); err != nil {
		t.Fatal(err)
	}
	replaced := marker(t, "replaced")
	next := msgIn(room, 1, 2, 2, replaced)
	if ok, err := db.ReplaceMessage(msgs[1], next); err != nil || !ok {
		t.Fatalf("replace: %v %v", ok, err)
	}
	if n, err := db.Forget(room, func(m StoredMessage) bool { return m.Seq <= 10 }); err != nil || n != 10 {
		t.Fatalf("forget: %d, %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	all := append([]string{nick, room, peer, evidence, replaced}, bodies...)
	for _, m := range all {
		if fileHas(t, path, []byte(m)) {
			t.Errorf("the file holds %q in the clear", m)
		}
	}
	checkFile(t, path)

	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock([]byte("pass")); err != nil {
		t.Fatal(err)
	}
	if rec, err := db.Identity(); err != nil || rec.Nickname != nick {
		t.Errorf("nickname %q, %v; want %q", rec.Nickname, err, nick)
	}
	if rooms, err := db.JoinedRooms(); err != nil || len(rooms) != 1 || rooms[0] != room {
		t.Errorf("joined rooms %q, %v", rooms, err)
	}
	if rooms, err := db.MessageRooms(); err != nil || len(rooms) != 1 || rooms[0] != room {
		t.Errorf("message rooms %q, %v", rooms, err)
	}
	if p, ok, err := db.IsTrusted(lcrypto.Fingerprint{7}); err != nil || !ok || p.Name != peer {
		t.Errorf("trusted %+v %v %v", p, ok, err)
	}
	if eq, err := db.Equivocators(room); err != nil || string(eq[[AuthorKeySize]byte{1}].Other) != evidence {
		t.Errorf("equivocators %v, %v", eq, err)
	}
	got, err := db.History(HistoryQuery{Rooms: []string{room}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 || string(got[0].Raw) != "body:"+bodies[10] || got[0].Damaged {
		t.Fatalf("history after forget: %d messages, first %q", len(got), got[0].Raw)
	}
}

// TestForgetIsForGood: a forgotten message's sealed record leaves the file
// (a byte scan for it fails), it is not stored again when a peer sends it
// once more, and its author's sequence numbers stay taken.
func TestForgetIsForGood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("pass"), "")
	msgs := []StoredMessage{msgIn("r", 1, 1, 1, "a"), msgIn("r", 1, 2, 2, "b"), msgIn("r", 1, 3, 3, "c")}
	if _, err := db.AddMessages(msgs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	sealed := sealedRecords(t, path)
	if len(sealed) != 3 {
		t.Fatalf("%d sealed records", len(sealed))
	}
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock([]byte("pass")); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Forget("r", func(m StoredMessage) bool { return m.Seq != 2 }); err != nil || n != 2 {
		t.Fatalf("forget: %d %v", n, err)
	}
	if added, err := db.AddMessages(msgs); err != nil || added[0] || added[2] {
		t.Errorf("a forgotten message was stored again: %v %v", added, err)
	}
	if last, err := db.LastSeq("r", [AuthorKeySize]byte{1}); err != nil || last != 3 {
		t.Errorf("last seq %d %v, want 3", last, err)
	}
	if got, err := db.MessagesAfter("r", [AuthorKeySize]byte{1}, 0, 10); err != nil || len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("messages after: %v %v", got, err)
	}
	if pres, err := db.CompareMessages(msgs); err != nil || pres[0] != Same {
		t.Errorf("a forgotten message compares as %v, %v", pres, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i, s := range sealed {
		if has := fileHas(t, path, s); has != (i == 1) {
			t.Errorf("sealed record %d in the file: %v", i, has)
		}
	}
}

// sealedRecords returns the sealed message records of a closed file, in
// order.
func sealedRecords(t *testing.T, path string) [][]byte {
	t.Helper()
	var out [][]byte
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.View(func(tx *bbolt.Tx) error {
		top := tx.Bucket(bucketMessages)
		return top.ForEachBucket(func(id []byte) error {
			return top.Bucket(id).Bucket(bktOrder).ForEach(func(_, v []byte) error {
				out = append(out, bytes.Clone(v))
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// editRecords lets edit change the order records of every room of a closed
// file: key → value.
func editRecords(t *testing.T, path string, edit func(recs map[string][]byte)) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bbolt.Tx) error {
		top := tx.Bucket(bucketMessages)
		return top.ForEachBucket(func(id []byte) error {
			o := top.Bucket(id).Bucket(bktOrder)
			recs := map[string][]byte{}
			if err := o.ForEach(func(k, v []byte) error {
				recs[string(k)] = bytes.Clone(v)
				return nil
			}); err != nil {
				return err
			}
			edit(recs)
			for k, v := range recs {
				if err := o.Put([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAlteredRecordIsDamaged: a flipped byte, or a record moved to another
// message's place, is read as damaged, never as the message.
func TestAlteredRecordIsDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("pass"), "")
	msgs := []StoredMessage{msgIn("r", 1, 1, 1, "a"), msgIn("r", 1, 2, 2, "b"), msgIn("r", 1, 3, 3, "c"), msgIn("r", 1, 4, 4, "d")}
	if _, err := db.AddMessages(msgs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 4)
	for i, m := range msgs {
		keys[i] = string(orderKey(m.Clock, m.Author, m.Seq))
	}
	editRecords(t, path, func(recs map[string][]byte) {
		recs[keys[0]][len(recs[keys[0]])-1] ^= 1                    // a flipped byte
		recs[keys[1]], recs[keys[2]] = recs[keys[2]], recs[keys[1]] // swapped
	})
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock([]byte("pass")); err != nil {
		t.Fatal(err)
	}
	got, err := db.History(HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if want := i < 3; m.Damaged != want {
			t.Errorf("message %d: damaged %v, want %v (%q)", i, m.Damaged, want, m.Raw)
		}
		if m.Damaged && bytes.HasPrefix(m.Raw, []byte("body:")) {
			t.Errorf("message %d: a damaged record read as %q", i, m.Raw)
		}
	}
	after, err := db.MessagesAfter("r", [AuthorKeySize]byte{1}, 0, 10)
	if err != nil || len(after) != 4 || !after[0].Damaged || !after[1].Damaged || after[3].Damaged {
		t.Errorf("messages after: %+v %v", after, err)
	}
	if pres, err := db.CompareMessages(msgs); err != nil || pres[0] != Differs || pres[3] != Same {
		t.Errorf("compare: %v %v", pres, err)
	}
}

// TestWrongPassphraseWritesNothing: a wrong passphrase unlocks nothing and
// changes nothing, for Unlock and ChangePassphrase alike.
func TestWrongPassphraseWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("right"), "nick")
	if _, err := db.AddMessages([]StoredMessage{msgIn("r", 1, 1, 1, "a")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock([]byte("wrong")); !errors.Is(err, lcrypto.ErrWrongPassphrase) {
		t.Errorf("unlock with a wrong passphrase: %v", err)
	}
	if err := db.ChangePassphrase([]byte("wrong"), []byte("new"), fastKDF); !errors.Is(err, lcrypto.ErrWrongPassphrase) {
		t.Errorf("change with a wrong passphrase: %v", err)
	}
	if _, err := db.History(HistoryQuery{}); !errors.Is(err, ErrSealed) {
		t.Errorf("history while locked: %v, want ErrSealed", err)
	}
	if rec, err := db.Identity(); err != nil || !rec.NickLocked || rec.Nickname != "" {
		t.Errorf("identity while locked: %+v %v", rec, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the file changed")
	}
}

// TestChangePassphrase: after a change, only the new passphrase opens the
// history and the identity, the history is intact, and the data key as the
// old passphrase sealed it is no longer in the file.
func TestChangePassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("old"), "nick")
	if _, err := db.AddMessages([]StoredMessage{msgIn("r", 1, 1, 1, "a")}); err != nil {
		t.Fatal(err)
	}
	var oldKey []byte
	if err := db.view(func(tx *bbolt.Tx) error {
		oldKey = bytes.Clone(tx.Bucket(bucketMeta).Get(keyDataKey))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.ChangePassphrase([]byte("old"), []byte("new"), fastKDF); err != nil {
		t.Fatal(err)
	}
	// the open database goes on working (a node keeps running)
	if _, err := db.AddMessages([]StoredMessage{msgIn("r", 1, 2, 2, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fileHas(t, path, oldKey[2:]) {
		t.Error("the data key sealed with the old passphrase is still in the file")
	}
	checkFile(t, path)
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Unlock([]byte("old")); !errors.Is(err, lcrypto.ErrWrongPassphrase) {
		t.Errorf("old passphrase: %v", err)
	}
	if err := db.Unlock([]byte("new")); err != nil {
		t.Fatal(err)
	}
	rec, err := db.Identity()
	if err != nil || rec.Nickname != "nick" {
		t.Fatalf("identity: %+v %v", rec, err)
	}
	if _, err := lcrypto.Unseal(rec.Secret, []byte("new")); err != nil {
		t.Errorf("the identity does not open with the new passphrase: %v", err)
	}
	if got, err := db.History(HistoryQuery{}); err != nil || len(got) != 2 {
		t.Errorf("history: %v %v", got, err)
	}
}

// TestUnlockerAskedOnce: a locked database asks its unlocker when the
// history is first needed, and only then.
func TestUnlockerAskedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("pass"), "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	asked := 0
	db.SetUnlocker(func() ([]byte, error) { asked++; return []byte("pass"), nil })
	if _, err := db.Identity(); err != nil || asked != 0 {
		t.Fatalf("identity asked %d times: %v", asked, err)
	}
	for range 2 {
		if _, err := db.History(HistoryQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if asked != 1 {
		t.Errorf("asked %d times, want 1", asked)
	}
}

// TestTrustWithoutPassphrase: a locked database takes a trusted peer and
// its name (sealed to the data key's public key, so not in the clear),
// lists it with the name sealed, and shows the name once unlocked.
func TestTrustWithoutPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("pass"), "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := marker(t, "peer")
	fp := lcrypto.Fingerprint{9}
	if added, err := db.Trust(fp, name); err != nil || !added {
		t.Fatalf("trust while locked: %v %v", added, err)
	}
	if err := db.TouchPeer(fp, time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	peers, err := db.TrustedPeers()
	if err != nil || len(peers) != 1 || !peers[0].NameSealed || peers[0].Name != "" || peers[0].LastSeen.Unix() != 100 {
		t.Fatalf("trusted while locked: %+v %v", peers, err)
	}
	if db.Unlocked() {
		t.Fatal("trusting unlocked the database")
	}
	if fileHas(t, path, []byte(name)) {
		t.Error("the name is in the file in the clear")
	}
	if err := db.Unlock([]byte("pass")); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := db.IsTrusted(fp); err != nil || !ok || p.Name != name || p.NameSealed {
		t.Errorf("after unlock: %+v %v %v", p, ok, err)
	}
}

// TestRetentionSettings: per-room and default settings read back; a room's
// name in them is sealed.
func TestRetentionSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db := newSealedDB(t, path, []byte("pass"), "")
	defer db.Close()
	room := marker(t, "room")
	if err := db.SetRetention(room, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRetention("", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRetention("gone", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.ClearRetention("gone"); err != nil {
		t.Fatal(err)
	}
	r, err := db.Retention()
	if err != nil || r.Default != time.Hour || len(r.Rooms) != 1 || r.KeepFor(room) != 90*24*time.Hour || r.KeepFor("other") != time.Hour {
		t.Fatalf("retention %+v %v", r, err)
	}
	if fileHas(t, path, []byte(room)) {
		t.Error("the room name is in the file")
	}
}

// TestForgottenMessagesKeepTheirHash: MessageSums gives the same hashes
// before and after a forget, so the sync check's chains stay equal to the
// other members'.
func TestForgottenMessagesKeepTheirHash(t *testing.T) {
	db := newSealedDB(t, filepath.Join(t.TempDir(), "lanchat.db"), []byte("pass"), "")
	defer db.Close()
	var msgs []StoredMessage
	for i := range 5 {
		msgs = append(msgs, msgIn("r", 1, uint64(i+1), uint64(i+1), fmt.Sprint("m", i)))
	}
	if _, err := db.AddMessages(msgs); err != nil {
		t.Fatal(err)
	}
	before, err := db.MessageSums("r", [AuthorKeySize]byte{1}, 0, 10)
	if err != nil || len(before) != 5 || before[2].Sum != sha256.Sum256(msgs[2].Raw) {
		t.Fatalf("sums: %v %v", before, err)
	}
	if n, err := db.Forget("r", func(m StoredMessage) bool { return m.Seq%2 == 1 }); err != nil || n != 3 {
		t.Fatalf("forget: %d %v", n, err)
	}
	after, err := db.MessageSums("r", [AuthorKeySize]byte{1}, 0, 10)
	if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("sums after forget: %v %v, want %v", after, err, before)
	}
}
