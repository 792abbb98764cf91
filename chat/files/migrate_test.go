package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lanchat/lanchat/storage"
)

const envMigrate = "LANCHAT_TEST_FILE_MIGRATE"

func init() {
	if v := os.Getenv(envMigrate); v != "" {
		os.Exit(runMigrateChild(v))
	}
}

// killingRecords is the real database with a SIGKILL of this process at
// one of the steps of a migration: before or after each record is put.
type killingRecords struct {
	*storage.DB
	killAt, step int
}

func (k *killingRecords) point() {
	if k.step == k.killAt {
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill() // SIGKILL (TerminateProcess on Windows)
		}
		select {} // the kill arrives
	}
	k.step++
}

func (k *killingRecords) PutFileRecord(kind, id string, val []byte) error {
	k.point()
	err := k.DB.PutFileRecord(kind, id, val)
	k.point()
	return err
}

// runMigrateChild opens the store "db|dir|killAt" and prints how many kill
// points the migration has.
func runMigrateChild(arg string) int {
	parts := strings.Split(arg, "|")
	killAt, _ := strconv.Atoi(parts[2])
	db, err := storage.Open(parts[0], storage.DefaultOptions())
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 2
	}
	rec := &killingRecords{DB: db, killAt: killAt}
	if _, err := OpenStore(parts[1], rec); err != nil {
		os.Stderr.WriteString(err.Error())
		return 2
	}
	db.Close()
	os.Stdout.WriteString(strconv.Itoa(rec.step))
	return 0
}

type legacyWant struct {
	shares  []Share
	fetches []Fetch
	roots   [][HashSize]byte
	markers []string
}

// writeLegacy makes a data dir with a database and the record files an
// older lanchat wrote in files/: two manifests, two shares, two fetches,
// and a temporary file a write left behind.
func writeLegacy(t *testing.T) (dataDir string, want legacyWant) {
	t.Helper()
	dataDir = t.TempDir()
	db, err := storage.Open(filepath.Join(dataDir, "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.FileRecords("share"); err != nil { // makes the data key
		t.Fatal(err)
	}
	db.Close()
	dir := filepath.Join(dataDir, "files")
	os.Mkdir(dir, 0o700)
	src := t.TempDir()
	for i := range 2 {
		name := "Mname" + strconv.Itoa(i) + hex.EncodeToString(randBytes(t, 6))
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Join(p, "inner"+name), 0o755)
		os.WriteFile(filepath.Join(p, "inner"+name, "f.txt"), randBytes(t, 100), 0o644)
		b, err := Build(context.Background(), p, 0)
		if err != nil {
			t.Fatal(err)
		}
		enc := b.Manifest.Encode()
		root := Root(enc)
		rh := hex.EncodeToString(root[:])
		os.WriteFile(filepath.Join(dir, rh+".manifest"), enc, 0o600)
		sh := Share{OfferID: "offer" + rh[:8], Room: "lobby", Root: rh, Path: p, Folder: true}
		f := Fetch{OfferID: "fetch" + rh[:8], Room: "lobby", Root: rh, OutDir: "/out/" + name, Folder: true, State: FetchDone, Final: "/out/" + name + "/" + name}
		for file, v := range map[string]any{"share-" + sh.Root + ".json": sh, "fetch-" + f.OfferID + ".json": f} {
			b, _ := json.Marshal(v)
			os.WriteFile(filepath.Join(dir, file), b, 0o600)
		}
		want.shares, want.fetches, want.roots = append(want.shares, sh), append(want.fetches, f), append(want.roots, root)
		want.markers = append(want.markers, name)
	}
	os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte(`{"path":"`+want.markers[0]+`"}`), 0o600)
	return dataDir, want
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkStore asserts st holds exactly want.
func checkStore(t *testing.T, what string, st *Store, want legacyWant) {
	t.Helper()
	shares, err := st.Shares()
	if err != nil {
		t.Fatal(err)
	}
	fetches, err := st.Fetches()
	if err != nil {
		t.Fatal(err)
	}
	byRoot := func(a, b Share) int { return strings.Compare(a.Root, b.Root) }
	byOffer := func(a, b Fetch) int { return strings.Compare(a.OfferID, b.OfferID) }
	slices.SortFunc(shares, byRoot)
	slices.SortFunc(fetches, byOffer)
	ws, wf := slices.Clone(want.shares), slices.Clone(want.fetches)
	slices.SortFunc(ws, byRoot)
	slices.SortFunc(wf, byOffer)
	if !reflect.DeepEqual(shares, ws) || !reflect.DeepEqual(fetches, wf) {
		t.Fatalf("%s: shares %+v fetches %+v, want %+v %+v", what, shares, fetches, ws, wf)
	}
	for _, r := range want.roots {
		if m, err := st.Manifest(r); err != nil || m == nil {
			t.Fatalf("%s: manifest %x: %v %v", what, r[:4], m, err)
		}
	}
}

