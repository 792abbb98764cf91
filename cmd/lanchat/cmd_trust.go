package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/control"
	"strings"

	"github.com/spf13/pflag"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

var trustHelp = help{
	synopsis: "lanchat trust <fingerprint> [--name NAME]",
	text: `Add someone to your trust list. lanchat links only with people on it, and
checks with every link that they hold the key behind the fingerprint.
Compare the fingerprint with them face to face or on the phone: it has check
characters, so a typo is caught and the error says in which group it is.
Case, dashes and spaces do not matter; 0, 1 and 8 are read as O, I and B.
Trusting someone already on the list changes nothing but the name.`,
	example: `  lanchat trust K7QF3AB-2MXABCD-...-XXXXXXX --name bob`,
}

var untrustHelp = help{
	synopsis: "lanchat untrust <fingerprint>",
	text:     `Remove someone from your trust list. lanchat will not link with them again.`,
	example:  `  lanchat untrust K7QF3AB-2MXABCD-...-XXXXXXX`,
}

func runTrust(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	name := fs.String("name", "", "a `NAME` to show for them (at most 64 bytes)")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	fp, err := parseFingerprintArgs("trust", args)
	if err != nil {
		return err
	}
	if err := storage.CheckName(*name); err != nil {
		return usageErrorf("choose a shorter name without control characters", "trust: --name: %v", err)
	}
	var res *control.TrustResult
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		res, err = api.Trust(ctx, control.FingerprintParams{Fingerprint: fp.String(), Name: *name})
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case res.Added:
		fmt.Fprintf(e.stdout, "Trusted %s%s\n", fp, nameSuffix(*name))
	case *name != "" && *name != res.PreviousName:
		fmt.Fprintf(e.stdout, "Already trusted: %s (name changed from %q to %q)\n", fp, res.PreviousName, *name)
	default:
		fmt.Fprintf(e.stdout, "Already trusted: %s%s\n", fp, nameSuffix(res.PreviousName))
	}
	return nil
}

func runUntrust(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	fp, err := parseFingerprintArgs("untrust", args)
	if err != nil {
		return err
	}
	var p *control.TrustedPeer
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		p, err = api.Untrust(ctx, fp.String())
		return err
	})
	if errors.Is(err, storage.ErrNotTrusted) {
		return withHint(fmt.Errorf("untrust: %s is not in your trust list", fp), "lanchat trusted lists who you trust")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "No longer trusted: %s%s\n", fp, nameSuffix(p.Name))
	return nil
}

// parseFingerprintArgs reads a fingerprint typed as one argument or split
// into several (spaces between groups).
func parseFingerprintArgs(cmd string, args []string) (lcrypto.Fingerprint, error) {
	if len(args) == 0 {
		return lcrypto.Fingerprint{}, usageErrorf("run: lanchat "+cmd+" --help", "%s: want a fingerprint", cmd)
	}
	fp, err := lcrypto.ParseFingerprint(strings.Join(args, " "))
	if err != nil {
		hint := "ask them to read their fingerprint again (lanchat id shows it) and compare group by group"
		if errors.Is(err, lcrypto.ErrFingerprintLength) || errors.Is(err, lcrypto.ErrFingerprintEmpty) {
			hint = "a fingerprint is 8 groups of 7 characters, like the one lanchat id shows"
		}
		if len(args) > 1 {
			// "lanchat trust FP bob": the last word is a name, not part of it.
			if _, ferr := lcrypto.ParseFingerprint(strings.Join(args[:len(args)-1], " ")); ferr == nil {
				hint = fmt.Sprintf("to give a name, use --name: lanchat %s %s --name %s",
					cmd, strings.Join(args[:len(args)-1], " "), args[len(args)-1])
			} else if !errors.Is(ferr, lcrypto.ErrFingerprintLength) {
				err = ferr // the fingerprint part has a typo: say where
			}
		}
		return lcrypto.Fingerprint{}, usageErrorf(hint, "%s: %w", cmd, err)
	}
	return fp, nil
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}
