package chat

import (
	"bytes"
	"fmt"
	mbits "math/bits"
	"slices"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Have maps (file-have, PROTOCOL.md 5.12.4): a member fetching a file tells
// the members it shares the offer's room with which chunks it holds
// verified, when that changes (at most every fetchTick), and a member that
// holds the file and runs no fetch of it answers the first have of each
// link with its own. A fetch then asks for a chunk a member other than the
// sender holds before it asks the sender, so that members fetching one
// file at once serve each other and the sender uploads it about once.

// haveLies is how many chunks a member may claim in its have map and then
// say it lacks, or leave unanswered, before its have maps are ignored for
// the rest of the fetch (it is asked as a member that sent none).
const haveLies = 3

// A fetch announces its have map every fetchTick, and also after every
// announceEvery chunks it writes if the map is small (a file of at most
// announceEveryMax chunks: a 4 KiB map, 8 GiB of 256 KiB chunks), so that
// members fetching at once learn of each other's chunks soon enough to
// spare the sender.
const (
	announceEvery    = 16
	announceEveryMax = 32 << 10
)

// holderPatience is how long since its last answer a busy member that
// holds a chunk is waited for, rather than the sender asked: a member
// that claims chunks and sits on its requests holds a fetch up this long,
// not a request timeout.
const holderPatience = 2 * time.Second

// maxHaveAnswers bounds the roots a link remembers having answered a have
// for; past it the set starts again (a second answer costs one frame).
const maxHaveAnswers = 256

// peerHave is what a member said it holds of the file a fetch is after.
type peerHave struct {
	count int
	bits  []byte // replaced, never changed: readers keep it without the lock
	lies  int
	whole bool      // every chunk: the member is not fetching it
	at    time.Time // when it came
	// start is the member's spreadStart for the file; frontier, how many
	// chunks it holds in a row from there: where its fetch of its region is.
	start, frontier int
}

// haveActive is how long a member that sent a have map short of the whole
// file counts as fetching it: a fetch leaves the chunks of its region
// (spreadStart) to it while it does.
const haveActive = 2 * time.Second

// fetching reports whether the map is of a member fetching the file now.
func (h *peerHave) fetching(count int, now time.Time) bool {
	return h != nil && h.count == count && !h.whole && now.Sub(h.at) < haveActive
}

// holds reports whether the map says chunk i is held; ok is false if the
// map does not fit the fetch's chunk count (it says nothing then).
func (h *peerHave) holds(i, count int) (held, ok bool) {
	if h == nil || h.count != count {
		return false, false
	}
	return files.HaveBit(h.bits, i), true
}

// handleFileHave takes a member's have map: kept by the fetch of that file
// under way here, if any; answered once with this node's own if it holds
// the file, shares the offer's room with the member, and is not fetching
// it (a fetch sends its own as it goes).
func (l *link) handleFileHave(body []byte) error {
	root, count, bits, err := files.DecodeHave(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	n := l.node
	if t := n.transferFor(root); t != nil {
		t.noteHave(l, count, bits)
		return nil
	}
	s := n.servableFor(root)
	if s == nil || !slices.ContainsFunc(s.rooms, n.sharesFunc(l)) {
		return nil // nothing to say, or not to this member
	}
	l.mu.Lock()
	if l.haveAnswered == nil || len(l.haveAnswered) >= maxHaveAnswers {
		l.haveAnswered = map[[files.HashSize]byte]bool{}
	}
	answered := l.haveAnswered[root]
	l.haveAnswered[root] = true
	l.mu.Unlock()
	if answered {
		return nil
	}
	var own []byte
	switch {
	case s.src != nil:
		own = files.EncodeHave(root, s.m.Chunks(), func(int) bool { return true })
	case s.part != nil:
		own = s.part.HaveMap()
	default:
		return nil
	}
	_ = l.sess.Send(frameFileHave, own) // a full queue: the member asks as if it had none
	return nil
}

// noteHave keeps member l's have map for this fetch, unless its maps are
// ignored.
func (t *transfer) noteHave(l *link, count int, bits []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.haves[l]
	if old != nil && old.lies >= haveLies || !t.mayHaveChunks(count) {
		return
	}
	h := &peerHave{count: count, bits: append([]byte(nil), bits...), whole: wholeMap(bits, count), at: time.Now()}
	h.start = spreadStart(l.key, t.offer.Root, count)
	for h.frontier < count && files.HaveBit(h.bits, (h.start+h.frontier)%count) {
		h.frontier++
	}
	if old != nil {
		h.lies = old.lies
	}
	if t.haves == nil {
		t.haves = map[*link]*peerHave{}
	}
	t.haves[l] = h
	select {
	case t.haveNews <- struct{}{}:
	default: // the scheduler has news waiting already
	}
}

// mayHaveChunks reports whether the offer can have count chunks: at most
// one per ChunkSize bytes and one more per file (each file's last chunk
// may be short). A map of more is not kept (it says nothing of this file,
// and costs memory).
func (t *transfer) mayHaveChunks(count int) bool {
	o := t.offer
	if o.ChunkSize == 0 {
		return false
	}
	return uint64(count) <= o.Size/uint64(o.ChunkSize)+uint64(o.Files)+1
}

// wholeMap reports whether bits has all count chunks set.
func wholeMap(bits []byte, count int) bool {
	n := 0
	for _, b := range bits {
		n += mbits.OnesCount8(b)
	}
	return n == count
}

// haveLie counts one chunk member l claimed and did not send; from
// haveLies on its maps are ignored. It reports whether l's map claimed it.
func (t *transfer) haveLie(l *link, i, count int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.haves[l]
	if held, ok := h.holds(i, count); !ok || !held {
		return false
	}
	if h.lies++; h.lies >= haveLies {
		t.haves[l] = &peerHave{lies: h.lies} // no map: asked as a member that sent none
	}
	return true
}

// havesOf returns the have maps of peers (nil where a peer sent none), in
// their order.
func (t *transfer) havesOf(peers []*link) []*peerHave {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*peerHave, len(peers))
	for k, l := range peers {
		out[k] = t.haves[l]
	}
	return out
}

// dropHaves forgets the have maps of links that ended.
func (t *transfer) dropHaves(live []*link) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for l := range t.haves {
		if !slices.Contains(live, l) {
			delete(t.haves, l)
		}
	}
}

