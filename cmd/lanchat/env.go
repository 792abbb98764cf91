package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/control"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/lanchat/lanchat/storage"
)

// env is what every command gets: the standard streams, the environment,
// and the global flags.
type env struct {
	stdin  io.Reader
	stdout io.Writer // results: what a script would read
	stderr io.Writer // errors, warnings, prompts
	getenv func(string) string

	dataDir string   // --data-dir; "" if no default could be found
	cmd     *command // the command being run

	// ctx is the command's context, for a passphrase prompt that the
	// database asks for (see unlocker); pf are the command's passphrase
	// flags, if it has them.
	ctx context.Context
	pf  *passphraseFlags
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	return &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, dataDir: defaultDataDir(runtime.GOOS, getenv)}
}

// Environment variables lanchat reads.
const (
	envHome       = "LANCHAT_HOME"       // the data dir
	envPassphrase = "LANCHAT_PASSPHRASE" // the passphrase, for scripts
	envKDF        = "LANCHAT_KDF"        // "fast": TESTS ONLY, see kdfParams
)

// Files in the data dir.
const (
	dbFile     = control.DBFile
	dataDirMod = 0o700
)

// defaultDataDir is the data dir on goos: $LANCHAT_HOME first, else
//
//   - Windows: %AppData%\lanchat
//   - macOS: ~/Library/Application Support/lanchat
//   - elsewhere: $XDG_DATA_HOME/lanchat, else ~/.local/share/lanchat (XDG
//     Base Directory spec; a relative XDG_DATA_HOME is ignored, as the spec
//     says)
//
// as os.UserConfigDir chooses them, or "" when the variable it needs is
// not set. dataDirHelp says the same to the user.
func defaultDataDir(goos string, getenv func(string) string) string {
	if d := getenv(envHome); d != "" {
		return d
	}
	switch goos {
	case "windows":
		if d := getenv("AppData"); d != "" {
			return strings.TrimRight(d, `\/`) + `\lanchat`
		}
		return ""
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support", "lanchat")
		}
		return ""
	}
	if d := getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "lanchat")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "lanchat")
	}
	return ""
}

// dataDirHelp is how the default data dir is chosen, for lanchat --help
// and the man page.
const dataDirHelp = `The data dir defaults to $LANCHAT_HOME, else on Linux and other Unix
systems $XDG_DATA_HOME/lanchat, else ~/.local/share/lanchat; on macOS
~/Library/Application Support/lanchat; on Windows %AppData%\lanchat.`

// homeVar is the variable the default data dir needs on goos.
func homeVar(goos string) string {
	if goos == "windows" {
		return "AppData"
	}
	return "HOME"
}

// dir returns the data dir as an absolute path.
func (e *env) dir() (string, error) {
	if e.dataDir == "" {
		return "", withHint(fmt.Errorf("no data directory: %s is not set", homeVar(runtime.GOOS)),
			"pass --data-dir DIR or set "+envHome)
	}
	d, err := filepath.Abs(e.dataDir)
	if err != nil {
		return "", fmt.Errorf("data dir %s: %w", e.dataDir, err)
	}
	return d, nil
}

// storeMode says how a command opens the database.
type storeMode int

const (
	// readOnly: look only (shared lock). The database must exist.
	readOnly storeMode = iota
	// readWrite: change things. The database must exist.
	readWrite
	// create: lanchat init makes the data dir (0700) and database (0600).
	create
)

// openStore opens the database in the data dir. The caller closes it.
func (e *env) openStore(mode storeMode) (*storage.DB, error) {
	dir, err := e.dir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbFile)
	if mode == create {
		if err := makeDataDir(dir, e.stderr); err != nil {
			return nil, withPlaceHint(err, dir)
		}
	} else if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, withHint(fmt.Errorf("no lanchat identity in %s yet", dir),
			"run: lanchat init --name YOURNAME (or pass the --data-dir you used)")
	}
	opts := storage.DefaultOptions()
	opts.ReadOnly = mode == readOnly
	opts.Passphrase = e.unlocker
	db, err := storage.Open(path, opts)
	if errors.Is(err, storage.ErrOlderSchema) {
		opts.ReadOnly = false // only a writer can upgrade the file
		db, err = storage.Open(path, opts)
	}
	if errors.Is(err, storage.ErrCorrupt) {
		return nil, withHint(err, damagedHint(path))
	}
	if err != nil {
		return nil, withPlaceHint(err, dir)
	}
	db.SetUnlocker(e.unlocker)
	db.SetQuietPassphrase(func() []byte {
		if e.pf == nil {
			return e.quietPassphrase(&passphraseFlags{})
		}
		return e.quietPassphrase(e.pf)
	})
	if b := db.SealedBackup(); b != "" {
		warnf(e.stderr, "your history from an older lanchat is now sealed in %s; the old file, with everything IN THE CLEAR, is kept as %s: remove it (shred -u %s) once lanchat works for you", path, b, b)
	}
	return db, nil
}

// unlocker asks for the passphrase when the database needs it to open the
// history (no node runs, so this command reads the file itself).
func (e *env) unlocker() ([]byte, error) {
	ctx, pf := e.ctx, e.pf
	if ctx == nil {
		ctx = context.Background()
	}
	if pf == nil {
		pf = &passphraseFlags{}
	}
	return e.passphrase(ctx, pf, false)
}

// withPlaceHint adds a hint to an error about a data dir that this user
// may not use or that is on a read-only file system; other errors are
// returned as they are.
func withPlaceHint(err error, dir string) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return withHint(err, fmt.Sprintf("lanchat runs as uid %d, which may not use %s: check the owner and mode of it and its files (ls -la %s), or pass another --data-dir", os.Getuid(), dir, dir))
	case errors.Is(err, syscall.ENOSPC):
		return withHint(err, fmt.Sprintf("the disk that holds %s is full: free some space on it, then try again", dir))
	case errors.Is(err, syscall.EROFS):
		return withHint(err, fmt.Sprintf("%s is on a read-only file system; pass a writable --data-dir", dir))
	}
	return err
}

// damagedHint says what to do with the damaged database at path, pointing
// at the newest backup only when there is one.
func damagedHint(path string) string {
	backups, _ := filepath.Glob(path + ".bak-*") // the pattern is well formed
	if len(backups) == 0 {
		return fmt.Sprintf("lanchat will not write to it. Move it away (mv %s %s.damaged), then run: lanchat init --name YOURNAME", path, path)
	}
	newest := backups[len(backups)-1] // the names sort by time
	return fmt.Sprintf("lanchat will not write to it. Move it away (mv %s %s.damaged), then restore the newest backup (mv %s %s) or run: lanchat init --name YOURNAME", path, path, newest, path)
}

// makeDataDir creates dir (0700) and warns if an existing one is open to
// other users.
func makeDataDir(dir string, stderr io.Writer) error {
	if err := os.MkdirAll(dir, dataDirMod); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		warnf(stderr, "data dir %s is open to other users (mode %04o); consider: chmod 700 %s",
			dir, info.Mode().Perm(), dir)
	}
	return nil
}
