package files

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotRegular is returned when asked to offer something that is neither a
// regular file nor a folder.
var ErrNotRegular = errors.New("not a regular file or folder")

// Built is a manifest made from the disk, with what was left out.
type Built struct {
	Manifest *Manifest
	Name     string   // the offer's name: the file's or folder's base name
	Folder   bool     // a folder offer
	Skipped  []string // symlinks, devices and other special files not offered (relative paths)
	// Stamps has one Stamp per manifest entry: the file's state when it
	// was hashed (zero for folders), for NewSource.
	Stamps []Stamp
}

// Build hashes the file or folder at path into a manifest. Inside a folder
// only regular files and folders are offered: symlinks, devices, sockets
// and pipes are skipped and listed. Hashing reads each file once, in
// chunks: memory stays bounded by the chunk list.
func Build(ctx context.Context, path string, chunkSize uint32) (*Built, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(abs)
	if err := CheckName(name); err != nil {
		return nil, fmt.Errorf("%s: %w: rename it first", path, err)
	}
	m := &Manifest{ChunkSize: chunkSize}
	b := &Built{Manifest: m, Name: name, Folder: fi.IsDir()}
	switch {
	case fi.Mode().IsRegular():
		if err := b.addFile(ctx, abs, name); err != nil {
			return nil, err
		}
	case fi.IsDir():
		if err := b.walk(ctx, abs); err != nil {
			return nil, err
		}
		if len(m.Entries) == 0 {
			return nil, fmt.Errorf("%s: the folder has nothing to offer", path)
		}
	default:
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.index(); err != nil {
		return nil, err
	}
	if n := len(m.Encode()); n > MaxManifestBytes {
		return nil, fmt.Errorf("%s: its chunk list takes %d bytes, more than %d: offer a smaller folder or file", path, n, MaxManifestBytes)
	}
	return b, nil
}

// walk adds a folder's tree, in lexical order, skipping special files.
func (b *Built) walk(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if CheckPath(rel) != nil || !d.Type().IsRegular() && !d.IsDir() {
			b.Skipped = append(b.Skipped, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if len(b.Manifest.Entries) >= MaxEntries {
			return fmt.Errorf("more than %d files and folders: offer a smaller folder", MaxEntries)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			b.Manifest.Entries = append(b.Manifest.Entries, Entry{Path: rel, Dir: true, Mode: uint16(fi.Mode().Perm())})
			b.Stamps = append(b.Stamps, Stamp{})
			return nil
		}
		return b.addFile(ctx, p, rel)
	})
}

// addFile hashes one file into the manifest, with its stamp: the file's
// state before and after it was read must be the same (no write while it
// was hashed), or the offer would not match the file.
func (b *Built) addFile(ctx context.Context, p, rel string) error {
	m := b.Manifest
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", p, ErrNotRegular)
	}
	size := uint64(fi.Size())
	buf := make([]byte, m.ChunkSize)
	for off := uint64(0); off < size; off += uint64(m.ChunkSize) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(uint64(m.ChunkSize), size-off)
		if _, err := io.ReadFull(f, buf[:n]); err != nil {
			return fmt.Errorf("reading %s: %w (did it change while being offered?)", p, err)
		}
		m.Hashes = append(m.Hashes, sha256.Sum256(buf[:n]))
	}
	after, err := f.Stat()
	if err != nil {
		return err
	}
	st := stampOf(after)
	if st != stampOf(fi) {
		return fmt.Errorf("%s changed while it was being hashed: offer it again once it is written", p)
	}
	m.Entries = append(m.Entries, Entry{Path: rel, Mode: uint16(fi.Mode().Perm()), Size: size})
	b.Stamps = append(b.Stamps, st)
	return nil
}