// announce sends this fetch's have map to each member of the offer's room
// that has not been sent the current one.
func (s *scheduler) announce() {
	if s.j.held == nil {
		return
	}
	s.sinceAnnounce = 0
	held := s.j.held()
	links := s.t.n.linksOf(s.t.room)
	var body []byte // encoded once, if some member lacks the current map
	for _, l := range links {
		if s.announced[l] == held+1 {
			continue
		}
		if body == nil {
			body = s.j.haveMap()
		}
		if l.sess.Send(frameFileHave, body) == nil {
			s.announced[l] = held + 1 // 0: never sent
		}
	}
	for l := range s.announced {
		if !slices.Contains(links, l) {
			delete(s.announced, l)
		}
	}
	s.t.dropHaves(links)
}

// Ranks of the members that may be asked for a chunk, best first.
const (
	rankHolder  = iota // its have map says it holds the chunk, and it is not the sender
	rankSender         // the offer's author, who holds every chunk unless its map says otherwise
	rankUnknown        // it sent no have map (an older node, or not yet)
	rankLacks          // its have map says it lacks the chunk: not asked
)

// rank says how good a member is to ask for piece i.
func (s *scheduler) rank(h *peerHave, sender bool, i int) int {
	if s.j.kind != files.KindChunk {
		return rankUnknown
	}
	held, ok := h.holds(i, s.j.count)
	switch {
	case ok && !held:
		return rankLacks
	case sender:
		return rankSender
	case ok:
		return rankHolder
	default:
		return rankUnknown
	}
}

// regions divides the chunks among this node and the members fetching the
// file now: each starts at its spreadStart, and its region runs to the
// next start. A chunk that only the sender holds, in another member's
// region and at most deferAhead chunks past where that member's fetch is,
// is left to that member (the others get it from it), and so the sender
// sends it about once; a chunk farther on is fetched here (that member
// then gets it from here), so that a slow member holds nobody up. Once a
// fetch has nothing else to ask, it asks the sender for what it left. A
// region whose member stops fetching (no map for haveActive) is nobody's.
type regions struct {
	count     int
	starts    []int                 // of this node, then of each member fetching
	keys      []lcrypto.IdentityKey // theirs: of two with one start, the lower key has the region
	links     []*link               // nil for this node
	frontiers []int                 // how far each member's fetch of its region is (0 for this node)
}

// deferAhead is how far past a member's frontier its region's chunks are
// left to it: farther on, it would not fetch them before this node could.
const deferAhead = 64

func (s *scheduler) regions(peers []*link, haves []*peerHave, now time.Time) regions {
	rg := regions{count: s.j.count, starts: []int{s.start}, keys: []lcrypto.IdentityKey{s.t.n.id.Public()}, links: []*link{nil}, frontiers: []int{0}}
	for k, l := range peers {
		if h := haves[k]; h.fetching(s.j.count, now) {
			rg.starts = append(rg.starts, h.start) // h.count is the fetch's
			rg.keys = append(rg.keys, l.key)
			rg.links = append(rg.links, l)
			rg.frontiers = append(rg.frontiers, h.frontier)
		}
	}
	return rg
}

// ownerAt returns the index of the member whose region chunk i is in (the
// one whose start comes last at or before i, going round), and how far
// into the region i is.
func (rg regions) ownerAt(i int) (int, int) {
	best := -1
	bestD := rg.count
	for k, st := range rg.starts {
		d := (i - st + rg.count) % rg.count
		if d < bestD || d == bestD && bytes.Compare(rg.keys[k][:], rg.keys[best][:]) < 0 {
			best, bestD = k, d
		}
	}
	return best, bestD
}

// leave reports whether chunk i, which only the sender holds, is left to
// the member whose region it is in: another member's, not past its
// frontier by more than deferAhead.
func (rg regions) leave(i int) bool {
	if len(rg.starts) < 2 {
		return false
	}
	k, d := rg.ownerAt(i)
	return rg.links[k] != nil && d < rg.frontiers[k]+deferAhead
}
