package storage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// The fixtures are databases written by lanchat before history was sealed
// (schema 1), with `lanchat init`, `trust --name` and `send`: 12 messages
// in 3 rooms, every user-written string holding "MARKER". The sealed one's
// passphrase is legacyPass.
const (
	legacyPlain  = "../testdata/storage/schema1-plain.db"
	legacySealed = "../testdata/storage/schema1-sealed.db"
	legacyPass   = "old secret"
)

// content is what a database holds, as a user would compare it.
type content struct {
	nick     string
	trusted  map[string]string // fingerprint → name
	rooms    []string          // joined
	messages map[string]string // room/order key → encoded message
}

// legacyContent reads a schema-1 file with bbolt directly, by its layout.
func legacyContent(t *testing.T, path string) content {
	t.Helper()
	c := content{trusted: map[string]string{}, messages: map[string]string{}}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.View(func(tx *bbolt.Tx) error {
		rec, err := decodeIdentity(tx.Bucket(bucketIdentity).Get(keySelf))
		if err != nil {
			return err
		}
		c.nick = rec.Nickname
		if err := tx.Bucket(bucketTrusted).ForEach(func(k, v []byte) error {
			p, err := decodeTrustedPeer(lcrypto.Fingerprint(k), v)
			c.trusted[hex.EncodeToString(k)] = p.Name
			return err
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRooms).ForEach(func(k, _ []byte) error {
			c.rooms = append(c.rooms, string(k))
			return nil
		}); err != nil {
			return err
		}
		top := tx.Bucket(bucketMessages)
		return top.ForEachBucket(func(room []byte) error {
			return top.Bucket(room).Bucket(bktOrder).ForEach(func(k, v []byte) error {
				c.messages[string(room)+"/"+hex.EncodeToString(k)] = string(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealedContent reads an open, unlocked database through its API.
func sealedContent(t *testing.T, db *DB) content {
	t.Helper()
	c := content{trusted: map[string]string{}, messages: map[string]string{}}
	rec, err := db.Identity()
	if err != nil {
		t.Fatal(err)
	}
	c.nick = rec.Nickname
	peers, err := db.TrustedPeers()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		c.trusted[hex.EncodeToString(p.Fingerprint[:])] = p.Name
	}
	if c.rooms, err = db.JoinedRooms(); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.History(HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Damaged {
			t.Errorf("damaged after sealing: %+v", m)
		}
		c.messages[m.Room+"/"+hex.EncodeToString(orderKey(m.Clock, m.Author, m.Seq))] = string(m.Raw)
	}
	return c
}

func sameContent(t *testing.T, got, want content) {
	t.Helper()
	if got.nick != want.nick || fmt.Sprint(got.trusted) != fmt.Sprint(want.trusted) || fmt.Sprint(got.rooms) != fmt.Sprint(want.rooms) {
		t.Errorf("got nick %q trusted %v rooms %v; want %q %v %v", got.nick, got.trusted, got.rooms, want.nick, want.trusted, want.rooms)
	}
	if len(got.messages) != len(want.messages) {
		t.Errorf("%d messages, want %d", len(got.messages), len(want.messages))
	}
	for k, v := range want.messages {
		if got.messages[k] != v {
			t.Errorf("message %s: got %q, want %q", k, got.messages[k], v)
		}
	}
}

func copyFixture(t *testing.T, fixture string) string {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lanchat.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func askFor(pass string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(pass), nil }
}

// TestSealLegacy: a database of the landed code opens, is sealed in place
// with nothing lost, keeps a backup of the old file, and holds no marker
// any more.
func TestSealLegacy(t *testing.T) {
	for _, tc := range []struct{ fixture, pass string }{{legacyPlain, ""}, {legacySealed, legacyPass}} {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			want := legacyContent(t, tc.fixture)
			if len(want.messages) != 12 || !strings.Contains(want.nick, "MARKER") {
				t.Fatalf("fixture: %d messages, nick %q", len(want.messages), want.nick)
			}
			path := copyFixture(t, tc.fixture)
			opts := DefaultOptions()
			opts.Passphrase = askFor(tc.pass)
			db, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if info, err := db.DataKey(); err != nil || info.Sealed != (tc.pass != "") {
				t.Errorf("data key %+v %v", info, err)
			}
			if tc.pass != "" {
				if err := db.Unlock([]byte(tc.pass)); err != nil {
					t.Fatal(err)
				}
			}
			sameContent(t, sealedContent(t, db), want)
			if fileHas(t, path, []byte("MARKER")) {
				t.Error("the sealed file still holds a marker")
			}
			backup := db.SealedBackup()
			if !strings.HasSuffix(backup, "-plaintext") || legacyContent(t, backup).nick != want.nick {
				t.Errorf("backup %q", backup)
			}
			if _, err := os.Stat(path + ".sealing"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the temporary file stays: %v", err)
			}
		})
	}
}

// TestSealLegacyWrongPassphrase: a wrong passphrase (or none) seals
// nothing and writes nothing.
func TestSealLegacyWrongPassphrase(t *testing.T) {
	path := copyFixture(t, legacySealed)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ask := range []func() ([]byte, error){askFor("wrong"), nil} {
		opts := DefaultOptions()
		opts.Passphrase = ask
		db, err := Open(path, opts)
		if err == nil {
			db.Close()
			t.Fatal("opened with a wrong passphrase")
		}
		if !errors.Is(err, lcrypto.ErrWrongPassphrase) && !errors.Is(err, ErrSealed) {
			t.Errorf("error %v", err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if !bytes.Equal(before, after) || len(entries) != 1 {
		t.Errorf("something was written: same bytes %v, files %v", bytes.Equal(before, after), entries)
	}
}

// envSeal makes the test binary seal the database named in it and SIGKILL
// itself at the given migration step ("path|step|passphrase"; step -1: run
// through and print the number of steps).
const envSeal = "LANCHAT_STORAGE_TEST_SEAL"

func sealAndDie(spec string) int {
	parts := strings.SplitN(spec, "|", 3)
	killAt, _ := strconv.Atoi(parts[1])
	sealBatch = 1
	steps := 0
	migrateHook = func(string) {
		if steps == killAt {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				_ = p.Kill() // SIGKILL on Unix
			}
			select {} // the signal is on its way
		}
		steps++
	}
	opts := DefaultOptions()
	opts.Passphrase = askFor(parts[2])
	db, err := Open(parts[0], opts)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(steps)
	return exitCode(db.Close())
}

func exitCode(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

func runSealer(t *testing.T, path string, killAt int, pass string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSeal+"="+path+"|"+strconv.Itoa(killAt)+"|"+pass)
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// TestSealLegacyKilled: a SIGKILL at every step of the migration leaves the
// database either as it was (byte for byte) or sealed and whole, and the
// next open finishes the work: never a lost message.
func TestSealLegacyKilled(t *testing.T) {
	want := legacyContent(t, legacySealed)
	fixture, err := os.ReadFile(legacySealed)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runSealer(t, copyFixture(t, legacySealed), -1, legacyPass)
	steps, convErr := strconv.Atoi(out)
	if err != nil || convErr != nil || steps < 20 {
		t.Fatalf("a run through: %q, %v", out, err)
	}
	t.Logf("%d migration steps, each a kill point", steps)
	sealedAfterKill := 0
	for killAt := range steps {
		path := copyFixture(t, legacySealed)
		if _, err := runSealer(t, path, killAt, legacyPass); err == nil {
			t.Fatalf("step %d: the sealer was not killed", killAt)
		}
		now, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now, fixture) {
			sealedAfterKill++
			if bytes.Contains(now, []byte("MARKER")) {
				t.Fatalf("step %d: the file changed but is not the sealed one", killAt)
			}
		}
		opts := DefaultOptions()
		opts.Passphrase = askFor(legacyPass)
		db, err := Open(path, opts)
		if err != nil {
			t.Fatalf("step %d: open after the kill: %v", killAt, err)
		}
		if err := db.Unlock([]byte(legacyPass)); err != nil {
			t.Fatal(err)
		}
		sameContent(t, sealedContent(t, db), want)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path)
	}
	if sealedAfterKill != 1 { // only the kill after the rename
		t.Errorf("%d of %d kills left the sealed file, want 1", sealedAfterKill, steps)
	}
}
