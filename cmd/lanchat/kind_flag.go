package main

import (
	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

// addKindFlag adds --kind: which room a name means that both an open room
// you are in and a private room have (without it, such a name is refused
// as ambiguous, never guessed).
func addKindFlag(fs *pflag.FlagSet) *string {
	return fs.String("kind", "", "which room a name both an open and a private room have means: `room` (the open one) or private")
}

// checkKind refuses a --kind other than room or private.
func checkKind(cmd, kind string) error {
	switch kind {
	case "", control.KindRoom, control.KindPrivate:
		return nil
	}
	return usageErrorf("use --kind room or --kind private", "%s: --kind %q", cmd, kind)
}
