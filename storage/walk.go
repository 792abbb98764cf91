package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file format (go.etcd.io/bbolt/internal/common, version 2), read
// here with bounds checks so that a damaged file is an error, never a page
// fault: bbolt reads its pages through an unchecked mmap, and its own
// consistency check runs in a goroutine of its own, where a fault cannot be
// recovered.
//
// A page starts with a 16-byte header: id u64, flags u16, count u16,
// overflow u32 (all little-endian). Branch and leaf pages then hold count
// 16-byte elements; an element's pos counts from the element's own start.
const (
	pageHeaderSize  = 16
	elementSize     = 16
	bucketHeader    = 16 // a bucket's value: root page u64, sequence u64
	maxTreeDepth    = 64
	metaMagic       = 0xED0CDAED
	metaVersion     = 2
	metaChecksummed = 56 // magic … txid: what the meta checksum covers
	noFreelist      = ^uint64(0)

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	leafFlagBucket = 0x01
)

// meta is the part of a meta page the walk needs.
type meta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	hwm      uint64 // pages in use: the high water mark
	txid     uint64
}

// walker checks every page the current meta reaches, reading the file with
// ReadAt: every id in range, each page reached once and of the type its
// parent expects, every element, key and value inside its page, keys in
// order, no page both in use and free.
type walker struct {
	r        io.ReaderAt
	pageSize uint64
	hwm      uint64
	seen     []bool   // by page id: reached from the tree
	free     []bool   // by page id: in the freelist
	bufs     [][]byte // by depth: the page being read there
}

// walkFile checks the bbolt file f (size bytes) as seen by the
// transaction with id txid and page size pageSize: the meta page bbolt chose.
func walkFile(f *os.File, size int64, pageSize int, txid uint64) error {
	m, err := currentMeta(f, pageSize, txid)
	if err != nil {
		return err
	}
	if m.hwm < 2 || m.hwm > uint64(size)/uint64(pageSize) {
		return fmt.Errorf("%w: the file is truncated (%d bytes, its pages need %d)", ErrCorrupt, size, m.hwm*uint64(pageSize))
	}
	w := &walker{r: f, pageSize: uint64(pageSize), hwm: m.hwm, seen: make([]bool, m.hwm), free: make([]bool, m.hwm)}
	if m.freelist != noFreelist {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	_, _, err = w.tree(m.root, nil, nil, 0)
	return err
}

// currentMeta reads both meta pages and returns the valid one with txid.
func currentMeta(r io.ReaderAt, pageSize int, txid uint64) (meta, error) {
	for i := range int64(2) {
		b := make([]byte, pageHeaderSize+metaChecksummed+8)
		if _, err := r.ReadAt(b, i*int64(pageSize)); err != nil {
			return meta{}, fmt.Errorf("%w: meta page %d unreadable: %w", ErrCorrupt, i, err)
		}
		m, ok := parseMeta(b)
		if ok && m.txid == txid && m.pageSize == uint32(pageSize) {
			return m, nil
		}
	}
	return meta{}, fmt.Errorf("%w: no meta page matches the one bbolt opened", ErrCorrupt)
}

func parseMeta(b []byte) (meta, bool) {
	le := binary.LittleEndian
	if le.Uint16(b[8:])&flagMeta == 0 {
		return meta{}, false
	}
	body := b[pageHeaderSize:]
	h := fnv.New64a()
	_, _ = h.Write(body[:metaChecksummed])
	if le.Uint32(body) != metaMagic || le.Uint32(body[4:]) != metaVersion || h.Sum64() != le.Uint64(body[metaChecksummed:]) {
		return meta{}, false
	}
	return meta{
		pageSize: le.Uint32(body[8:]),
		root:     le.Uint64(body[16:]),
		freelist: le.Uint64(body[32:]),
		hwm:      le.Uint64(body[40:]),
		txid:     le.Uint64(body[48:]),
	}, true
}

// read returns page id with its overflow pages, after checking its header
// (its own id, a type in want) and marking it reached. The bytes are valid
// until the next read at the same depth: each depth has a buffer of its
// own, so a walk of a million messages does not allocate per page.
func (w *walker) read(id uint64, want uint16, depth int) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("%w: page %d: outside the file's %d pages", ErrCorrupt, id, w.hwm)
	}
	for len(w.bufs) <= depth {
		w.bufs = append(w.bufs, make([]byte, w.pageSize))
	}
	b := w.bufs[depth][:w.pageSize]
	if _, err := w.r.ReadAt(b, int64(id*w.pageSize)); err != nil {
		return nil, fmt.Errorf("%w: page %d: %w", ErrCorrupt, id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(b); got != id {
		return nil, fmt.Errorf("%w: page %d: its header says page %d", ErrCorrupt, id, got)
	}
	if flags := le.Uint16(b[8:]); flags&want == 0 || flags&^want != 0 || (flags&flagBranch != 0 && flags&flagLeaf != 0) {
		return nil, fmt.Errorf("%w: page %d: unexpected type %#x", ErrCorrupt, id, flags)
	}
	last := id + uint64(le.Uint32(b[12:]))
	if last >= w.hwm || last < id {
		return nil, fmt.Errorf("%w: page %d: its overflow runs past the file's %d pages", ErrCorrupt, id, w.hwm)
	}
	for p := id; p <= last; p++ {
		if w.seen[p] {
			return nil, fmt.Errorf("%w: page %d: reached twice", ErrCorrupt, p)
		}
		if w.free[p] {
			return nil, fmt.Errorf("%w: page %d: both in use and free", ErrCorrupt, p)
		}
		w.seen[p] = true
	}
	if last > id {
		size := (last - id + 1) * w.pageSize
		if uint64(cap(w.bufs[depth])) < size {
			w.bufs[depth] = make([]byte, size)
		}
		b = w.bufs[depth][:size]
		if _, err := w.r.ReadAt(b, int64(id*w.pageSize)); err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrCorrupt, id, err)
		}
	}
	return b, nil
}

