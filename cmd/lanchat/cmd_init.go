package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

var initHelp = help{
	synopsis: "lanchat init [--name NAME] [--no-passphrase | --passphrase-file FILE] [--force]",
	text: `Create the data directory and your identity: a signing key (who you are)
and a key for encrypted links. The secret keys are sealed with a passphrase
you choose (asked twice). Prints your fingerprint: read it to the people you
chat with, so they can run lanchat trust.

An existing identity is kept unless --force; then a copy of the old database
is saved next to it first (your trust list and messages stay).`,
	example: `  lanchat init --name alice
  lanchat init --name alice --passphrase-file ~/.lanchat-pass   # for scripts`,
}

func runInit(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	name := fs.String("name", "", "your nickname: the `NAME` people who trust you see (at most 64 bytes)")
	noPass := fs.Bool("no-passphrase", false, "store the secret keys unsealed (anyone who can read the data dir can be you)")
	pf := addPassphraseFlags(fs)
	e.pf = pf
	force := fs.Bool("force", false, "replace an existing identity (the old database is backed up first)")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("init", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *noPass && pf.file != "" {
		return usageErrorf("use one of them", "init: --no-passphrase and --passphrase-file contradict each other")
	}
	if err := storage.CheckName(*name); err != nil {
		return usageErrorf("choose a shorter name of letters, digits and spaces", "init: --name: %v", err)
	}
	dbPath, existed := e.dbPathExisted()
	_, statErr := os.Stat(filepath.Dir(dbPath))
	dirExisted := existed || !errors.Is(statErr, os.ErrNotExist)
	created := false
	cleanUp := func() { // a failed first init leaves nothing behind
		if !existed && !created {
			os.Remove(dbPath)
			if !dirExisted {
				os.Remove(filepath.Dir(dbPath)) // only if empty
			}
		}
	}
	db, err := e.openStore(create)
	if err != nil {
		cleanUp()
		return err
	}
	defer func() {
		db.Close()
		cleanUp()
	}()
	backup, err := e.makeRoomForIdentity(db, *force)
	if err != nil {
		return err
	}
	kdf, pass, err := e.sealingChoice(ctx, pf, *noPass)
	if err != nil {
		return err
	}
	defer clear(pass)
	rec, err := newIdentityRecord(*name, pass, kdf)
	if err != nil {
		return err
	}
	if backup != nil {
		if err := backup(); err != nil {
			return err
		}
	}
	if err := e.keepHistory(db, pass); err != nil {
		return err
	}
	if err := db.PutIdentity(rec); err != nil {
		return err
	}
	// The history's data key is sealed with the same passphrase (and the
	// file compacted: an old identity's sealed key leaves it).
	if err := db.SealDataKey(pass, kdf); err != nil {
		return err
	}
	created = true
	return e.printCreated(rec, *noPass, !existed)
}

// dbPathExisted returns the database's path and whether it exists now.
// keepHistory unlocks the history of a database that has one, sealed
// (init --force): with the new passphrase, which must then be the old one.
func (e *env) keepHistory(db *storage.DB, pass []byte) error {
	info, err := db.DataKey()
	if err != nil || !info.Exists || !info.Sealed || db.Unlocked() {
		return err
	}
	if err := db.Unlock(pass); err != nil {
		return withHint(fmt.Errorf("init --force keeps your trust list and history, which are sealed with the old passphrase: %w", err),
			"give the old passphrase (change it afterwards with lanchat passphrase), or move the data dir away to start empty")
	}
	return nil
}

func (e *env) dbPathExisted() (string, bool) {
	dir, err := e.dir()
	if err != nil {
		return "", true // openStore reports it; nothing to clean up
	}
	path := filepath.Join(dir, dbFile)
	_, err = os.Stat(path)
	return path, err == nil
}

// makeRoomForIdentity refuses to go on over an existing identity unless
// force; with force it returns the step that backs the database up, run
// just before the new identity is written.
func (e *env) makeRoomForIdentity(db *storage.DB, force bool) (backup func() error, err error) {
	old, err := db.Identity()
	switch {
	case errors.Is(err, storage.ErrNoIdentity):
		return nil, nil
	case err != nil:
		return nil, err
	case !force:
		return nil, withHint(fmt.Errorf("init: %s already has an identity (fingerprint %s)", filepath.Dir(db.Path()), old.Key.Fingerprint()),
			"lanchat id shows it; to replace it for good, run lanchat init --force (the old database is backed up)")
	}
	return func() error {
		path, err := backupDB(db)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Old database saved as %s (old fingerprint %s)\n", path, old.Key.Fingerprint())
		return nil
	}, nil
}

// backupDB copies the database to lanchat.db.bak-<UTC time>[-n] beside it.
func backupDB(db *storage.DB) (string, error) {
	base := db.Path() + ".bak-" + time.Now().UTC().Format("20060102T150405Z")
	path := base
	for i := 2; ; i++ {
		err := db.Backup(path)
		if err == nil {
			return path, nil
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", err
		}
		path = fmt.Sprintf("%s-%d", base, i)
	}
}

// sealingChoice returns how to seal the new key: the KDF parameters and the
// passphrase, or a nil passphrase for --no-passphrase.
func (e *env) sealingChoice(ctx context.Context, pf *passphraseFlags, noPass bool) (lcrypto.KDFParams, []byte, error) {
	if noPass {
		return lcrypto.KDFParams{}, nil, nil
	}
	kdf, err := e.kdfParams()
	if err != nil {
		return kdf, nil, err
	}
	pass, err := e.passphrase(ctx, pf, true)
	return kdf, pass, err
}

// newIdentityRecord makes fresh keys and seals them with pass (unsealed if
// pass is nil).
func newIdentityRecord(name string, pass []byte, kdf lcrypto.KDFParams) (storage.IdentityRecord, error) {
	id, err := lcrypto.NewIdentity(rand.Reader)
	if err != nil {
		return storage.IdentityRecord{}, err
	}
	_, static := id.NoiseStatic()
	rec := storage.IdentityRecord{Key: id.Public(), NoiseStatic: static, Nickname: name, Created: time.Now()}
	rec.Secret = id.MarshalSecret()
	if pass != nil {
		sealed, err := lcrypto.Seal(rec.Secret, pass, kdf, rand.Reader)
		clear(rec.Secret)
		if err != nil {
			return storage.IdentityRecord{}, err
		}
		rec.Secret, rec.Sealed = sealed, true
	}
	return rec, nil
}

// printCreated reports a new identity; first (no database was there
// before) adds the firewall step the system needs, if any.
func (e *env) printCreated(rec storage.IdentityRecord, unsealed, first bool) error {
	dir, err := e.dir()
	if err != nil {
		return err
	}
	who := ""
	if rec.Nickname != "" {
		who = " for " + rec.Nickname
	}
	fmt.Fprintf(e.stdout, "Created identity%s in %s\n", who, dir)
	fmt.Fprintf(e.stdout, "Fingerprint: %s\n", rec.Key.Fingerprint())
	fmt.Fprintln(e.stdout, "Read it to the people you chat with; they run: lanchat trust <fingerprint>")
	if first {
		exe, _ := os.Executable() // "" says lanchat
		fmt.Fprint(e.stdout, defaultFirewallNote(runtime.GOOS, exe))
	}
	if unsealed {
		warnf(e.stderr, "your secret key is stored unsealed (--no-passphrase): anyone who can read %s can be you", dir)
	}
	return nil
}
