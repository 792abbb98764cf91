package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// PartialSuffix marks what is being received: the final name is only ever
// given to a whole, verified file or folder.
const PartialSuffix = ".lanchat-partial"

// Errors of a Partial, for errors.Is.
var (
	// ErrBadChunk: the bytes do not match the chunk's hash in the manifest.
	ErrBadChunk = errors.New("chunk does not match its hash")
	// ErrDiskFull: the disk (or the user's quota) is full.
	ErrDiskFull = errors.New("no space left on the disk")
)

// maxOpenFiles bounds the files a Partial or a Source keeps open.
const maxOpenFiles = 32

// writebackEvery is how many bytes a Partial writes to one file before it
// asks the kernel to start writing them to the disk (startWriteback), so
// that a transfer's last Sync does not wait for the whole file.
const writebackEvery = 8 << 20

// Partial is a file or folder being received into an output folder: under
// its name with PartialSuffix until every chunk verifies, then renamed into
// place (with a suffix if the name is taken, never over anything). Its
// methods are safe for concurrent use.
type Partial struct {
	dir  string // the output folder
	o    *Offer
	m    *Manifest
	base string // the partial's name in dir

	mu      sync.Mutex
	root    *os.Root
	have    []bool
	missing int
	open    map[int]*os.File
	dirty   map[int]int // bytes written to an open file since its last startWriteback
}

// OpenPartial opens or creates the partial of offer o (manifest m) in dir,
// creating dir if needed. What an earlier run wrote is hashed again, chunk
// by chunk: every chunk that verifies is kept, whatever happened to the
// process or the link meanwhile, and the others are fetched again.
func OpenPartial(dir string, o *Offer, m *Manifest) (*Partial, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	p := &Partial{dir: dir, o: o, m: m, base: o.Name + PartialSuffix, root: root,
		have: make([]bool, m.Chunks()), missing: m.Chunks(), open: map[int]*os.File{}, dirty: map[int]int{}}
	if err := p.prepare(); err != nil {
		root.Close()
		return nil, err
	}
	return p, nil
}

// target is where entry e is written, relative to the output folder.
func (p *Partial) target(e int) string {
	if !p.o.Folder {
		return p.base
	}
	return path.Join(p.base, p.m.Entries[e].Path)
}

// prepare makes the folders and rehashes what is there.
func (p *Partial) prepare() error {
	fi, err := p.root.Lstat(p.base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p.o.Folder {
			if err := p.root.Mkdir(p.base, 0o700); err != nil {
				return diskErr(err)
			}
		}
	case err != nil:
		return err
	case p.o.Folder != fi.IsDir() || !fi.IsDir() && !fi.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a partial of this offer: move it away", filepath.Join(p.dir, p.base))
	}
	if p.o.Folder {
		for _, e := range p.m.Entries {
			d := path.Dir(e.Path)
			if e.Dir {
				d = e.Path
			}
			if d != "." {
				if err := p.root.MkdirAll(path.Join(p.base, d), 0o700); err != nil {
					return diskErr(err)
				}
			}
		}
	}
	buf := make([]byte, p.m.ChunkSize)
	for i := range p.have {
		c := p.m.Locate(i)
		f, err := p.file(c.Entry, false)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if n, err := f.ReadAt(buf[:c.Len], c.Offset); n == c.Len && (err == nil || err == io.EOF) &&
			sha256.Sum256(buf[:c.Len]) == p.m.Hashes[i] {
			p.have[i] = true
			p.missing--
		}
	}
	return nil
}

// file returns entry e's open file, creating it if create.
func (p *Partial) file(e int, create bool) (*os.File, error) {
	if f := p.open[e]; f != nil {
		return f, nil
	}
	if len(p.open) >= maxOpenFiles {
		p.closeFiles()
	}
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := p.root.OpenFile(p.target(e), flags, 0o600)
	if err != nil {
		return nil, diskErr(err)
	}
	p.open[e] = f
	return f, nil
}

func (p *Partial) closeFiles() {
	for e, f := range p.open {
		if p.dirty[e] > 0 {
			startWriteback(f) // a folder's many small files: their Syncs find them written
		}
		f.Close()
		delete(p.open, e)
		delete(p.dirty, e)
	}
}

// Have reports whether chunk i is verified here.
func (p *Partial) Have(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.have[i]
}

// HaveMap returns a file-have body saying which chunks are verified
// (EncodeHave).
func (p *Partial) HaveMap() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return EncodeHave(p.o.Root, len(p.have), func(i int) bool { return p.have[i] })
}

// Missing returns the number of chunks not yet verified.
func (p *Partial) Missing() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.missing
}

// VerifiedBytes returns the bytes of the verified chunks.
func (p *Partial) VerifiedBytes() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for i, ok := range p.have {
		if ok {
			n += uint64(p.m.Locate(i).Len)
		}
	}
	return n
}

