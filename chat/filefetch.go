package chat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Fetch tuning.
const (
	// fetchWindow bounds the requests in flight of one fetch: 16 chunks of
	// 256 KiB, 4 MiB, enough to keep a LAN link busy.
	fetchWindow = 16
	// fetchWindowPerPeer bounds those to one member, below its link's
	// request queue (fileRequestQueue) and receive queue (4 MiB).
	fetchWindowPerPeer = 8
	// fetchTimeout is how long a request may go unanswered before it is
	// asked of someone else (the member may be slow, not gone).
	fetchTimeout = 30 * time.Second
	// fetchTick is how often a fetch looks at its links, timeouts and a
	// paused disk; and the least time between two progress events.
	fetchTick = 250 * time.Millisecond
	// unknownAgain is how long a member that said it holds nothing of the
	// offer is left alone (it may start fetching it meanwhile).
	unknownAgain = 3 * time.Second
	// maxStrikes is how many chunks that do not match their hash a member
	// may send before a fetch stops asking it.
	maxStrikes = 3
	// diskRetry is how often a fetch paused by a full disk tries again.
	diskRetry = time.Second
	// parkAgain is how often pieces that no linked member holds are asked
	// for again (a member fetching them may have them by then).
	parkAgain = 2 * time.Second
)

type frameKind uint8

const (
	replyData frameKind = iota
	replyNone
)

// reply is a file-data or file-none frame for a fetch.
type reply struct {
	kind frameKind
	from *link
	ref  files.Ref
	data []byte
	why  files.Reason
	// sum is SHA-256 of data, once hashed (a chunk's data, by the fetch's
	// hasher goroutine).
	sum    [files.HashSize]byte
	hashed bool
}

// transfer is one fetch of an offer: a goroutine of the node that asks the
// room's members for chunks, verifies and writes them, and ends when the
// whole file is in place, or the node stops (it resumes at the next start).
type transfer struct {
	n       *Node
	offerID string
	room    string
	offer   *files.Offer
	outDir  string
	inbox   chan reply

	author lcrypto.Fingerprint // the offer's author's: the sender, who holds it all

	mu    sync.Mutex
	asked map[files.Ref]*link // requests in flight, and to whom (guarded by mu)
	haves map[*link]*peerHave // what members said they hold (guarded by mu; filehave.go)
	// haveNews is signalled (never blocking) when a have map comes.
	haveNews chan struct{}
	view     FileView  // what Files shows (guarded by mu)
	last     time.Time // when progress was last published (guarded by mu)
}

// Fetch accepts a file offer: the node fetches it from the members of the
// offer's room into outDir (created if needed), verifying every chunk, and
// renames it into place when whole. It returns at once; progress and the
// end are EventFile events and Files. A fetch interrupted by a restart, a
// link drop or a full disk continues from the chunks that verify. id is the
// offer message's id, or at least 4 characters of its start.
func (n *Node) Fetch(ctx context.Context, id, outDir string) (*FileView, error) {
	st, err := n.fileStore()
	if err != nil {
		return nil, err
	}
	if n.runCtx == nil {
		return nil, errors.New("the node is not running")
	}
	views, err := n.History(HistoryQuery{Grep: files.OfferPrefix})
	if err != nil {
		return nil, err
	}
	v, o, err := findOffer(views, id)
	if err != nil {
		return nil, err
	}
	return n.startFetch(st, v, o, outDir, false)
}

