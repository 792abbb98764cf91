package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// maxAnswer bounds a line typed in answer to a first-run question.
const maxAnswer = 256

// firstRun lets lanchat chat start where there is no database yet: it
// creates the identity (as lanchat init would) and leaves it unlocked in
// nf, so the passphrase is not asked twice. On a terminal it asks for a
// name and a passphrase; with --no-passphrase, --passphrase-file or
// LANCHAT_PASSPHRASE it asks nothing (the name is --nick, else none). With
// no terminal and none of those, it does nothing: the usual "no identity"
// error follows.
func (e *env) firstRun(ctx context.Context, nf *nodeFlags, noPass bool) error {
	dir, err := e.dir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); !errors.Is(err, os.ErrNotExist) {
		return nil // a database: the usual path checks it
	}
	if noPass && nf.pass.file != "" {
		return usageErrorf("use one of them", "chat: --no-passphrase and --passphrase-file contradict each other")
	}
	quiet := noPass || nf.pass.file != "" || e.getenv(envPassphrase) != ""
	tty, isTTY := e.stdin.(*os.File)
	if !quiet && (!isTTY || !term.IsTerminal(int(tty.Fd()))) {
		return nil
	}
	name := nf.nick
	if !quiet {
		if name, err = e.askIdentity(ctx, tty, dir, name); err != nil {
			return err
		}
	}
	if err := checkFirstName(name); err != nil {
		return usageErrorf("pick a shorter nickname without control characters", "chat: --nick: %v", err)
	}
	return e.createFirstIdentity(ctx, nf, name, noPass)
}

// askIdentity asks whether to create an identity and for the name.
func (e *env) askIdentity(ctx context.Context, tty *os.File, dir, name string) (string, error) {
	fmt.Fprintf(e.stderr, "lanchat: there is no identity in %s yet.\n", dir)
	yes, err := askLine(ctx, tty, e.stderr, "Create one now? [Y/n] ")
	if err != nil {
		return "", err
	}
	if a := strings.ToLower(strings.TrimSpace(yes)); a != "" && a != "y" && a != "yes" {
		return "", withHint(errors.New("no identity created"), "run: lanchat init --name YOURNAME")
	}
	for tries := 0; name == "" && tries < 3; tries++ {
		answer, err := askLine(ctx, tty, e.stderr, "Your name (shown to the people who trust you; Enter for none): ")
		if err != nil {
			return "", err
		}
		answer = strings.TrimSpace(answer)
		if answer == "" {
			break
		}
		if err := checkFirstName(answer); err != nil {
			fmt.Fprintf(e.stderr, "lanchat: %v; try again\n", err)
			continue
		}
		name = answer
	}
	fmt.Fprintln(e.stderr, "lanchat: now a passphrase: it seals your secret key on this disk (asked when lanchat starts).")
	return name, nil
}

// checkFirstName checks a nickname both as stored and as sent to peers.
func checkFirstName(name string) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	return control.CheckNick(name)
}

// createFirstIdentity makes the keys, seals and stores them, and keeps the
// identity unlocked in nf for the node.
func (e *env) createFirstIdentity(ctx context.Context, nf *nodeFlags, name string, noPass bool) error {
	kdf, pass, err := e.sealingChoice(ctx, nf.pass, noPass)
	if err != nil {
		return err
	}
	defer clear(pass)
	rec, err := newIdentityRecord(name, pass, kdf)
	if err != nil {
		return err
	}
	secret := rec.Secret
	if rec.Sealed {
		if secret, err = lcrypto.Unseal(rec.Secret, pass); err != nil {
			return fmt.Errorf("checking the new sealed key: %w", err)
		}
		defer clear(secret)
	}
	if nf.identity, err = lcrypto.IdentityFromSecret(secret); err != nil {
		return err
	}
	db, err := e.openStore(create)
	if err != nil {
		return err
	}
	err = db.PutIdentity(rec)
	if err == nil { // the history's key is sealed with the same passphrase
		err = db.SealDataKey(pass, kdf)
	}
	if err == nil && pass != nil {
		nf.dataPass = bytes.Clone(pass) // the node unlocks the history without asking again
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	shown := *e
	shown.stdout = e.stderr // in a chat, stdout carries only messages (or --json events)
	return shown.printCreated(rec, !rec.Sealed, true)
}

// askLine prompts on w and reads one line from the terminal (echoed), byte
// by byte so that nothing after the line is taken from later readers.
func askLine(ctx context.Context, tty *os.File, w interface{ Write([]byte) (int, error) }, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	r := &chatui.TTYReader{Ctx: ctx, F: tty}
	var line []byte
	b := make([]byte, 1)
	for len(line) < maxAnswer {
		n, err := r.Read(b)
		if err != nil {
			fmt.Fprintln(w)
			return "", fmt.Errorf("reading the answer: %w", err)
		}
		if n == 1 && (b[0] == '\r' || b[0] == '\n') { // Enter
			return string(line), nil
		}
		line = append(line, b[:n]...)
	}
	return "", errors.New("the answer is too long")
}
