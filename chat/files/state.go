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
// restart: the manifests (checked against their root when read), what this
// node offered (Share) and what it fetches (Fetch). The records name files,
// folders and where they are on this machine, so they live in the sealed
// database (Records), never in a file of their own. Records written by an
// older lanchat as files in the data dir's files/ folder are moved into the
// database when a Store is opened for writing (OpenStore).
type Store struct {
	recs Records
	dir  string // the folder of records an older lanchat wrote (may not exist)
}

// Records is where a Store keeps its records: storage.DB seals each one
// with the data key, bound to its kind and id.
type Records interface {
	// PutFileRecord stores val under (kind, id), durably, replacing any.
	PutFileRecord(kind, id string, val []byte) error
	// FileRecord returns the record (kind, id), nil if there is none.
	FileRecord(kind, id string) ([]byte, error)
	// FileRecords returns every record of kind and how many did not open.
	FileRecords(kind string) ([][]byte, int, error)
}

// Record kinds.
const (
	kindShare    = "share"
	kindFetch    = "fetch"
	kindManifest = "manifest"
)

// Share is a file or folder this node offered.
type Share struct {
	OfferID string `json:"offer_id"` // the offer message's id
	Room    string `json:"room"`
	Root    string `json:"root"` // hex
	Path    string `json:"path"` // absolute
	Folder  bool   `json:"folder"`
	// Stamps are the files' states when they were hashed, one per
	// manifest entry (see Stamp); none in records of older versions.
	Stamps []Stamp `json:"stamps,omitempty"`
	// Changed says how the files changed since they were offered (what
	// no longer matches is not served), empty while they have not.
	Changed string `json:"changed,omitempty"`
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
	// Stamps are the states of the finished copy's files (see Stamp).
	Stamps []Stamp `json:"stamps,omitempty"`
}

// OpenStore opens the records in recs, first moving into it the record
// files an older lanchat left in legacyDir (each file is removed only once
// its record is durable in recs, so a crash at any point loses none; a
// damaged one is left where it is and named in the error).
func OpenStore(legacyDir string, recs Records) (*Store, error) {
	s := &Store{recs: recs, dir: legacyDir}
	if err := s.migrate(); err != nil {
		return nil, err
	}
	return s, nil
}

// ViewStore opens the records in recs for reading only: the record files
// an older lanchat left in legacyDir are read as well, not moved.
func ViewStore(legacyDir string, recs Records) *Store {
	return &Store{recs: recs, dir: legacyDir}
}

// PutManifest keeps an encoded manifest under its root.
func (s *Store) PutManifest(enc []byte) error {
	r := Root(enc)
	return s.recs.PutFileRecord(kindManifest, hex.EncodeToString(r[:]), enc)
}

// Manifest returns the manifest kept for root, checked against it; nil if
// none is kept.
func (s *Store) Manifest(root [HashSize]byte) (*Manifest, error) {
	id := hex.EncodeToString(root[:])
	b, err := s.recs.FileRecord(kindManifest, id)
	if err != nil {
		return nil, err
	}
	if b == nil {
		if b, err = s.legacyFile(id + ".manifest"); b == nil || err != nil {
			return nil, err
		}
	}
	if Root(b) != root {
		return nil, fmt.Errorf("the kept manifest of %x is damaged", root[:4])
	}
	return DecodeManifest(b)
}

// PutShare records an offer of this node.
func (s *Store) PutShare(sh Share) error { return s.putJSON(kindShare, sh.Root, sh) }

// PutFetch records (or updates) an accepted offer.
func (s *Store) PutFetch(f Fetch) error { return s.putJSON(kindFetch, f.OfferID, f) }

// Shares returns every recorded share.
func (s *Store) Shares() ([]Share, error) {
	return readAll(s, kindShare, func(sh Share) string { return sh.Root })
}

// Fetches returns every recorded fetch.
func (s *Store) Fetches() ([]Fetch, error) {
	return readAll(s, kindFetch, func(f Fetch) string { return f.OfferID })
}

func readAll[T any](s *Store, kind string, id func(T) string) ([]T, error) {
	recs, _, err := s.recs.FileRecords(kind)
	if err != nil {
		return nil, err
	}
	var out []T
	seen := map[string]bool{}
	for _, b := range recs {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("a %s record: %w", kind, err)
		}
		seen[id(v)] = true
		out = append(out, v)
	}
	legacy, err := legacyRecords[T](s.dir, kind+"-")
	if err != nil {
		return nil, err
	}
	for _, l := range legacy {
		if !seen[id(l.v)] {
			out = append(out, l.v)
		}
	}
	return out, nil
}

func (s *Store) putJSON(kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return diskErr(s.recs.PutFileRecord(kind, id, b))
}

// legacyFile returns the content of the old record file name, nil if
// there is none.
func (s *Store) legacyFile(name string) ([]byte, error) {
	if s.dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

type legacyRecord[T any] struct {
	name string
	raw  []byte
	v    T
}

// legacyRecords reads the old record files prefix*.json in dir.
func legacyRecords[T any](dir, prefix string) ([]legacyRecord[T], error) {
	if dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []legacyRecord[T]
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var v T
		if json.Unmarshal(b, &v) != nil {
			continue // damaged: left where it is
		}
		out = append(out, legacyRecord[T]{name: e.Name(), raw: b, v: v})
	}
	return out, nil
}