// startFetch starts fetching offer o (message v) into outDir. An automatic
// fetch (auto) starts only for an offer never fetched here before.
func (n *Node) startFetch(st *files.Store, v *MessageView, o *files.Offer, outDir string, auto bool) (*FileView, error) {
	var err error
	if v.Own {
		return nil, fmt.Errorf("%s is your own offer", o.Name)
	}
	if isConvo(v.Room) && !n.convoMember(v.Room) {
		return nil, fmt.Errorf("%w: %s was offered in %s", ErrNotMember, o.Name, v.Room)
	}
	if !isConvo(v.Room) && n.room(v.Room) == nil {
		return nil, fmt.Errorf("%w %q, where %s was offered: join it first", ErrNotJoined, v.Room, o.Name)
	}
	if outDir == "" {
		return nil, errors.New("no folder to fetch into")
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return nil, err
	}
	fv := fileViewOf(v, o)
	n.files.Lock()
	defer n.files.Unlock()
	if n.runCtx.Err() != nil {
		return nil, errors.New("the node is stopping")
	}
	if t := n.files.transfers[v.ID]; t != nil {
		return t.snapshot(), nil
	}
	fetches, err := st.Fetches()
	if err != nil {
		return nil, err
	}
	for _, f := range fetches {
		if f.OfferID == v.ID && auto {
			return nil, nil
		}
		if f.OfferID == v.ID && f.State == files.FetchDone {
			fv.State, fv.Path, fv.Have = FileDone, f.Final, o.Size
			return fv, nil
		}
	}
	rec := files.Fetch{OfferID: v.ID, Room: v.Room, Root: fv.Root, OutDir: outDir, Folder: o.Folder, State: files.FetchActive}
	if err := st.PutFetch(rec); err != nil {
		return nil, fmt.Errorf("recording the fetch: %w", err)
	}
	author, _ := lcrypto.ParseFingerprint(v.Author) // a view's is well formed
	t := &transfer{n: n, offerID: v.ID, room: v.Room, offer: o, outDir: outDir, author: author, inbox: make(chan reply, 2*fetchWindow),
		asked: map[files.Ref]*link{}, view: *fv, haveNews: make(chan struct{}, 1)}
	t.view.State = FileFetching
	n.files.transfers[v.ID] = t
	n.wg.Add(1)
	go t.run(n.runCtx)
	return t.snapshot(), nil
}

// transferFor returns the fetch of root under way, if any.
func (n *Node) transferFor(root [files.HashSize]byte) *transfer {
	n.files.Lock()
	defer n.files.Unlock()
	for _, t := range n.files.transfers {
		if t.offer.Root == root {
			return t
		}
	}
	return nil
}

// liveTransfers returns the views of the fetches under way, by offer id.
func (n *Node) liveTransfers() map[string]*FileView {
	n.files.Lock()
	defer n.files.Unlock()
	out := map[string]*FileView{}
	for id, t := range n.files.transfers {
		out[id] = t.snapshot()
	}
	return out
}

func (t *transfer) snapshot() *FileView {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.view
	return &v
}

// post hands a reply to the fetch if it was asked for, from that link.
func (t *transfer) post(r reply) {
	t.mu.Lock()
	ok := t.asked[r.ref] == r.from
	t.mu.Unlock()
	if !ok {
		return // not asked, or asked of someone else: dropped
	}
	select {
	case t.inbox <- r:
	default: // cannot happen within the window; dropped, asked again on timeout
	}
}

// update changes the view and publishes it (at most every fetchTick unless
// force).
func (t *transfer) update(force bool, f func(v *FileView)) {
	t.mu.Lock()
	f(&t.view)
	now := time.Now()
	if !force && now.Sub(t.last) < fetchTick {
		t.mu.Unlock()
		return
	}
	t.last = now
	v := t.view
	t.mu.Unlock()
	t.n.events.publish(Event{Kind: EventFile, Room: t.room, File: &v})
}

