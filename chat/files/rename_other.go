//go:build !linux

package files

import (
	"fmt"
	"io/fs"
	"os"
)

// renameNoReplace renames from to to, failing with an error matching
// fs.ErrExist if to exists. Without renameat2 a writer racing between the
// check and the rename could still be replaced.
func renameNoReplace(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	return os.Rename(from, to)
}