// TestLegacyRecordsMoveIntoTheDatabase: a SIGKILL at every step of moving
// the old record files into the sealed database loses no record (a reader
// sees them all right after the kill), the next open finishes the move,
// and then no file of the data dir holds a name or path in the clear.
func TestLegacyRecordsMoveIntoTheDatabase(t *testing.T) {
	run := func(dataDir string, killAt int) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envMigrate+"="+filepath.Join(dataDir, "lanchat.db")+"|"+filepath.Join(dataDir, "files")+"|"+strconv.Itoa(killAt))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil && stderr.Len() > 0 {
			t.Logf("child: %s", stderr.String())
		}
		return string(out), err
	}
	dataDir, _ := writeLegacy(t)
	out, err := run(dataDir, -1)
	steps, convErr := strconv.Atoi(out)
	if err != nil || convErr != nil || steps != 12 { // 6 records, before and after each
		t.Fatalf("a run through: %q, %v", out, err)
	}
	for killAt := 0; killAt <= steps; killAt++ {
		dataDir, want := writeLegacy(t)
		_, err := run(dataDir, killAt)
		if killAt < steps && err == nil {
			t.Fatalf("step %d: not killed", killAt)
		}
		db, err := storage.Open(filepath.Join(dataDir, "lanchat.db"), storage.DefaultOptions())
		if err != nil {
			t.Fatalf("step %d: %v", killAt, err)
		}
		checkStore(t, "a reader after kill "+strconv.Itoa(killAt), ViewStore(filepath.Join(dataDir, "files"), db), want)
		st, err := OpenStore(filepath.Join(dataDir, "files"), db)
		if err != nil {
			t.Fatalf("step %d: open after the kill: %v", killAt, err)
		}
		checkStore(t, "after kill "+strconv.Itoa(killAt), st, want)
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := os.Stat(filepath.Join(dataDir, "files")); !os.IsNotExist(err) {
			t.Fatalf("step %d: the old records folder is still there (%v)", killAt, err)
		}
		for _, m := range want.markers {
			filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(m)) {
					t.Errorf("step %d: %s holds %q", killAt, p, m)
				}
				return nil
			})
		}
	}
}

// TestDamagedLegacyRecordStaysPut: an old record file that does not parse
// or whose manifest does not match its name is not moved (nor lost): it
// stays where it is and the others move.
func TestDamagedLegacyRecordStaysPut(t *testing.T) {
	dataDir, want := writeLegacy(t)
	dir := filepath.Join(dataDir, "files")
	os.WriteFile(filepath.Join(dir, "fetch-broken.json"), []byte("{not json"), 0o600)
	bad := filepath.Join(dir, strings.Repeat("ab", HashSize)+".manifest")
	os.WriteFile(bad, []byte("not a manifest"), 0o600)
	db, err := storage.Open(filepath.Join(dataDir, "lanchat.db"), storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := OpenStore(dir, db)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, "with damaged files", st, want)
	left, _ := os.ReadDir(dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{strings.Repeat("ab", HashSize) + ".manifest", "fetch-broken.json"}) {
		t.Fatalf("left in files/: %v", names)
	}
}
