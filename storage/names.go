package storage

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen bounds nicknames and trusted-peer names, in bytes.
const MaxNameLen = 64

// CheckName reports whether s can be stored as a nickname or peer name: at
// most MaxNameLen bytes of UTF-8, no control or format characters (they
// could rewrite a terminal or hide text), no leading or trailing space.
// The empty name is allowed and means "none".
func CheckName(s string) error {
	switch {
	case len(s) > MaxNameLen:
		return fmt.Errorf("%w: name is %d bytes, at most %d", ErrRecord, len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: name is not valid UTF-8", ErrRecord)
	}
	for i, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%w: name has a control character (%U) at byte %d", ErrRecord, r, i)
		}
		if unicode.IsSpace(r) && (i == 0 || i+utf8.RuneLen(r) == len(s)) {
			return fmt.Errorf("%w: name starts or ends with a space", ErrRecord)
		}
	}
	return nil
}
