package storage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// envHold makes the test binary, re-executed by startHolder, open the
// database named in it, say "ready", and hold it until stdin closes.
const envHold = "LANCHAT_STORAGE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(envHold); path != "" {
		os.Exit(hold(path))
	}
	if spec := os.Getenv(envSeal); spec != "" {
		os.Exit(sealAndDie(spec))
	}
	os.Exit(m.Run())
}

func hold(path string) int {
	db, err := Open(path, DefaultOptions())
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startHolder runs a second process that holds the database at path open
// for writing until the test ends, and returns its pid.
func startHolder(t *testing.T, path string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHold+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("holder process: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("holder process: %q, %v", line, err)
	}
	return cmd.Process.Pid
}

// openTemp opens a new database in a temporary directory. When the test
// ends it closes it and runs bbolt's consistency check over the file.
func openTemp(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lanchat.db")
	db, err := Open(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	})
	return db
}

// checkFile runs bbolt's consistency check over a closed database file.
func checkFile(t *testing.T, path string) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("check %s: %v", path, err)
	}
	defer b.Close()
	if err := b.View(check); err != nil {
		t.Errorf("check %s: %v", path, err)
	}
}

// fixedClock makes db's clock return t, then t+1s, t+2s, ...
func fixedClock(db *DB, t time.Time) {
	n := 0
	db.now = func() time.Time {
		n++
		return t.Add(time.Duration(n-1) * time.Second)
	}
}
