// Package names holds the one rule for every name lanchat shows: nicknames
// (in hellos, beacons and the identity record) and the names given to
// trusted peers. A name is untrusted text that ends up on a terminal, so
// the rule keeps out what could rewrite a screen or hide text.
package names

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds a name, in bytes of UTF-8.
const MaxLen = 64

// ErrName is wrapped by every error of this package.
var ErrName = errors.New("invalid name")

// Check reports whether s is a name: CheckText, and no leading or trailing
// space. The empty name is allowed and means "none".
func Check(s string) error {
	if err := CheckText(s); err != nil {
		return err
	}
	for i, r := range s {
		if unicode.IsSpace(r) && (i == 0 || i+utf8.RuneLen(r) == len(s)) {
			return fmt.Errorf("%w: it starts or ends with a space", ErrName)
		}
	}
	return nil
}

// CheckText reports whether s may be shown as a name: at most MaxLen bytes
// of valid UTF-8 without control or format characters (Unicode Cc, Cf).
// It is the rule of the beacon's nickname field (PROTOCOL.md 2), which
// leaves spaces alone.
func CheckText(s string) error {
	switch {
	case len(s) > MaxLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrName, len(s), MaxLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not valid UTF-8", ErrName)
	}
	for i, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%w: a control character (%U) at byte %d", ErrName, r, i)
		}
	}
	return nil
}
