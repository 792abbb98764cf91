package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanchat/lanchat/storage"
)

func cliMarker(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return what + "mk" + hex.EncodeToString(b)
}

// fileHolds reports whether the data dir's database holds s, in any case
// (what `strings lanchat.db | grep -i` would find).
func fileHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s)))
}

// offlineSend is send with no peer to wait for (and none reachable).
func offlineSend(dir, room, text string) []string {
	return []string{"send", "--data-dir", dir, "--no-discovery", "--peer", "127.0.0.1:9", "--port", "0", "--timeout", "1ms", "--room", room, text}
}

// TestHistorySealedAtRest: the nickname, a trusted peer's name, room names
// and message bodies are never in the database file; history reads them
// with the passphrase (--grep too), refuses without one, and after forget
// they are gone from the file and from history.
func TestHistorySealedAtRest(t *testing.T) {
	nick, peerName := cliMarker(t, "nick"), cliMarker(t, "peer")
	room, other := cliMarker(t, "room"), cliMarker(t, "keep")
	c := newCLI(t, envPassphrase+"=sesame")
	dir, _ := c.initNode(nick)
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	c.must(0, "trust", bob.String(), "--name", peerName, "--data-dir", dir)
	var bodies []string
	for i := range 3 {
		b := cliMarker(t, "body")
		bodies = append(bodies, b)
		c.must(0, offlineSend(dir, []string{room, room, other}[i], b)...)
	}
	for _, m := range append([]string{nick, peerName, room, other}, bodies...) {
		if fileHolds(t, dir, m) {
			t.Errorf("lanchat.db holds %q", m)
		}
	}
	r := c.must(0, "history", "--data-dir", dir, "--grep", bodies[1][4:])
	wantContains(t, "history --grep", r.stdout, bodies[1], nick)
	if strings.Contains(r.stdout, bodies[0]) {
		t.Errorf("--grep shows another message:\n%s", r.stdout)
	}
	wantContains(t, "id", c.must(0, "id", "--data-dir", dir).stdout, "Nickname:    "+nick, "History:     sealed, with a key sealed by the passphrase")
	wantContains(t, "trusted", c.must(0, "trusted", "--data-dir", dir).stdout, peerName)

	locked := newCLI(t) // no passphrase anywhere, no terminal
	r = locked.must(1, "history", "--data-dir", dir)
	wantContains(t, "history without a passphrase", r.stderr, "no terminal to ask", "LANCHAT_PASSPHRASE")
	wantContains(t, "id without a passphrase", locked.must(0, "id", "--data-dir", dir).stdout, "Nickname:    (sealed")
	r = newCLI(t, envPassphrase+"=wrong").must(1, "history", "--data-dir", dir)
	wantContains(t, "history with a wrong passphrase", r.stderr, "wrong passphrase")

	r = c.must(0, "forget", "--room", room, "--json", "--data-dir", dir)
	var res struct{ Deleted int }
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Deleted != 2 {
		t.Fatalf("forget --json: %s (%v)", r.stdout, err)
	}
	hist := c.must(0, "history", "--json", "--data-dir", dir).stdout
	if strings.Contains(hist, bodies[0]) || strings.Contains(hist, bodies[1]) || !strings.Contains(hist, bodies[2]) {
		t.Errorf("history after forget:\n%s", hist)
	}
	for _, m := range append([]string{nick, peerName, room, other}, bodies...) {
		if fileHolds(t, dir, m) {
			t.Errorf("after forget, lanchat.db holds %q", m)
		}
	}
}

// TestInitNoPassphraseSaysHistoryKeyIsClear: without a passphrase the
// history is still sealed in the file, with a key stored in the clear, and
// id says so.
func TestInitNoPassphraseSaysHistoryKeyIsClear(t *testing.T) {
	c := newCLI(t)
	nick := cliMarker(t, "nick")
	dir, _ := c.initNode(nick, "--no-passphrase")
	body := cliMarker(t, "body")
	c.must(0, offlineSend(dir, "lobby", body)...)
	if fileHolds(t, dir, body) || fileHolds(t, dir, nick) {
		t.Error("the file holds a marker in the clear")
	}
	wantContains(t, "id", c.must(0, "id", "--data-dir", dir).stdout, "Nickname:    "+nick, "key stored in the clear")
	wantContains(t, "history", c.must(0, "history", "--data-dir", dir).stdout, body)
}