// freelist reads the freelist page and marks the free pages.
func (w *walker) freelist(id uint64) error {
	b, err := w.read(id, flagFreelist, 0)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	n, start := uint64(le.Uint16(b[10:])), uint64(pageHeaderSize)
	if n == 0xFFFF { // the real count is the first id slot
		n, start = le.Uint64(b[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > (uint64(len(b))-start)/8 {
		return fmt.Errorf("%w: page %d: the freelist's %d ids do not fit", ErrCorrupt, id, n)
	}
	for i := range n {
		p := le.Uint64(b[start+8*i:])
		if p < 2 || p >= w.hwm || w.seen[p] {
			return fmt.Errorf("%w: page %d: the freelist holds page %d", ErrCorrupt, id, p)
		}
		w.free[p] = true
	}
	return nil
}

// tree checks the b+tree rooted at page id: every key within [lo, hi) (nil:
// open), every leaf at the same depth (a B+tree is balanced: a page whose
// type was changed shows as a leaf among branches, or the other way), and
// the trees of the buckets its leaves hold. It returns the subtree's first
// key and its height (0: a leaf).
func (w *walker) tree(id uint64, lo, hi []byte, depth int) ([]byte, int, error) {
	if depth > maxTreeDepth {
		return nil, 0, fmt.Errorf("%w: page %d: the tree is deeper than %d", ErrCorrupt, id, maxTreeDepth)
	}
	b, err := w.read(id, flagBranch|flagLeaf, depth)
	if err != nil {
		return nil, 0, err
	}
	n, err := elements(b, id)
	if err != nil {
		return nil, 0, err
	}
	if binary.LittleEndian.Uint16(b[8:])&flagLeaf != 0 {
		keys, err := w.leaf(b, n, id, depth)
		if err != nil {
			return nil, 0, err
		}
		return first(keys), 0, inOrder(keys, lo, hi, id)
	}
	keys, children, err := branch(b, n, id)
	if err != nil {
		return nil, 0, err
	}
	if err := inOrder(keys, lo, hi, id); err != nil {
		return nil, 0, err
	}
	height := -1
	for i, child := range children {
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		_, h, err := w.tree(child, keys[i], next, depth+1)
		if err != nil {
			return nil, 0, err
		}
		if height >= 0 && h != height {
			return nil, 0, fmt.Errorf("%w: page %d: its subtrees have different heights (%d and %d)", ErrCorrupt, id, height, h)
		}
		height = h
	}
	return first(keys), height + 1, nil
}

// elements checks that page b's element array fits and returns its length.
func elements(b []byte, id uint64) (int, error) {
	n := int(binary.LittleEndian.Uint16(b[10:]))
	if pageHeaderSize+n*elementSize > len(b) {
		return 0, fmt.Errorf("%w: page %d: %d elements do not fit", ErrCorrupt, id, n)
	}
	return n, nil
}

// field returns the length bytes at the element's start + pos, if they
// lie inside b.
func field(b []byte, elem, pos, length uint64, id uint64) ([]byte, error) {
	start := elem + pos
	if start < elem || start+length < start || start+length > uint64(len(b)) {
		return nil, fmt.Errorf("%w: page %d: an element reaches outside its page", ErrCorrupt, id)
	}
	return b[start : start+length], nil
}

func branch(b []byte, n int, id uint64) (keys [][]byte, children []uint64, err error) {
	le := binary.LittleEndian
	for i := range n {
		e := uint64(pageHeaderSize + i*elementSize)
		k, err := field(b, e, uint64(le.Uint32(b[e:])), uint64(le.Uint32(b[e+4:])), id)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, bytes.Clone(k))
		children = append(children, le.Uint64(b[e+8:]))
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("%w: page %d: an empty branch", ErrCorrupt, id)
	}
	return keys, children, nil
}

// leaf checks a leaf's elements and the buckets they hold; it returns the
// keys.
func (w *walker) leaf(b []byte, n int, id uint64, depth int) ([][]byte, error) {
	le := binary.LittleEndian
	keys := make([][]byte, 0, n)
	for i := range n {
		e := uint64(pageHeaderSize + i*elementSize)
		flags, pos, ksize, vsize := le.Uint32(b[e:]), uint64(le.Uint32(b[e+4:])), uint64(le.Uint32(b[e+8:])), uint64(le.Uint32(b[e+12:]))
		kv, err := field(b, e, pos, ksize+vsize, id)
		if err != nil {
			return nil, err
		}
		if flags&^leafFlagBucket != 0 { // bbolt knows one leaf flag: a branch read as a leaf shows here
			return nil, fmt.Errorf("%w: page %d: unknown leaf element flags %#x", ErrCorrupt, id, flags)
		}
		keys = append(keys, kv[:ksize])
		if flags&leafFlagBucket != 0 {
			if err := w.bucket(kv[ksize:], id, depth); err != nil {
				return nil, err
			}
		}
	}
	return keys, nil
}

// bucket checks a bucket's value: a tree of its own, or an inline page.
func (w *walker) bucket(v []byte, id uint64, depth int) error {
	if len(v) < bucketHeader {
		return fmt.Errorf("%w: page %d: a bucket header of %d bytes", ErrCorrupt, id, len(v))
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		_, _, err := w.tree(root, nil, nil, depth+1)
		return err
	}
	inline := v[bucketHeader:]
	if len(inline) < pageHeaderSize || binary.LittleEndian.Uint16(inline[8:]) != flagLeaf {
		return fmt.Errorf("%w: page %d: an inline bucket that is not a leaf", ErrCorrupt, id)
	}
	n, err := elements(inline, id)
	if err != nil {
		return err
	}
	if depth+1 > maxTreeDepth {
		return fmt.Errorf("%w: page %d: buckets nested deeper than %d", ErrCorrupt, id, maxTreeDepth)
	}
	keys, err := w.leaf(inline, n, id, depth+1)
	if err != nil {
		return err
	}
	return inOrder(keys, nil, nil, id)
}

// inOrder checks that keys ascend strictly and lie within [lo, hi).
func inOrder(keys [][]byte, lo, hi []byte, id uint64) error {
	for i, k := range keys {
		if (i > 0 && bytes.Compare(keys[i-1], k) >= 0) || (lo != nil && bytes.Compare(k, lo) < 0) || (hi != nil && bytes.Compare(k, hi) >= 0) {
			return fmt.Errorf("%w: page %d: keys out of order", ErrCorrupt, id)
		}
	}
	return nil
}

func first(keys [][]byte) []byte {
	if len(keys) == 0 {
		return nil
	}
	return keys[0]
}
