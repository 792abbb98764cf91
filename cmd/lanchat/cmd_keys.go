package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// Environment variables of the second passphrase some commands need.
const (
	envNewPassphrase    = "LANCHAT_NEW_PASSPHRASE"    // lanchat passphrase: the new one
	envExportPassphrase = "LANCHAT_EXPORT_PASSPHRASE" // lanchat export and import: the file's
)

var passphraseHelp = help{
	synopsis: "lanchat passphrase [--passphrase-file FILE] [--new-passphrase-file FILE | --no-passphrase] [--json]",
	text: `Change the passphrase that seals your secret key and the key of your
history: the old one is asked, then the new one twice. Works while lanchat
runs (through it). Only those two keys are sealed again, so it takes a
moment whatever the size of the history; the database is then compacted, so
the keys as the old passphrase sealed them are no longer in the file.
--no-passphrase stores both keys in the clear instead (anyone who can read
the data dir can then be you and read your history).`,
	example: `  lanchat passphrase
  lanchat passphrase --passphrase-file old.txt --new-passphrase-file new.txt   # for scripts`,
}

func runPassphrase(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	pf := addPassphraseFlags(fs)
	e.pf = pf
	newFile := fs.String("new-passphrase-file", "", "read the new passphrase from the first line of `FILE`; else $"+envNewPassphrase+", else a prompt (twice)")
	noPass := fs.Bool("no-passphrase", false, "store the keys in the clear from now on")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("passphrase", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *noPass && *newFile != "" {
		return usageErrorf("use one of them", "passphrase: --no-passphrase and --new-passphrase-file contradict each other")
	}
	kdf, err := e.kdfParams()
	if err != nil {
		return err
	}
	var res *control.PassphraseResult
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		id, err := api.Identity(ctx)
		if err != nil {
			return err
		}
		var old []byte
		if id.Sealed || id.HistoryKey == control.HistoryKeyPassphrase {
			if old, err = e.secret(ctx, pf.file, envPassphrase, "Old passphrase: ", false); err != nil {
				return err
			}
			defer clear(old)
		}
		p := control.ChangePassphraseParams{Old: string(old), NoPassphrase: *noPass,
			KDF: &control.KDF{Algorithm: "argon2id", Time: kdf.Time, MemoryKiB: kdf.MemoryKiB, Threads: kdf.Threads}}
		if !*noPass {
			pass, err := e.secret(ctx, *newFile, envNewPassphrase, "New passphrase: ", true)
			if err != nil {
				return err
			}
			defer clear(pass)
			p.New = string(pass)
		}
		res, err = api.ChangePassphrase(ctx, p)
		if errors.Is(err, lcrypto.ErrWrongPassphrase) {
			return withHint(fmt.Errorf("passphrase: the old passphrase is wrong; nothing was changed"), "type the passphrase you use now")
		}
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	if res.Sealed {
		fmt.Fprintln(e.stdout, "Passphrase changed: your secret key and your history's key are sealed with the new one")
	} else {
		fmt.Fprintln(e.stdout, "Passphrase removed: your secret key and your history's key are stored in the clear")
	}
	return nil
}

// secret reads a passphrase from file, else the environment variable, else
// a prompt (twice when confirm).
func (e *env) secret(ctx context.Context, file, envVar, prompt string, confirm bool) ([]byte, error) {
	if file != "" {
		return readPassphraseFile(file)
	}
	if p := e.getenv(envVar); p != "" {
		return []byte(p), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, withHint(fmt.Errorf("%s: a passphrase is needed and there is no terminal to ask for it", e.cmdName()),
			"use the --...-passphrase-file flags (see --help) or set "+envVar)
	}
	p, err := promptPassphrase(ctx, f, e.stderr, prompt)
	if err != nil || !confirm {
		return p, err
	}
	if len(p) == 0 {
		return nil, withHint(errors.New("empty passphrase"), "type one")
	}
	again, err := promptPassphrase(ctx, f, e.stderr, "Again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, withHint(errors.New("the two passphrases differ"), "run the command again")
	}
	return p, nil
}

func (e *env) cmdName() string {
	if e.cmd == nil {
		return "lanchat"
	}
	return e.cmd.name
}

var exportHelp = help{
	synopsis: "lanchat export --out FILE [--with-trust] [--with-history] [--json]",
	text: `Write your identity (both secret keys) to FILE, sealed with a passphrase of
its own (asked twice), to move it to a new machine (lanchat import) or keep
it safe. --with-trust adds your trust list, --with-history the rooms you
are in and every stored message. FILE must not exist; it is made readable
by you only. Works while lanchat runs (through it).`,
	example: `  lanchat export --out ~/alice.lcexport --with-trust --with-history
  lanchat export --out key.lcexport --export-passphrase-file p.txt   # for scripts`,
}

func runExport(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	out := fs.String("out", "", "the `FILE` to write (it must not exist)")
	withTrust := fs.Bool("with-trust", false, "add the trust list")
	withHistory := fs.Bool("with-history", false, "add the joined rooms and every stored message")
	pf := addPassphraseFlags(fs)
	e.pf = pf
	exportFile := fs.String("export-passphrase-file", "", "read the file's passphrase from the first line of `FILE`; else $"+envExportPassphrase+", else a prompt (twice)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("export", args, 0, 0, "no arguments (the file is --out)"); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("e.g. lanchat export --out ~/alice.lcexport", "export: --out FILE is needed")
	}
	path, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return withHint(fmt.Errorf("export: %s exists", path), "choose another --out; lanchat never overwrites a file")
	}
	kdf, err := e.kdfParams()
	if err != nil {
		return err
	}
	var res *control.ExportResult
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		id, err := api.Identity(ctx)
		if err != nil {
			return err
		}
		var pass []byte
		if id.Sealed {
			if pass, err = e.passphrase(ctx, pf, false); err != nil {
				return err
			}
			defer clear(pass)
		}
		filePass, err := e.secret(ctx, *exportFile, envExportPassphrase, "Passphrase for the export file: ", true)
		if err != nil {
			return err
		}
		defer clear(filePass)
		res, err = api.Export(ctx, control.ExportParams{Path: path, Passphrase: string(pass), FilePassphrase: string(filePass),
			KDF:   &control.KDF{Algorithm: "argon2id", Time: kdf.Time, MemoryKiB: kdf.MemoryKiB, Threads: kdf.Threads},
			Trust: *withTrust, History: *withHistory})
		return err
	})
	if errors.Is(err, storage.ErrReadOnly) || errors.Is(err, storage.ErrOlderSchema) {
		return withHint(err, "run lanchat up once so the database is upgraded, then export")
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "Exported %s to %s (%d trusted, %d rooms, %d messages)\n", res.Fingerprint, res.Path, res.Trusted, res.Rooms, res.Messages)
	fmt.Fprintln(e.stdout, "Keep it safe: with its passphrase it is your identity. On the new machine: lanchat import FILE")
	return nil
}

