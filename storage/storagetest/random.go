package storagetest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"go.etcd.io/bbolt"
)

// bbolt's page layout (go.etcd.io/bbolt/internal/common), little-endian:
// a 16-byte header (id u64, flags u16, count u16, overflow u32), then count
// 16-byte elements: branch (pos u32, ksize u32, pgid u64) or leaf (flags u32,
// pos u32, ksize u32, vsize u32); pos counts from the element's own start.
const (
	pageHeader   = 16
	elementSize  = 16
	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagFreelist = 0x10
	leafIsBucket = 0x01
)

// usedPage is a page that the current tree or freelist uses.
type usedPage struct {
	id       int
	overflow int
	flags    uint16
	count    int
}

// usedPages lists the pages after the meta pages that the file's current
// meta reaches (tree pages and the freelist), and the high water mark.
func usedPages(path string) (pages []usedPage, hwm int, err error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		return nil, 0, fmt.Errorf("storagetest: %w", err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		hwm = int(tx.Size() / int64(db.Info().PageSize))
		for id := 2; id < hwm; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil || info.Type == "free" {
				continue
			}
			p := usedPage{id: id, overflow: info.OverflowCount, count: info.Count}
			switch info.Type {
			case "branch":
				p.flags = flagBranch
			case "leaf":
				p.flags = flagLeaf
			case "freelist":
				p.flags = flagFreelist
			}
			pages = append(pages, p)
			id += info.OverflowCount
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("storagetest: %w", err)
	}
	return pages, hwm, nil
}

// DamageRandomPage damages one page that the database at path uses, in a
// way that any reader of the structure can tell (a bad page header, type or
// element count, a key or value outside its page, a child or bucket root
// page outside the file, random bytes over a whole page, or the file cut
// short), chosen by rng. It returns what it did.
func DamageRandomPage(path string, rng *rand.Rand) (string, error) {
	pages, hwm, err := usedPages(path)
	if err != nil {
		return "", err
	}
	if len(pages) == 0 {
		return "", fmt.Errorf("storagetest: %s has no pages to damage", path)
	}
	kind := rng.IntN(7)
	if kind == 6 {
		keep := 2 + rng.IntN(hwm-2)
		return fmt.Sprintf("file cut to %d of %d pages", keep, hwm), cut(path, keep)
	}
	p := pages[rng.IntN(len(pages))]
	var what string
	err = rewrite(path, func(b []byte, pageSize int) []byte {
		page := b[p.id*pageSize : (p.id+p.overflow+1)*pageSize]
		what = damagePage(page, p, hwm, kind, rng)
		return b
	})
	return what, err
}

// cut truncates the file at path to its first n pages.
func cut(path string, n int) error {
	return rewrite(path, func(b []byte, pageSize int) []byte { return b[:n*pageSize] })
}

func damagePage(page []byte, p usedPage, hwm, kind int, rng *rand.Rand) string {
	le := binary.LittleEndian
	tree := p.flags != flagFreelist && p.count > 0
	if !tree && kind >= 2 && kind <= 4 {
		kind = rng.IntN(2) // no elements to damage: a header or the whole page
	}
	elemAt := func(i int) []byte { return page[pageHeader+i*elementSize : pageHeader+(i+1)*elementSize] }
	elem := func() []byte { return elemAt(rng.IntN(p.count)) }
	beyond := func() uint32 { return uint32(len(page)) + rng.Uint32N(1<<31) }
	switch kind {
	case 0:
		for {
			fillRandom(page[:pageHeader], rng)
			if le.Uint64(page) != uint64(p.id) {
				return fmt.Sprintf("page %d: random header", p.id)
			}
		}
	case 1:
		for {
			fillRandom(page, rng)
			if le.Uint64(page) != uint64(p.id) {
				return fmt.Sprintf("page %d: random bytes over the whole page", p.id)
			}
		}
	case 2:
		e := elem()
		if p.flags == flagBranch && rng.IntN(2) == 0 {
			le.PutUint64(e[8:], uint64(hwm)+rng.Uint64N(1<<40))
			return fmt.Sprintf("page %d: a branch element points past the last page", p.id)
		}
		fields := []int{4, 8, 12} // a leaf's pos, ksize, vsize
		if p.flags == flagBranch {
			fields = []int{0, 4} // a branch's pos, ksize
		}
		field := fields[rng.IntN(len(fields))]
		le.PutUint32(e[field:], beyond())
		return fmt.Sprintf("page %d: an element field at +%d points outside the page", p.id, field)
	case 3:
		maxFit := (len(page) - pageHeader) / elementSize
		le.PutUint16(page[10:], uint16(maxFit+1+rng.IntN(0xFFFF-maxFit-1)))
		return fmt.Sprintf("page %d: element count larger than the page", p.id)
	case 4:
		if p.flags == flagLeaf {
			for i := range p.count {
				e := elemAt(i)
				pos, ksize, vsize := int(le.Uint32(e[4:])), int(le.Uint32(e[8:])), le.Uint32(e[12:])
				start := pageHeader + i*elementSize + pos + ksize // the value: the bucket's header
				if le.Uint32(e)&leafIsBucket != 0 && vsize >= 16 && le.Uint64(page[start:]) != 0 {
					le.PutUint64(page[start:], uint64(hwm)+rng.Uint64N(1<<40))
					return fmt.Sprintf("page %d: a bucket's root points past the last page", p.id)
				}
			}
		}
		fallthrough
	default:
		flags := [...]uint16{flagBranch, flagLeaf, flagFreelist, 0x04, 0}
		for {
			f := flags[rng.IntN(len(flags))]
			if f != p.flags {
				le.PutUint16(page[8:], f)
				return fmt.Sprintf("page %d: type %#x instead of %#x", p.id, f, p.flags)
			}
		}
	}
}

func fillRandom(b []byte, rng *rand.Rand) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