// run is the fetch's goroutine.
func (t *transfer) run(ctx context.Context) {
	n := t.n
	defer n.wg.Done()
	err := t.fetch(ctx)
	n.files.Lock()
	delete(n.files.transfers, t.offerID)
	n.files.Unlock()
	if ctx.Err() != nil {
		return // the node stops: the record stays active, resumed at the next start
	}
	if err != nil {
		n.logf("fetching %s: %v", t.offer.Name, err)
		rec := files.Fetch{OfferID: t.offerID, Room: t.room, Root: t.view.Root, OutDir: t.outDir, Folder: t.offer.Folder,
			State: files.FetchFailed, Error: err.Error()}
		if st, serr := n.fileStore(); serr == nil {
			if serr := st.PutFetch(rec); serr != nil {
				n.logf("recording the failed fetch of %s: %v", t.offer.Name, serr)
			}
		}
		t.update(true, func(v *FileView) { v.State, v.Error = FileFailed, err.Error() })
	}
}

// fetch gets the manifest, then the chunks, then renames the file into place.
func (t *transfer) fetch(ctx context.Context) error {
	n := t.n
	st, err := n.fileStore()
	if err != nil {
		return err
	}
	m, err := st.Manifest(t.offer.Root)
	if err != nil {
		n.logf("kept chunk list of %s: %v (fetching it again)", t.offer.Name, err)
	}
	if m == nil {
		if m, err = t.fetchManifest(ctx); err != nil {
			return err
		}
		if err := st.PutManifest(m.Encode()); err != nil {
			return fmt.Errorf("keeping the chunk list: %w", err)
		}
	}
	var part *files.Partial
	if err := t.retryDisk(ctx, func() (err error) { part, err = files.OpenPartial(t.outDir, t.offer, m); return err }); err != nil {
		return err
	}
	enc := m.Encode()
	n.serveFile(t.offer.Root, &servable{rooms: []string{t.room}, manifest: enc, part: part, m: m})
	have := part.VerifiedBytes()
	t.update(true, func(v *FileView) { v.Have = have })
	if err := t.fetchChunks(ctx, m, part); err != nil {
		return err
	}
	var final string
	if err := t.retryDisk(ctx, func() (err error) { final, err = part.Finish(); return err }); err != nil {
		return err
	}
	// Every chunk was verified as it was written, and the copy is synced:
	// its stamps as it is now let it be served without hashing it again.
	stamps := files.Stamps(final, t.offer.Folder, m)
	if src, err := files.NewSource(final, t.offer.Folder, m, stamps); err == nil {
		n.files.Lock()
		s := &servable{rooms: []string{t.room}, manifest: enc, src: src, m: m}
		if old := n.files.served[t.offer.Root]; old != nil {
			s.rooms = mergeRooms(old.rooms, s.rooms)
		}
		n.files.served[t.offer.Root] = s
		n.files.Unlock()
	}
	part.Close()
	rec := files.Fetch{OfferID: t.offerID, Room: t.room, Root: t.view.Root, OutDir: t.outDir, Folder: t.offer.Folder, State: files.FetchDone, Final: final, Stamps: stamps}
	if err := st.PutFetch(rec); err != nil {
		n.logf("recording the fetch of %s: %v", t.offer.Name, err)
	}
	t.update(true, func(v *FileView) { v.State, v.Path, v.Have, v.Error, v.Rate = FileDone, final, t.offer.Size, "", 0 })
	return nil
}

// retryDisk runs f until it does not fail with a full disk, pausing the
// fetch meanwhile with a notice.
func (t *transfer) retryDisk(ctx context.Context, f func() error) error {
	for {
		err := f()
		if !errors.Is(err, files.ErrDiskFull) {
			if err == nil {
				t.update(true, func(v *FileView) {
					if v.State == FilePaused {
						v.State, v.Error = FileFetching, ""
					}
				})
			}
			return err
		}
		t.pauseDisk(err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(diskRetry):
		}
	}
}

func (t *transfer) pauseDisk(err error) {
	t.update(true, func(v *FileView) {
		if v.State != FilePaused {
			t.n.logf("fetching %s: %v", t.offer.Name, err)
		}
		v.State = FilePaused
		v.Error = fmt.Sprintf("the disk is full (%v): free some space in %s and the fetch goes on by itself", err, t.outDir)
	})
}
