package chat

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// File transfer (PROTOCOL.md 5.12): an offer is a signed message in a
// room; its chunks are fetched over the links of that room's members with
// file-request / file-data / file-none frames, verified one by one, and
// served again by every member that holds them.

// ErrNoFiles is returned when the node has no folder for file records
// (Config.FilesDir).
var ErrNoFiles = errors.New("file transfer is off: the node has no files folder")

// fileTable is what the node serves and fetches, with its own lock.
type fileTable struct {
	sync.Mutex
	store     *files.Store
	served    map[[files.HashSize]byte]*servable // by manifest root
	transfers map[string]*transfer               // by offer id
	changed   map[[files.HashSize]byte]bool      // served files found changed this run (noteChanged)
}

// servable is a file or folder this node can serve chunks of: whole (src)
// or in part (part, while it is being fetched).
type servable struct {
	rooms    []string // where it was offered (the same content may be offered in several)
	manifest []byte   // encoded, for manifest requests
	src      *files.Source
	part     *files.Partial
	m        *files.Manifest
}

// errNotHeld: the chunk asked for is not verified here (yet).
var errNotHeld = errors.New("chunk not held")

// read returns chunk i if this node holds it verified. The error wraps
// files.ErrChanged when the whole file on disk no longer holds what was
// offered.
func (s *servable) read(i int, buf []byte) ([]byte, error) {
	if s.src != nil {
		return s.src.ReadChunk(i, buf)
	}
	if data, ok := s.part.ReadChunk(i, buf); ok {
		return data, nil
	}
	return nil, errNotHeld
}

// fileStore opens the record folder on first use.
func (n *Node) fileStore() (*files.Store, error) {
	n.files.Lock()
	defer n.files.Unlock()
	return n.fileStoreLocked()
}

func (n *Node) fileStoreLocked() (*files.Store, error) {
	if n.files.store != nil {
		return n.files.store, nil
	}
	if n.cfg.FilesDir == "" {
		return nil, ErrNoFiles
	}
	st, err := files.OpenStore(n.cfg.FilesDir, n.store)
	if err != nil {
		return nil, err
	}
	n.files.store = st
	if n.files.served == nil {
		n.files.served = map[[files.HashSize]byte]*servable{}
		n.files.transfers = map[string]*transfer{}
	}
	return st, nil
}

// serve registers what the node can serve for root.
func (n *Node) serveFile(root [files.HashSize]byte, s *servable) {
	n.files.Lock()
	defer n.files.Unlock()
	old := n.files.served[root]
	if old != nil {
		s.rooms = mergeRooms(old.rooms, s.rooms)
	}
	if old != nil && old.src != nil {
		kept := *old // a copy: answers read rooms without the lock
		kept.rooms = s.rooms
		n.files.served[root] = &kept
		if s.src != nil {
			s.src.Close() // keep the first whole copy
		}
		return
	}
	n.files.served[root] = s
}

