package files

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path limits.
const (
	// MaxPathBytes bounds an entry's relative path.
	MaxPathBytes = 1024
	// MaxNameBytes bounds one element of a path (and an offer's name).
	MaxNameBytes = 255
)

// ErrUnsafePath is returned for a name or path a receiver must not write:
// absolute, with "." or ".." elements, backslashes, drive letters, control
// characters, or empty elements.
var ErrUnsafePath = errors.New("unsafe path in file offer")

// CheckName checks one path element: an offer's name, or a part of an
// entry's path.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrUnsafePath)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%w: a name of %d bytes (at most %d)", ErrUnsafePath, len(name), MaxNameBytes)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrUnsafePath, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: a name that is not UTF-8", ErrUnsafePath)
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r == ':' || r == 0 || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%w: %q holds %U", ErrUnsafePath, name, r)
		}
	}
	return nil
}

// CheckPath checks an entry's path: relative, slash-separated, every
// element a CheckName.
func CheckPath(p string) error {
	if len(p) > MaxPathBytes {
		return fmt.Errorf("%w: a path of %d bytes (at most %d)", ErrUnsafePath, len(p), MaxPathBytes)
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: %q is absolute", ErrUnsafePath, p)
	}
	for _, el := range strings.Split(p, "/") {
		if err := CheckName(el); err != nil {
			return fmt.Errorf("%w (in %q)", err, p)
		}
	}
	return nil
}
