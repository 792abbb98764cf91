package files

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Manifest limits and defaults (PROTOCOL.md 5.12).
const (
	manifestVersion = 1
	// DefaultChunkSize is the chunk size lanchat offers with: 256 KiB, four
	// Noise messages, so a chunk frame stays far below the frame bound.
	DefaultChunkSize = 256 << 10
	// MinChunkSize and MaxChunkSize bound an offer's chunk size.
	MinChunkSize = 16 << 10
	MaxChunkSize = 512 << 10
	// MaxEntries bounds the entries of a folder's manifest.
	MaxEntries = 100000
	// MaxManifestBytes bounds an encoded manifest (enough for 100,000
	// files, or one file of 128 GiB at the default chunk size).
	MaxManifestBytes = 16 << 20
	// ManifestPiece is the size of the pieces a manifest is fetched in.
	ManifestPiece = 256 << 10
	// HashSize is the size of a chunk hash (SHA-256).
	HashSize = sha256.Size
	// maxTotalSize bounds the bytes of one offer.
	maxTotalSize = 1 << 50
)

// domainManifest separates the manifest root from every other hash.
const domainManifest = "lanchat/v1/file-manifest:"

// ErrMalformed is returned for an offer, manifest or frame that does not
// decode.
var ErrMalformed = errors.New("malformed file offer")

// Entry is one file or folder of a manifest.
type Entry struct {
	Path string // relative, slash-separated (CheckPath); a file offer's one entry is its name
	Dir  bool
	Mode uint16 // permission bits, 0o777 at most; a receiver restricts them further
	Size uint64 // bytes; 0 for a folder
}

// Manifest lists what an offer holds and every chunk's hash. Chunks are
// numbered across the files in entry order: file entries split into
// ceil(Size/ChunkSize) chunks each, the last one shorter.
type Manifest struct {
	ChunkSize uint32
	Entries   []Entry
	Hashes    [][HashSize]byte // one per chunk, in chunk order

	spans []span // the file entries that have chunks, in order
}

// span is a file entry with at least one chunk and the index of its first.
type span struct{ entry, first int }

// Chunk says where chunk i lies: which entry, at what offset, how long.
type Chunk struct {
	Entry  int
	Offset int64
	Len    int
}

// chunksOf returns the number of chunks of a file of size bytes.
func (m *Manifest) chunksOf(size uint64) int {
	return int((size + uint64(m.ChunkSize) - 1) / uint64(m.ChunkSize))
}

// index computes spans; it checks that the hashes match the sizes.
func (m *Manifest) index() error {
	m.spans = m.spans[:0]
	n := 0
	for i, e := range m.Entries {
		if c := m.chunksOf(e.Size); !e.Dir && c > 0 {
			m.spans = append(m.spans, span{entry: i, first: n})
			n += c
		}
	}
	if n != len(m.Hashes) {
		return fmt.Errorf("%w: %d chunk hashes for %d chunks", ErrMalformed, len(m.Hashes), n)
	}
	return nil
}

// Chunks returns the number of chunks.
func (m *Manifest) Chunks() int { return len(m.Hashes) }

// Locate returns where chunk i (0 ≤ i < Chunks()) lies.
func (m *Manifest) Locate(i int) Chunk {
	k := sort.Search(len(m.spans), func(j int) bool { return m.spans[j].first > i }) - 1
	sp := m.spans[k]
	off := int64(i-sp.first) * int64(m.ChunkSize)
	n := min(int64(m.ChunkSize), int64(m.Entries[sp.entry].Size)-off)
	return Chunk{Entry: sp.entry, Offset: off, Len: int(n)}
}

// FirstChunk returns the index of entry e's first chunk and its count.
func (m *Manifest) FirstChunk(e int) (first, count int) {
	k := sort.Search(len(m.spans), func(j int) bool { return m.spans[j].entry >= e })
	if k == len(m.spans) || m.spans[k].entry != e {
		return 0, 0
	}
	return m.spans[k].first, m.chunksOf(m.Entries[e].Size)
}

// Size returns the total bytes of the files.
func (m *Manifest) Size() uint64 {
	var s uint64
	for _, e := range m.Entries {
		s += e.Size
	}
	return s
}

// FileCount returns the number of file entries.
func (m *Manifest) FileCount() int {
	n := 0
	for _, e := range m.Entries {
		if !e.Dir {
			n++
		}
	}
	return n
}