var importHelp = help{
	synopsis: "lanchat import FILE [--force] [--json]",
	text: `Restore an identity (and the trust list and history it holds) from a file
written by lanchat export. The file's passphrase is asked; it also seals
the keys here (change it afterwards with lanchat passphrase). A data dir
that has an identity already is refused, unless --force: then the database
is backed up first, the identity replaced, and the trust list and history
merged. lanchat must not be running on the data dir.`,
	example: `  lanchat import ~/alice.lcexport
  lanchat import alice.lcexport --export-passphrase-file p.txt   # for scripts`,
}

func runImport(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	force := fs.Bool("force", false, "replace an existing identity (the database is backed up first)")
	exportFile := fs.String("export-passphrase-file", "", "read the file's passphrase from the first line of `FILE`; else $"+envExportPassphrase+", else a prompt")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("import", args, 1, 1, "the export FILE"); err != nil {
		return err
	}
	file, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	if err := e.refuseSecondNode(ctx, "import"); err != nil {
		return err
	}
	filePass, err := e.secret(ctx, *exportFile, envExportPassphrase, "Passphrase of the export file: ", false)
	if err != nil {
		return err
	}
	defer clear(filePass)
	e.pf = &passphraseFlags{file: *exportFile} // an older database here is sealed with it too
	kdf, err := e.kdfParams()
	if err != nil {
		return err
	}
	dbPath, existed := e.dbPathExisted()
	db, err := e.openStore(create)
	if err != nil {
		return err
	}
	imported := false
	defer func() {
		db.Close()
		if !existed && !imported { // a failed first import leaves nothing behind
			os.Remove(dbPath)
		}
	}()
	if _, err := db.Identity(); err == nil && *force {
		backup, err := backupDB(db)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Old database saved as %s\n", backup)
	}
	sum, err := db.ImportFile(file, storage.ImportOptions{FilePassphrase: filePass, Passphrase: filePass, KDF: kdf, Force: *force})
	switch {
	case errors.Is(err, storage.ErrIdentityExists):
		return withHint(err, "lanchat id shows it; to replace it, run lanchat import --force FILE (the database is backed up first)")
	case errors.Is(err, lcrypto.ErrWrongPassphrase):
		return withHint(fmt.Errorf("import: %w; nothing was imported", err), "give the passphrase chosen at lanchat export")
	case errors.Is(err, storage.ErrExportFormat):
		return withHint(fmt.Errorf("%w; nothing was imported", err), "give the file lanchat export wrote, whole")
	case err != nil:
		return err
	}
	imported = true
	res := &control.ExportResult{Path: file, Fingerprint: sum.Fingerprint.String(), Trusted: sum.Trusted, Rooms: sum.Rooms, Messages: sum.Messages}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "Imported %s from %s (%d trusted, %d rooms, %d new messages)\n", res.Fingerprint, file, res.Trusted, res.Rooms, res.Messages)
	fmt.Fprintln(e.stdout, "Your keys here are sealed with the export file's passphrase; change it with: lanchat passphrase")
	return nil
}
