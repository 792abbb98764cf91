package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var idHelp = help{
	synopsis: "lanchat id [--json] [--check-passphrase]",
	text: `Show your fingerprint, nickname, data directory, when your keys were made,
and whether the secret key and the history are sealed with a passphrase.
Needs no passphrase: the public keys are stored in the clear. The nickname
is sealed with the history: it is shown while lanchat runs, or when the
passphrase is given (--passphrase-file, $LANCHAT_PASSPHRASE).`,
	example: `  lanchat id
  lanchat id --json | jq -r .fingerprint`,
}

func runID(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	check := fs.Bool("check-passphrase", false, "also unlock the secret key, to check the passphrase")
	pf := addPassphraseFlags(fs)
	e.pf = pf
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("id", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	var id *control.Identity
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		if l, ok := api.(*control.Local); ok {
			// the nickname is sealed: shown when a passphrase is at hand
			if pass := e.quietPassphrase(pf); pass != nil {
				_ = l.DB().Unlock(pass) // a wrong one leaves it sealed; --check-passphrase says why
				clear(pass)
			}
		}
		if id, err = api.Identity(ctx); err != nil {
			return err
		}
		if !control.Running(api) && !id.Sealed { // a running node warned at its start
			warnIfReadable(e.stderr, filepath.Join(id.DataDir, dbFile))
		}
		if !*check {
			return nil
		}
		var pass []byte
		if id.Sealed {
			if pass, err = e.passphrase(ctx, pf, false); err != nil {
				return err
			}
			defer clear(pass)
		}
		if err := api.CheckPassphrase(ctx, pass); err != nil {
			return fmt.Errorf("unlock your key: %w", err)
		}
		ok := true
		id.PassphraseOK = &ok
		return nil
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, id)
	}
	printID(e, id)
	return nil
}

func printID(e *env, id *control.Identity) {
	nick := id.Nick
	switch {
	case id.NickSealed:
		nick = "(sealed: shown with --check-passphrase, or while lanchat runs)"
	case nick == "":
		nick = "(none)"
	}
	fmt.Fprintf(e.stdout, "Fingerprint: %s\nNickname:    %s\nData dir:    %s\nCreated:     %s\n",
		id.Fingerprint, nick, id.DataDir, formatTimePtr(id.CreatedAt))
	switch {
	case id.KDF != nil:
		fmt.Fprintf(e.stdout, "Secret key:  sealed with a passphrase (argon2id, t=%d, m=%d KiB, p=%d)\n",
			id.KDF.Time, id.KDF.MemoryKiB, id.KDF.Threads)
	case id.Sealed:
		fmt.Fprintln(e.stdout, "Secret key:  sealed with a passphrase")
	default:
		fmt.Fprintln(e.stdout, "Secret key:  NOT sealed: stored in the clear (init --no-passphrase)")
	}
	switch id.HistoryKey {
	case control.HistoryKeyPassphrase:
		fmt.Fprintln(e.stdout, "History:     sealed, with a key sealed by the passphrase")
	case control.HistoryKeyUnsealed:
		fmt.Fprintln(e.stdout, "History:     sealed, but with a key stored in the clear (init --no-passphrase): anyone who can read the data dir can read it")
	}
	if id.Node != nil {
		fmt.Fprintf(e.stdout, "Running:     pid %d, listening on %s, in %s, %d linked\n", id.Node.PID, id.Node.Addr, strings.Join(id.Node.Rooms, ", "), id.Node.Linked)
	}
	if id.PassphraseOK != nil {
		fmt.Fprintln(e.stdout, "Passphrase:  ok, it unlocks the secret key")
	}
}