// mergeRooms returns the rooms of a and b, each once.
func mergeRooms(a, b []string) []string {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// servableFor returns what the node serves for root, or nil.
func (n *Node) servableFor(root [files.HashSize]byte) *servable {
	n.files.Lock()
	defer n.files.Unlock()
	return n.files.served[root]
}

// noteChanged says, once per offer and run, that a file this node
// serves no longer holds what was offered (cause wraps files.ErrChanged):
// in the log, in this node's offer records, and as an EventFile with the
// offer's view, whose Error (also in Files) says what happened. The chunks
// that still match are served on; the others are not.
func (n *Node) noteChanged(root [files.HashSize]byte, cause error) {
	n.files.Lock()
	if n.files.changed[root] {
		n.files.Unlock()
		return
	}
	if n.files.changed == nil {
		n.files.changed = map[[files.HashSize]byte]bool{}
	}
	n.files.changed[root] = true
	st := n.files.store
	n.files.Unlock()
	why := fmt.Sprintf("%v: what no longer matches is not served; offer it again to share what it holds now", cause)
	n.logf("file %x…: %s", root[:4], why)
	if st == nil {
		return
	}
	shares, err := st.Shares()
	if err != nil {
		n.logf("file records: %v", err)
		return
	}
	rootHex := hex.EncodeToString(root[:])
	var ids []string
	for _, sh := range shares {
		if sh.Root != rootHex {
			continue
		}
		sh.Changed = why
		if err := st.PutShare(sh); err != nil {
			n.logf("recording that offer %s changed: %v", sh.OfferID, err)
		}
		ids = append(ids, sh.OfferID)
	}
	if len(ids) == 0 {
		return // a fetched copy changed: nothing of ours was offered
	}
	views, err := n.Files()
	if err != nil {
		n.logf("file offers: %v", err)
		return
	}
	for _, v := range views {
		if slices.Contains(ids, v.ID) {
			n.events.publish(Event{Kind: EventFile, Room: v.Room, File: v})
		}
	}
}

// OfferFile hashes the file or folder at path and offers it in room: a
// signed message carrying the offer (it is stored, synced and shown like
// any message), after which the node serves its chunks to the room's
// members, also after a restart, for as long as the file stays as it was.
// Inside a folder, symlinks and special files are left out (Skipped).
func (n *Node) OfferFile(ctx context.Context, roomName, path string) (*FileView, error) {
	st, err := n.fileStore()
	if err != nil {
		return nil, err
	}
	name, err := NormalizeRoom(roomName)
	if err != nil {
		return nil, err
	}
	if isConvo(name) && !n.convoMember(name) {
		return nil, fmt.Errorf("%w: %s", ErrNotMember, name)
	}
	if !isConvo(name) && n.room(name) == nil {
		return nil, fmt.Errorf("%w %q: join it first", ErrNotJoined, name)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := files.Build(ctx, abs, files.DefaultChunkSize)
	if err != nil {
		return nil, err
	}
	enc := b.Manifest.Encode()
	o := &files.Offer{Name: b.Name, Folder: b.Folder, Size: b.Manifest.Size(), Files: uint32(b.Manifest.FileCount()),
		ChunkSize: b.Manifest.ChunkSize, ManifestSize: uint32(len(enc)), Root: files.Root(enc)}
	if !b.Folder {
		o.MIME = mime.TypeByExtension(strings.ToLower(filepath.Ext(b.Name)))
		if len(o.MIME) > 100 {
			o.MIME = ""
		}
	}
	if err := st.PutManifest(enc); err != nil {
		return nil, fmt.Errorf("keeping the chunk list: %w", err)
	}
	src, err := files.NewSource(abs, b.Folder, b.Manifest, b.Stamps)
	if err != nil {
		return nil, err
	}
	share := files.Share{Room: name, Root: hex.EncodeToString(o.Root[:]), Path: abs, Folder: b.Folder, Stamps: b.Stamps}
	if err := st.PutShare(share); err != nil {
		src.Close()
		return nil, fmt.Errorf("recording the offer: %w", err)
	}
	n.serveFile(o.Root, &servable{rooms: []string{name}, manifest: enc, src: src, m: b.Manifest})
	v, _, err := n.Send(ctx, name, o.Body())
	if err != nil {
		return nil, err
	}
	share.OfferID = v.ID
	if err := st.PutShare(share); err != nil {
		n.logf("recording offer %s: %v", v.ID, err)
	}
	fv := fileViewOf(v, o)
	fv.State, fv.Path, fv.Have, fv.Skipped = FileOffered, abs, o.Size, b.Skipped
	return fv, nil
}

// OfferFileTo offers the file or folder at path to one trusted peer, in
// the direct conversation with it: only the two of them can fetch it.
func (n *Node) OfferFileTo(ctx context.Context, peer lcrypto.Fingerprint, path string) (*FileView, error) {
	if _, ok, err := n.store.IsTrusted(peer); err != nil || !ok {
		return nil, fmt.Errorf("%w: trust %s first (lanchat trust)", ErrNoPeer, peer.Short())
	}
	c, err := n.directWith(peer)
	if err != nil {
		return nil, err
	}
	return n.OfferFile(ctx, c.id, path)
}

// startFiles loads what the node offered and fetched before, serves it,
// and resumes the fetches that were under way (Run, before any link).
func (n *Node) startFiles(ctx context.Context) {
	st, err := n.fileStore()
	if err != nil {
		if !errors.Is(err, ErrNoFiles) {
			n.logf("file records: %v", err)
		}
		return
	}
	shares, err := st.Shares()
	if err != nil {
		n.logf("file records: %v", err)
	}
	for _, sh := range shares {
		root, m, enc, err := loadManifest(st, sh.Root)
		if err != nil {
			n.logf("offer %s: %v", sh.OfferID, err)
			continue
		}
		src, err := files.NewSource(sh.Path, sh.Folder, m, sh.Stamps)
		if err != nil {
			n.logf("offer %s: %v (it is no longer served)", sh.OfferID, err)
			continue
		}
		n.serveFile(root, &servable{rooms: []string{sh.Room}, manifest: enc, src: src, m: m})
	}
	fetches, err := st.Fetches()
	if err != nil {
		n.logf("file records: %v", err)
	}
	for _, f := range fetches {
		switch f.State {
		case files.FetchDone:
			root, m, enc, err := loadManifest(st, f.Root)
			if err != nil {
				continue
			}
			src, err := files.NewSource(f.Final, f.Folder, m, f.Stamps)
			if err == nil {
				n.serveFile(root, &servable{rooms: []string{f.Room}, manifest: enc, src: src, m: m})
			}
		case files.FetchActive:
			if _, err := n.Fetch(ctx, f.OfferID, f.OutDir); err != nil {
				n.logf("resuming fetch of %s: %v", f.OfferID, err)
			}
		}
	}
}

// loadManifest reads a kept manifest by its hex root.
func loadManifest(st *files.Store, rootHex string) ([files.HashSize]byte, *files.Manifest, []byte, error) {
	var root [files.HashSize]byte
	if b, err := hex.DecodeString(rootHex); err != nil || len(b) != files.HashSize {
		return root, nil, nil, fmt.Errorf("bad root %q in the file records", rootHex)
	} else {
		copy(root[:], b)
	}
	m, err := st.Manifest(root)
	if err != nil {
		return root, nil, nil, err
	}
	if m == nil {
		return root, nil, nil, errors.New("its chunk list is gone")
	}
	return root, m, m.Encode(), nil
}

// closeFiles releases the served files (Run, after every link ended).
func (n *Node) closeFiles() {
	n.files.Lock()
	defer n.files.Unlock()
	for root, s := range n.files.served {
		if s.src != nil {
			s.src.Close()
		}
		delete(n.files.served, root)
	}
}

// autoFetch starts fetching the offer a new message carries if the
// AutoFetch policy allows it: a trusted author (or one of From), a size up
// to MaxBytes, never fetched here before.
func (n *Node) autoFetch(v *MessageView) {
	p := n.cfg.AutoFetch
	if p.Dir == "" || v.File == nil || v.Own || !v.Trusted || v.File.Size > p.MaxBytes {
		return
	}
	o := fileOfferOf(v.Body)
	if o == nil {
		return
	}
	if len(p.From) > 0 && !slices.ContainsFunc(p.From, func(fp lcrypto.Fingerprint) bool { return fp.String() == v.Author }) {
		return
	}
	st, err := n.fileStore()
	if err != nil {
		return
	}
	if _, err := n.startFetch(st, v, o, p.Dir, true); err != nil {
		n.logf("fetching %s by the auto-fetch policy: %v", o.Name, err)
	}
}