// Encode returns the manifest's wire form:
//
//	version u8 (1) | chunk_size u32 | count u32 |
//	count × (flags u8 (bit 0: folder) | mode u16 | path_len u16 | path | size u64) |
//	one [32] hash per chunk, in chunk order
func (m *Manifest) Encode() []byte {
	b := make([]byte, 0, 9+len(m.Entries)*64+len(m.Hashes)*HashSize)
	b = append(b, manifestVersion)
	b = binary.BigEndian.AppendUint32(b, m.ChunkSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Entries)))
	for _, e := range m.Entries {
		var flags byte
		if e.Dir {
			flags = 1
		}
		b = append(b, flags)
		b = binary.BigEndian.AppendUint16(b, e.Mode)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Path)))
		b = append(b, e.Path...)
		b = binary.BigEndian.AppendUint64(b, e.Size)
	}
	for _, h := range m.Hashes {
		b = append(b, h[:]...)
	}
	return b
}

// Root is the hash an offer names its manifest by:
// SHA-256("lanchat/v1/file-manifest:" ‖ encoding).
func Root(encoded []byte) [HashSize]byte {
	h := sha256.New()
	h.Write([]byte(domainManifest))
	h.Write(encoded)
	var r [HashSize]byte
	h.Sum(r[:0])
	return r
}

// DecodeManifest parses a manifest strictly and checks every path: no
// absolute paths, no "." or ".." elements, no duplicates, no file that is
// also a folder of another entry, hashes exactly as many as the chunks.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: manifest of %d bytes (at most %d)", ErrMalformed, len(b), MaxManifestBytes)
	}
	if len(b) < 9 || b[0] != manifestVersion {
		return nil, fmt.Errorf("%w: manifest header", ErrMalformed)
	}
	m := &Manifest{ChunkSize: binary.BigEndian.Uint32(b[1:])}
	count := binary.BigEndian.Uint32(b[5:])
	if m.ChunkSize < MinChunkSize || m.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("%w: chunk size %d", ErrMalformed, m.ChunkSize)
	}
	if count == 0 || count > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries (1 to %d)", ErrMalformed, count, MaxEntries)
	}
	p := b[9:]
	var chunks, total uint64
	for range count {
		if len(p) < 5 {
			return nil, fmt.Errorf("%w: truncated entry", ErrMalformed)
		}
		flags, mode, plen := p[0], binary.BigEndian.Uint16(p[1:]), int(binary.BigEndian.Uint16(p[3:]))
		p = p[5:]
		if flags > 1 || mode > 0o777 || len(p) < plen+8 {
			return nil, fmt.Errorf("%w: entry flags %d, mode %o or length", ErrMalformed, flags, mode)
		}
		e := Entry{Path: string(p[:plen]), Dir: flags == 1, Mode: mode, Size: binary.BigEndian.Uint64(p[plen:])}
		p = p[plen+8:]
		if e.Dir && e.Size != 0 {
			return nil, fmt.Errorf("%w: folder %q with a size", ErrMalformed, e.Path)
		}
		if total += e.Size; e.Size > maxTotalSize || total > maxTotalSize {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrMalformed, uint64(maxTotalSize))
		}
		m.Entries = append(m.Entries, e)
		if !e.Dir {
			chunks += uint64(m.chunksOf(e.Size))
		}
	}
	if uint64(len(p)) != chunks*HashSize {
		return nil, fmt.Errorf("%w: %d bytes of hashes for %d chunks", ErrMalformed, len(p), chunks)
	}
	m.Hashes = make([][HashSize]byte, chunks)
	for i := range m.Hashes {
		copy(m.Hashes[i][:], p[i*HashSize:])
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, m.index()
}

// check applies the path rules.
func (m *Manifest) check() error {
	kinds := make(map[string]bool, len(m.Entries)) // path → is a folder
	for _, e := range m.Entries {
		if err := CheckPath(e.Path); err != nil {
			return err
		}
		if _, dup := kinds[e.Path]; dup {
			return fmt.Errorf("%w: %q listed twice", ErrUnsafePath, e.Path)
		}
		kinds[e.Path] = e.Dir
	}
	for _, e := range m.Entries {
		for dir := e.Path; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			dir = dir[:i]
			if isDir, ok := kinds[dir]; ok && !isDir {
				return fmt.Errorf("%w: %q is inside %q, which is a file", ErrUnsafePath, e.Path, dir)
			}
		}
	}
	return nil
}
