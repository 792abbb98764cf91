package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

var idHelp = help{
	synopsis: "lanchat id [--json] [--check-passphrase]",
	text: `Show your fingerprint, nickname, data directory, when your keys were made,
and whether the secret key is sealed with a passphrase. Needs no passphrase:
the public keys are stored in the clear.`,
	example: `  lanchat id
  lanchat id --json | jq -r .fingerprint`,
}

// idJSON is lanchat id --json.
type idJSON struct {
	Fingerprint    string   `json:"fingerprint"`
	Short          string   `json:"short"`
	IdentityKey    string   `json:"identity_key"`     // hex, Ed25519
	NoiseStaticKey string   `json:"noise_static_key"` // hex, X25519
	Nickname       string   `json:"nickname"`
	DataDir        string   `json:"data_dir"`
	Created        *string  `json:"created"`
	Sealed         bool     `json:"sealed"`
	KDF            *kdfJSON `json:"kdf,omitempty"`
	Unlocked       *bool    `json:"passphrase_ok,omitempty"`
}

type kdfJSON struct {
	Algorithm string `json:"algorithm"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

func runID(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	check := fs.Bool("check-passphrase", false, "also unlock the secret key, to check the passphrase")
	pf := addPassphraseFlags(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("id", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if out, created, running, err := e.idFromNode(ctx, *check); running { // a running node holds the file
		switch {
		case err != nil:
			return err
		case *asJSON:
			return printJSON(e.stdout, out)
		}
		printID(e, out, created)
		return nil
	}
	db, err := e.openStore(readOnly)
	if err != nil {
		return err
	}
	defer db.Close()
	rec, err := db.Identity()
	if err != nil {
		return err
	}
	out := newIDJSON(rec, filepath.Dir(db.Path()))
	if !rec.Sealed && !*check { // --check warns in loadIdentity
		warnIfReadable(e.stderr, db.Path())
	}
	if *check {
		if _, err := e.loadIdentity(ctx, db, pf); err != nil {
			return err
		}
		ok := true
		out.Unlocked = &ok
	}
	if *asJSON {
		return printJSON(e.stdout, out)
	}
	printID(e, out, rec.Created)
	return nil
}

func newIDJSON(rec storage.IdentityRecord, dir string) idJSON {
	fp := rec.Key.Fingerprint()
	out := idJSON{
		Fingerprint:    fp.String(),
		Short:          fp.Short(),
		IdentityKey:    hex.EncodeToString(rec.Key[:]),
		NoiseStaticKey: hex.EncodeToString(rec.NoiseStatic[:]),
		Nickname:       rec.Nickname,
		DataDir:        dir,
		Created:        jsonTime(rec.Created),
		Sealed:         rec.Sealed,
	}
	if p, err := lcrypto.SealedParams(rec.Secret); rec.Sealed && err == nil {
		out.KDF = &kdfJSON{Algorithm: "argon2id", Time: p.Time, MemoryKiB: p.MemoryKiB, Threads: p.Threads}
	}
	return out
}

func printID(e *env, id idJSON, created time.Time) {
	nick := id.Nickname
	if nick == "" {
		nick = "(none)"
	}
	fmt.Fprintf(e.stdout, "Fingerprint: %s\nNickname:    %s\nData dir:    %s\nCreated:     %s\n",
		id.Fingerprint, nick, id.DataDir, formatTime(created))
	switch {
	case id.KDF != nil:
		fmt.Fprintf(e.stdout, "Secret key:  sealed with a passphrase (argon2id, t=%d, m=%d KiB, p=%d)\n",
			id.KDF.Time, id.KDF.MemoryKiB, id.KDF.Threads)
	case id.Sealed:
		fmt.Fprintln(e.stdout, "Secret key:  sealed with a passphrase")
	default:
		fmt.Fprintln(e.stdout, "Secret key:  NOT sealed: stored in the clear (init --no-passphrase)")
	}
	if id.Unlocked != nil {
		fmt.Fprintln(e.stdout, "Passphrase:  ok, it unlocks the secret key")
	}
}
