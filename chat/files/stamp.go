package files

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Stamp is what the file system says about one state of a file: while the
// file's device, inode, size, modification time and change time all stay
// the same, it holds the bytes that were hashed. A Source serves a chunk
// of a file whose stamp still matches without hashing it again (the
// receiver verifies every chunk anyway); once a stamp differs, that file's
// chunks are hashed as they are read. The zero Stamp is no stamp (on
// systems where none is taken, every chunk served is hashed).
//
// A user cannot set the change time (only by changing the clock), so an
// edit that puts the modification time back still shows. A write within
// the same clock tick as the stamp could leave it as it was on a file
// system with coarse timestamps; the receiver's check of every chunk
// still refuses what does not match.
type Stamp struct {
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Mtime int64  `json:"mtime,omitempty"` // nanoseconds since 1970
	Ctime int64  `json:"ctime,omitempty"` // nanoseconds since 1970
}

// valid reports whether s is a stamp at all.
func (s Stamp) valid() bool { return s != Stamp{} }

// StampOf returns the stamp of fi (from Stat or Lstat), or the zero Stamp
// where the system gives none.
func StampOf(fi fs.FileInfo) Stamp { return stampOf(fi) }

// Stamps returns the stamps of the files of manifest m at path (a file, or
// a folder if folder) as they are now, one per entry (zero for folders and
// for files it cannot stat): for a copy this node verified chunk by chunk
// and wrote itself.
func Stamps(path string, folder bool, m *Manifest) []Stamp {
	out := make([]Stamp, len(m.Entries))
	for i, e := range m.Entries {
		if e.Dir {
			continue
		}
		p := path
		if folder {
			p = filepath.Join(path, filepath.FromSlash(e.Path))
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			out[i] = stampOf(fi)
		}
	}
	return out
}
