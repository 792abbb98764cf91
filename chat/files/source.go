package files

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Source serves the chunks of a whole file or folder on disk: the sender's
// original, or a receiver's finished copy. Every chunk is checked against
// its hash as it is read, so a file changed since it was offered is never
// served as the offer (the receiver would refuse it). Its methods are safe
// for concurrent use.
type Source struct {
	path   string // the file, or the folder
	folder bool
	m      *Manifest

	mu   sync.Mutex
	root *os.Root // the folder, or the file's parent
	open map[int]*os.File
}

// NewSource serves manifest m from path (a file, or a folder if folder).
func NewSource(path string, folder bool, m *Manifest) (*Source, error) {
	dir := path
	if !folder {
		dir = filepath.Dir(path)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Source{path: path, folder: folder, m: m, root: root, open: map[int]*os.File{}}, nil
}

// Manifest returns the manifest served.
func (s *Source) Manifest() *Manifest { return s.m }

// ReadChunk reads chunk i into buf (ChunkSize bytes or more); ok is false if
// it cannot be read or no longer matches its hash.
func (s *Source) ReadChunk(i int, buf []byte) (data []byte, ok bool) {
	c := s.m.Locate(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.open[c.Entry]
	if f == nil {
		if len(s.open) >= maxOpenFiles {
			s.closeFiles()
		}
		name := filepath.Base(s.path)
		if s.folder {
			name = filepath.FromSlash(s.m.Entries[c.Entry].Path)
		}
		var err error
		if f, err = s.root.Open(name); err != nil {
			return nil, false
		}
		s.open[c.Entry] = f
	}
	n, err := f.ReadAt(buf[:c.Len], c.Offset)
	if n != c.Len || err != nil && err != io.EOF || sha256.Sum256(buf[:c.Len]) != s.m.Hashes[i] {
		return nil, false
	}
	return buf[:c.Len], true
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
