package files

import "golang.org/x/sys/unix"

// renameNoReplace renames from to to, failing with an error matching
// fs.ErrExist if to exists: never an overwrite, even racing another writer.
func renameNoReplace(from, to string) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
}