// Write checks data against chunk i's hash and writes it in place. A chunk
// that does not match is ErrBadChunk and nothing is written; a full disk is
// ErrDiskFull (the chunk stays missing).
func (p *Partial) Write(i int, data []byte) error {
	return p.WriteHashed(i, data, sha256.Sum256(data))
}

// WriteHashed is Write for a caller that hashed data itself, on another
// goroutine so that hashing and writing overlap: sum must be
// sha256.Sum256(data), computed over exactly these bytes, which nothing
// changes meanwhile. It is checked against chunk i's hash in the manifest
// before anything is written.
func (p *Partial) WriteHashed(i int, data []byte, sum [HashSize]byte) error {
	c := p.m.Locate(i)
	if len(data) != c.Len || sum != p.m.Hashes[i] {
		return fmt.Errorf("chunk %d: %w", i, ErrBadChunk)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.have[i] {
		return nil
	}
	f, err := p.file(c.Entry, true)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, c.Offset); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(p.dir, p.target(c.Entry)), diskErr(err))
	}
	if p.dirty[c.Entry] += len(data); p.dirty[c.Entry] >= writebackEvery {
		startWriteback(f)
		p.dirty[c.Entry] = 0
	}
	p.have[i] = true
	p.missing--
	return nil
}

// ReadChunk reads verified chunk i into buf (which must hold ChunkSize
// bytes) for serving; it checks the hash again, so what is served is what a
// receiver accepts. ok is false if the chunk is not here.
func (p *Partial) ReadChunk(i int, buf []byte) (data []byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.have[i] {
		return nil, false
	}
	c := p.m.Locate(i)
	f, err := p.file(c.Entry, false)
	if err != nil {
		return nil, false
	}
	if n, err := f.ReadAt(buf[:c.Len], c.Offset); n != c.Len || err != nil && err != io.EOF ||
		sha256.Sum256(buf[:c.Len]) != p.m.Hashes[i] {
		p.have[i] = false // changed under us: fetch it again
		p.missing++
		return nil, false
	}
	return buf[:c.Len], true
}

// Finish makes the whole file or folder durable, restricts permissions
// (nothing received is executable), and renames it into place: the offer's
// name, or "name (1)", "name (2)", … if that is taken. It returns the
// final path. Every chunk must be verified.
func (p *Partial) Finish() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.missing > 0 {
		return "", fmt.Errorf("%d chunks are still missing", p.missing)
	}
	for e, en := range p.m.Entries {
		if en.Dir {
			continue
		}
		f, err := p.file(e, true) // empty files have no chunk: made here
		if err != nil {
			return "", err
		}
		if err := f.Truncate(int64(en.Size)); err != nil {
			return "", diskErr(err)
		}
		if err := f.Chmod(fs.FileMode(en.Mode)&0o644 | 0o600); err != nil {
			return "", err
		}
		if err := f.Sync(); err != nil {
			return "", diskErr(err)
		}
		f.Close()
		delete(p.open, e)
		delete(p.dirty, e)
	}
	if p.o.Folder {
		for i := len(p.m.Entries) - 1; i >= 0; i-- {
			if en := p.m.Entries[i]; en.Dir {
				if err := p.root.Chmod(p.target(i), fs.FileMode(en.Mode)&0o755|0o700); err != nil {
					return "", err
				}
			}
		}
	}
	return p.rename()
}

// rename moves the partial to the first free final name.
func (p *Partial) rename() (string, error) {
	from := filepath.Join(p.dir, p.base)
	for k := 0; k < 1000; k++ {
		to := filepath.Join(p.dir, Numbered(p.o.Name, p.o.Folder, k))
		err := renameNoReplace(from, to)
		if err == nil {
			syncDir(p.dir)
			return to, nil
		}
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return "", fmt.Errorf("renaming %s into place: %w", from, err)
		}
	}
	return "", fmt.Errorf("renaming %s: 1000 names taken", from)
}

// Close releases the partial's files (the partial stays for a resume).
func (p *Partial) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeFiles()
	return p.root.Close()
}

// Remove deletes the partial (a transfer given up).
func (p *Partial) Remove() error {
	p.Close()
	return os.RemoveAll(filepath.Join(p.dir, p.base))
}

// Numbered returns name with " (k)" before its extension (k ≥ 1), or name
// for k = 0: "report.pdf" → "report (1).pdf"; a folder's name keeps its
// dots.
func Numbered(name string, folder bool, k int) string {
	if k == 0 {
		return name
	}
	ext := ""
	if !folder {
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			name, ext = name[:i], name[i:]
		}
	}
	return fmt.Sprintf("%s (%d)%s", name, k, ext)
}

// diskErr marks a full disk or quota as ErrDiskFull.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// syncDir makes a rename in dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