// TestPassphraseChangeWhileUp: lanchat passphrase goes through the running
// node; afterwards only the new passphrase opens the key and the history.
func TestPassphraseChangeWhileUp(t *testing.T) {
	c := newCLI(t, envPassphrase+"=old one")
	dir, _ := c.initNode("alice")
	port := freePort(t, "udp")
	p := c.startProc("alice", append([]string{"up", "--data-dir", dir}, loopbackFlags(port)...))
	waitForSocket(t, p, dir)
	c.must(0, "send", "--data-dir", dir, "before the change")
	r := newCLI(t, envPassphrase+"=wrong", envNewPassphrase+"=x").must(1, "passphrase", "--data-dir", dir)
	wantContains(t, "passphrase with a wrong old one", r.stderr, "nothing was changed")
	r = newCLI(t, envPassphrase+"=old one", envNewPassphrase+"=new one").must(0, "passphrase", "--json", "--data-dir", dir)
	wantContains(t, "passphrase --json", r.stdout, `"sealed": true`)
	c.must(0, "send", "--data-dir", dir, "after the change")
	wantContains(t, "history through the node", c.must(0, "history", "--data-dir", dir).stdout, "before the change", "after the change")
	p.stop()

	newC := newCLI(t, envPassphrase+"=new one")
	wantContains(t, "id --check-passphrase", newC.must(0, "id", "--check-passphrase", "--data-dir", dir).stdout, "Passphrase:  ok")
	wantContains(t, "history", newC.must(0, "history", "--data-dir", dir).stdout, "before the change", "after the change")
	c.must(1, "id", "--check-passphrase", "--data-dir", dir) // the old one no longer works
	c.must(1, "history", "--data-dir", dir)
}

// TestExportImportCLI: export on one data dir, import on another: the same
// fingerprint, trust list and history; a second import needs --force, which
// keeps a backup.
func TestExportImportCLI(t *testing.T) {
	c := newCLI(t, envPassphrase+"=here", envExportPassphrase+"=travel")
	dir, fp := c.initNode("alice")
	_, bob := newCLI(t).initNode("bob", "--no-passphrase")
	c.must(0, "trust", bob.String(), "--name", "bob", "--data-dir", dir)
	c.must(0, offlineSend(dir, "lobby", "one")...)
	c.must(0, offlineSend(dir, "ops", "two")...)
	file := filepath.Join(t.TempDir(), "alice.lcexport")
	r := c.must(0, "export", "--out", file, "--with-trust", "--with-history", "--json", "--data-dir", dir)
	wantContains(t, "export --json", r.stdout, `"messages": 2`, `"trusted": 1`)
	c.must(1, "export", "--out", file, "--data-dir", dir) // never overwrites

	newDir := filepath.Join(t.TempDir(), "new")
	nc := newCLI(t, envExportPassphrase+"=travel")
	newCLI(t, envExportPassphrase+"=wrong").must(1, "import", file, "--data-dir", newDir)
	if _, err := os.Stat(filepath.Join(newDir, dbFile)); !os.IsNotExist(err) {
		t.Errorf("a refused import left a database: %v", err)
	}
	wantContains(t, "import", nc.must(0, "import", file, "--data-dir", newDir).stdout, "Imported "+fp.String())
	after := newCLI(t, envPassphrase+"=travel")
	for _, cmd := range [][]string{{"id", "--json"}, {"trusted", "--json"}, {"history", "--json"}} {
		a := c.must(0, append(cmd, "--data-dir", dir)...).stdout
		b := after.must(0, append(cmd, "--data-dir", newDir)...).stdout
		if cmd[0] == "id" {
			a, b = idWithoutPlace(t, a), idWithoutPlace(t, b)
		}
		if a != b {
			t.Errorf("%s differs after import:\nold: %s\nnew: %s", cmd[0], a, b)
		}
	}
	r = nc.must(1, "import", file, "--data-dir", newDir)
	wantContains(t, "second import", r.stderr, "already has an identity", "--force")
	r = nc.must(0, "import", "--force", file, "--data-dir", newDir)
	wantContains(t, "import --force", r.stdout, "Old database saved as ")
}

// idWithoutPlace is id --json without what differs between two data dirs.
func idWithoutPlace(t *testing.T, s string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "data_dir")
	delete(m, "kdf")
	b, _ := json.Marshal(m)
	return string(b)
}

// TestOlderDatabaseIsSealed: a database written by lanchat before history
// was sealed opens with the next command that has the passphrase, is sealed
// in place (the plaintext backup named in a warning), and shows the same
// history.
func TestOlderDatabaseIsSealed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lanchat")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile("../../testdata/storage/schema1-sealed.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dbFile), old, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, envPassphrase+"=old secret")
	r := c.must(0, "history", "--data-dir", dir)
	wantContains(t, "history of the older database", r.stdout, "bodyMARKER1-sealed", "bodyMARKER12-sealed", "nickMARKERsealed")
	wantContains(t, "history's warning", r.stderr, "now sealed", "-plaintext")
	if n := strings.Count(r.stdout, "bodyMARKER"); n != 12 {
		t.Errorf("%d messages after sealing, want 12", n)
	}
	if fileHolds(t, dir, "MARKER") {
		t.Error("the sealed database holds a marker")
	}
}

