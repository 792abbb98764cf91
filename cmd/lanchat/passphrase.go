package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Where a passphrase comes from, first found wins: --passphrase-file, then
// $LANCHAT_PASSPHRASE, then a prompt on the terminal (no echo).

// maxPassphraseFile bounds what --passphrase-file reads.
const maxPassphraseFile = 4096

// passphraseFlags are the flags of commands that need the secret key.
type passphraseFlags struct {
	file string
}

// addPassphraseFlags registers --passphrase-file on fs.
func addPassphraseFlags(fs *pflag.FlagSet) *passphraseFlags {
	p := &passphraseFlags{}
	fs.StringVar(&p.file, "passphrase-file", "",
		"read the passphrase from the first line of `FILE` instead of asking; else $"+envPassphrase+", else a prompt")
	return p
}

// passphrase returns the passphrase. confirm asks twice at a prompt (for a
// new passphrase); file and environment are read once.
func (e *env) passphrase(ctx context.Context, pf *passphraseFlags, confirm bool) ([]byte, error) {
	if pf.file != "" {
		return readPassphraseFile(pf.file)
	}
	if p := e.getenv(envPassphrase); p != "" {
		return []byte(p), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, withHint(errors.New("a passphrase is needed and there is no terminal to ask for it"),
			"use --passphrase-file FILE or set "+envPassphrase)
	}
	p, err := promptPassphrase(ctx, f, e.stderr, "Passphrase: ")
	if err != nil || !confirm {
		return p, err
	}
	if len(p) == 0 {
		return nil, withHint(errors.New("empty passphrase"), "type one, or use --no-passphrase to store your key unsealed")
	}
	again, err := promptPassphrase(ctx, f, e.stderr, "Passphrase again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, withHint(errors.New("the two passphrases differ"), "run the command again")
	}
	return p, nil
}

// quietPassphrase returns the passphrase from --passphrase-file or the
// environment, never asking; nil when neither gives one.
func (e *env) quietPassphrase(pf *passphraseFlags) []byte {
	if pf.file != "" {
		if p, err := readPassphraseFile(pf.file); err == nil {
			return p
		}
		return nil
	}
	if p := e.getenv(envPassphrase); p != "" {
		return []byte(p)
	}
	return nil
}

// readPassphraseFile returns the first line of the file, without its line
// ending.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withHint(fmt.Errorf("passphrase file: %w", err), "check the --passphrase-file path")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("passphrase file %s: %w", path, err)
	}
	if len(b) > maxPassphraseFile {
		return nil, withHint(fmt.Errorf("passphrase file %s is over %d bytes", path, maxPassphraseFile),
			"put only the passphrase in it")
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, withHint(fmt.Errorf("passphrase file %s is empty", path), "put the passphrase on its first line")
	}
	return b, nil
}

// promptPassphrase asks on the terminal with echo off. If ctx ends first
// (Ctrl-C), it puts the terminal back and returns; the read is left blocked
// on the terminal, which is fine only because the process is about to exit.
func promptPassphrase(ctx context.Context, tty *os.File, w io.Writer, prompt string) ([]byte, error) {
	fd := int(tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	fmt.Fprint(w, prompt)
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := term.ReadPassword(fd)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(w)
		if r.err != nil {
			return nil, fmt.Errorf("read passphrase: %w", r.err)
		}
		return r.p, nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(w)
		return nil, ctx.Err()
	}
}

// kdfParams returns the argon2id parameters for sealing a new key:
// crypto.DefaultKDFParams, unless LANCHAT_KDF=fast, which is FOR TESTS ONLY:
// it makes sealing take microseconds, and a sealed key as cheap to guess.
func (e *env) kdfParams() (lcrypto.KDFParams, error) {
	switch v := e.getenv(envKDF); v {
	case "":
		return lcrypto.DefaultKDFParams(), nil
	case "fast":
		warnf(e.stderr, "%s=fast: the key is sealed with test-only weak parameters", envKDF)
		return lcrypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, nil
	default:
		return lcrypto.KDFParams{}, usageErrorf("unset it; \"fast\" is for tests only", "%s=%q is not a known setting", envKDF, v)
	}
}

// loadIdentity reads the identity from db and unseals its secret key,
// asking for the passphrase if it is sealed (see passphrase). It checks that
// the key it gets matches the stored public keys.
func (e *env) loadIdentity(ctx context.Context, db *storage.DB, pf *passphraseFlags) (*lcrypto.Identity, error) {
	rec, err := db.Identity()
	if err != nil {
		return nil, err
	}
	secret := rec.Secret
	if !rec.Sealed {
		warnIfReadable(e.stderr, db.Path())
	}
	if rec.Sealed {
		pass, err := e.passphrase(ctx, pf, false)
		if err != nil {
			return nil, err
		}
		defer clear(pass)
		secret, err = lcrypto.Unseal(rec.Secret, pass)
		if err != nil {
			return nil, fmt.Errorf("unlock your key: %w", err)
		}
		defer clear(secret)
		// the history's data key is sealed with the same passphrase
		if info, err := db.DataKey(); err == nil && info.Sealed && !db.Unlocked() {
			if err := db.Unlock(pass); err != nil {
				return nil, err
			}
		}
	}
	id, err := lcrypto.IdentityFromSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("unlock your key: %w", err)
	}
	if _, static := id.NoiseStatic(); id.Public() != rec.Key || static != rec.NoiseStatic {
		return nil, fmt.Errorf("unlock your key: %w: the secret key does not match the stored public key", storage.ErrCorrupt)
	}
	return id, nil
}

// warnIfReadable warns that the unsealed secret key in the database at
// path can be read by other users: the database, or the data dir holding
// it, gives group or others read or search permission.
func warnIfReadable(w io.Writer, path string) {
	dir := filepath.Dir(path)
	for _, p := range []struct {
		path string
		bits os.FileMode
	}{{dir, 0o055}, {path, 0o044}} {
		info, err := os.Stat(p.path)
		if err == nil && info.Mode().Perm()&p.bits != 0 {
			warnf(w, "your secret key is stored unsealed and %s is readable by other users (mode %04o); run: chmod 700 %s && chmod 600 %s",
				p.path, info.Mode().Perm(), dir, path)
			return
		}
	}
}
