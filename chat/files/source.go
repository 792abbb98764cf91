package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ErrChanged is returned when a file or folder on disk no longer holds
// what was offered: a file is gone, shorter, or a chunk does not match its
// hash. Such a source is not served any more.
var ErrChanged = errors.New("changed since it was offered")

// Source serves the chunks of a whole file or folder on disk: the sender's
// original, or a receiver's finished copy. A file whose stamp (see Stamp)
// is still the one taken when it was hashed is served as it is read; any
// other chunk is checked against its hash as it is read, so a file changed
// since it was offered is never served as the offer (the receiver would
// refuse it). Its methods are safe for concurrent use.
type Source struct {
	path   string // the file, or the folder
	folder bool
	m      *Manifest

	mu     sync.Mutex
	root   *os.Root // the folder, or the file's parent
	open   map[int]*os.File
	stamps []Stamp // per entry; zeroed once a file's stamp differs (guarded by mu)
}

// NewSource serves manifest m from path (a file, or a folder if folder).
// stamps, one per entry of m or nil, are the files' states when they were
// hashed (Built.Stamps, or Stamps for a verified copy).
func NewSource(path string, folder bool, m *Manifest, stamps []Stamp) (*Source, error) {
	dir := path
	if !folder {
		dir = filepath.Dir(path)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	st := make([]Stamp, len(m.Entries))
	if len(stamps) == len(m.Entries) {
		copy(st, stamps)
	}
	return &Source{path: path, folder: folder, m: m, root: root, open: map[int]*os.File{}, stamps: st}, nil
}

// Manifest returns the manifest served.
func (s *Source) Manifest() *Manifest { return s.m }

// ReadChunk reads chunk i into buf (ChunkSize bytes or more). The error
// wraps ErrChanged if the file no longer holds what was offered (it is
// gone, shorter, or the chunk does not match its hash), and is another
// error if it cannot be read now.
func (s *Source) ReadChunk(i int, buf []byte) ([]byte, error) {
	c := s.m.Locate(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	name := filepath.Base(s.path)
	if s.folder {
		name = filepath.FromSlash(s.m.Entries[c.Entry].Path)
	}
	f := s.open[c.Entry]
	if f == nil {
		if len(s.open) >= maxOpenFiles {
			s.closeFiles()
		}
		var err error
		if f, err = s.root.Open(name); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is gone: %w", name, ErrChanged)
		} else if err != nil {
			return nil, err
		}
		s.open[c.Entry] = f
	}
	n, err := f.ReadAt(buf[:c.Len], c.Offset)
	if n != c.Len {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%s is shorter than offered: %w", name, ErrChanged)
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	// The stamp is looked at after the read: a write that changed what
	// was read changed the file's change time before it.
	if st := s.stamps[c.Entry]; st.valid() {
		if fi, err := f.Stat(); err == nil && stampOf(fi) == st {
			return buf[:c.Len], nil
		}
		s.stamps[c.Entry] = Stamp{} // touched or changed: hash from now on
	}
	if sha256.Sum256(buf[:c.Len]) != s.m.Hashes[i] {
		return nil, fmt.Errorf("%s: chunk %d does not match the offer: %w", name, i, ErrChanged)
	}
	return buf[:c.Len], nil
}

// Trusted reports how many of the source's files are served without
// hashing (their stamp still matches).
func (s *Source) Trusted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.stamps {
		if st.valid() {
			n++
		}
	}
	return n
}

func (s *Source) closeFiles() {
	for e, f := range s.open {
		f.Close()
		delete(s.open, e)
	}
}

// Close releases the source's files.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFiles()
	return s.root.Close()
}