// olderDataDir is a data dir holding the schema-1 fixture: 12 messages
// written at 12:27 on 2026-12-01 in rooms roommarker0..2 (passphrase "old
// secret"); the first command seals it.
func olderDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lanchat")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile("../../testdata/storage/schema1-sealed.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dbFile), old, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRoomRetention: room set ROOM retain AGE deletes what is older at
// once, room show lists it, and a running node applies a setting at its
// start.
func TestRoomRetention(t *testing.T) {
	c := newCLI(t, envPassphrase+"=old secret")
	dir := olderDataDir(t)
	r := c.must(0, "room", "set", "roommarker1", "retain", "1m", "--json", "--data-dir", dir)
	var res struct {
		Deleted int              `json:"deleted"`
		Rooms   map[string]int64 `json:"rooms"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Deleted != 4 || res.Rooms["roommarker1"] != 60 {
		t.Fatalf("room set --json: %s (%v)", r.stdout, err)
	}
	hist := c.must(0, "history", "--data-dir", dir).stdout
	if n := strings.Count(hist, "bodyMARKER"); n != 8 || strings.Contains(hist, "#roommarker1") {
		t.Errorf("history after retention: %d messages\n%s", n, hist)
	}
	wantContains(t, "room show", c.must(0, "room", "show", "--data-dir", dir).stdout, "#roommarker1", "1m0s", "forever")
	c.must(2, "room", "set", "lobby", "retain", "soon", "--data-dir", dir)

	// a setting made while no node applies it: the node does at its start
	db, err := storage.Open(filepath.Join(dir, dbFile), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock([]byte("old secret")); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRetention("", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p := c.startProc("alice", append([]string{"up", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...))
	waitForSocket(t, p, dir)
	eventually(t, "the node applies the retention", func() bool {
		return !strings.Contains(c.must(0, "history", "--data-dir", dir).stdout, "bodyMARKER")
	})
	p.stop()
}

// TestDeleteCLI: lanchat delete goes through the running node, wipes the
// message from history, and without a node says to start one.
func TestDeleteCLI(t *testing.T) {
	c := newCLI(t)
	dir, _ := c.initNode("alice", "--no-passphrase")
	r := c.must(1, "delete", "--room", "lobby", "1", "--data-dir", dir)
	wantContains(t, "delete without a node", r.stderr, "not running", "lanchat up")
	p := c.startProc("alice", append([]string{"up", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...))
	waitForSocket(t, p, dir)
	c.must(0, "send", "--data-dir", dir, "oops, wrong room")
	c.must(0, "send", "--data-dir", dir, "keep this")
	r = c.must(0, "delete", "--room", "lobby", "1", "--json", "--data-dir", dir)
	wantContains(t, "delete --json", r.stdout, `"seq": 1`, `"handed_to": 0`)
	hist := c.must(0, "history", "--data-dir", dir).stdout
	if strings.Contains(hist, "oops") || !strings.Contains(hist, "keep this") || !strings.Contains(hist, "alice(") || !strings.Contains(hist, "[deleted by its author]") {
		t.Errorf("history after delete:\n%s", hist)
	}
	var views []struct {
		Seq     uint64 `json:"seq"`
		Body    string `json:"body"`
		Deleted bool   `json:"deleted"`
	}
	if err := json.Unmarshal([]byte(c.must(0, "history", "--json", "--data-dir", dir).stdout), &views); err != nil ||
		len(views) != 2 || !views[0].Deleted || views[0].Seq != 1 || views[0].Body != "" || views[1].Deleted || views[1].Body != "keep this" {
		t.Errorf("history --json after delete: %+v (%v)", views, err)
	}
	r = c.must(1, "delete", "--room", "lobby", "1", "--data-dir", dir)
	wantContains(t, "second delete", r.stderr, "only your own messages")
	p.stop()
}

// TestKeepFlag: up --keep AGE sets the retention of every room without its
// own (what room set '*' retain AGE sets, kept after the run) and applies it
// at start; a bad age is a usage error before anything starts.
func TestKeepFlag(t *testing.T) {
	c := newCLI(t, envPassphrase+"=old secret")
	dir := olderDataDir(t)
	wantContains(t, "up --help", c.must(0, "up", "--help").stdout, "--keep AGE", "room set '*' retain AGE")
	wantContains(t, "chat --help", c.must(0, "chat", "--help").stdout, "--keep AGE")
	r := c.must(2, append([]string{"up", "--keep", "soon", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...)...)
	wantContains(t, "up --keep soon", r.stderr, "--keep soon")
	if !strings.Contains(c.must(0, "history", "--data-dir", dir).stdout, "bodyMARKER") {
		t.Fatal("the fixture has no messages: the test proves nothing")
	}
	p := c.startProc("alice", append([]string{"up", "--keep", "1m", "--data-dir", dir}, loopbackFlags(freePort(t, "udp"))...))
	waitForSocket(t, p, dir)
	if hist := c.must(0, "history", "--data-dir", dir).stdout; strings.Contains(hist, "bodyMARKER") {
		t.Errorf("history with --keep 1m still holds the old messages:\n%s", hist)
	}
	p.stop()
	r = c.must(0, "room", "show", "--json", "--data-dir", dir)
	var res struct {
		Default int64 `json:"default_seconds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Default != 60 {
		t.Fatalf("room show after up --keep 1m: %s (%v)", r.stdout, err)
	}
}
