package storage

import (
	"fmt"

	"github.com/lanchat/lanchat/internal/names"
)

// MaxNameLen bounds nicknames and trusted-peer names, in bytes.
const MaxNameLen = names.MaxLen

// CheckName reports whether s can be stored as a nickname or peer name
// (the rule of every name lanchat shows, internal/names: at most MaxNameLen
// bytes of UTF-8, no control or format characters, no leading or trailing
// space). The empty name is allowed and means "none". Errors wrap
// ErrRecord.
func CheckName(s string) error {
	if err := names.Check(s); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}
