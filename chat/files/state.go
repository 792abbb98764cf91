package files

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Store keeps what a node needs to go on serving and fetching after a
// restart, one small file per record in a folder of the data dir: the
// manifests (checked against their root when read), what this node
// offered (Share) and what it fetches (Fetch). Records are replaced
// atomically (written aside, synced, renamed).
type Store struct{ dir string }

// Share is a file or folder this node offered.
type Share struct {
	OfferID string `json:"offer_id"` // the offer message's id
	Room    string `json:"room"`
	Root    string `json:"root"` // hex
	Path    string `json:"path"` // absolute
	Folder  bool   `json:"folder"`
}

// Fetch states.
const (
	FetchActive = "active" // being fetched (resumed on start)
	FetchDone   = "done"   // complete, verified and in place at Final
	FetchFailed = "failed" // given up (Error says why); a new fetch starts again
)

// Fetch is an offer this node accepted.
type Fetch struct {
	OfferID string `json:"offer_id"`
	Room    string `json:"room"`
	Root    string `json:"root"` // hex
	OutDir  string `json:"out_dir"`
	Folder  bool   `json:"folder"`
	State   string `json:"state"`
	Final   string `json:"final,omitempty"` // the final path once done
	Error   string `json:"error,omitempty"` // why it failed
}

// OpenStore opens (creating) the record folder dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// PutManifest keeps an encoded manifest under its root.
func (s *Store) PutManifest(enc []byte) error {
	r := Root(enc)
	return s.write(hex.EncodeToString(r[:])+".manifest", enc)
}

// Manifest returns the manifest kept for root, checked against it; nil if
// none is kept.
func (s *Store) Manifest(root [HashSize]byte) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, hex.EncodeToString(root[:])+".manifest"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if Root(b) != root {
		return nil, fmt.Errorf("the kept manifest of %x is damaged", root[:4])
	}
	return DecodeManifest(b)
}

// PutShare records an offer of this node.
func (s *Store) PutShare(sh Share) error { return s.putJSON("share-"+sh.Root+".json", sh) }

// PutFetch records (or updates) an accepted offer.
func (s *Store) PutFetch(f Fetch) error { return s.putJSON("fetch-"+f.OfferID+".json", f) }

// Shares returns every recorded share.
func (s *Store) Shares() ([]Share, error) { return readAll[Share](s, "share-") }

// Fetches returns every recorded fetch.
func (s *Store) Fetches() ([]Fetch, error) { return readAll[Fetch](s, "fetch-") }

func readAll[T any](s *Store, prefix string) ([]T, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(s.dir, e.Name()), err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Store) putJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(name, b)
}

// write replaces name atomically.
func (s *Store) write(name string, b []byte) error {
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return diskErr(err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return diskErr(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return diskErr(err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, name)); err != nil {
		return err
	}
	syncDir(s.dir)
	return nil
}
