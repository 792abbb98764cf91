package chat

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lanchat/lanchat/chat/files"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// job is one thing a fetch gets piece by piece from the room's members:
// the manifest's pieces, or the chunks of the files.
type job struct {
	kind   files.Kind
	count  int
	window int
	// spread: start at this node's own place in the pieces (spreadStart),
	// not at the first.
	spread bool
	// held and haveMap, for a fetch's chunks: how many are held, and the
	// have map that says which (announce).
	held    func() int
	haveMap func() []byte
	have    func(i int) bool
	// accept checks and keeps piece i (r.data): files.ErrBadChunk if it
	// does not match, files.ErrDiskFull to pause, another error to give up.
	accept func(i int, r *reply) error
	// replies is where the pieces come from: the fetch's inbox, or what
	// its hasher goroutine passes on.
	replies <-chan reply
}

// asked is a request in flight.
type asked struct {
	l  *link
	at time.Time
}

// scheduler spreads a job's requests over the members of the room: at
// most job.window in flight, fetchWindowPerPeer per member; a member that
// does not hold a piece is not asked for it again until the others were;
// one that sends pieces that do not match is dropped after maxStrikes.
type scheduler struct {
	t        *transfer
	j        job
	start    int   // the piece the cursor starts at (it wraps around)
	next     int   // the cursor over pieces not yet asked: piece (start+next) mod count
	retry    []int // pieces to ask again, first
	deferred []int // pieces left to another member's fetch (regions): asked again every tick
	parked   []int // pieces every linked member said it lacks: asked again every parkAgain
	parkedAt time.Time
	inflight map[int]asked
	avoid    map[int]map[*link]bool
	unknown  map[*link]time.Time
	strikes  map[lcrypto.IdentityKey]int
	perPeer  map[*link]int
	served   map[lcrypto.IdentityKey]bool
	// announced: per member, 1 + the chunks held when it was last sent
	// this fetch's have map (filehave.go).
	announced     map[*link]int
	sinceAnnounce int                 // chunks written since the last announce
	idleTicks     int                 // ticks in a row with nothing in flight but pieces left to others
	answered      map[*link]time.Time // when each member last answered a request (or was first asked)
	held          *reply              // a piece the full disk did not take yet
	heldAt        time.Time
	rate          rateMeter
}

func (t *transfer) newScheduler(j job, strikes map[lcrypto.IdentityKey]int) *scheduler {
	s := &scheduler{t: t, j: j, inflight: map[int]asked{}, avoid: map[int]map[*link]bool{},
		unknown: map[*link]time.Time{}, strikes: strikes, perPeer: map[*link]int{}, served: map[lcrypto.IdentityKey]bool{},
		announced: map[*link]int{}, answered: map[*link]time.Time{}}
	if j.spread {
		s.start = spreadStart(t.n.id.Public(), t.offer.Root, j.count)
	}
	return s
}

// run gets every piece the job lacks.
func (s *scheduler) run(ctx context.Context) error {
	tick := time.NewTicker(fetchTick)
	defer tick.Stop()
	s.announce()
	defer s.announce() // the last: all of it, once done
	for {
		if s.held == nil {
			s.fill()
		}
		if s.done() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-s.j.replies:
			if err := s.handle(r); err != nil {
				return err
			}
		case now := <-tick.C:
			if err := s.tick(now); err != nil {
				return err
			}
		case <-s.t.haveNews:
			// A member holds more: the pieces left to it may be there.
			s.retry, s.deferred = append(s.retry, s.deferred...), s.deferred[:0]
		}
	}
}

func (s *scheduler) done() bool {
	if len(s.inflight) > 0 || s.held != nil || len(s.retry) > 0 || len(s.parked) > 0 || len(s.deferred) > 0 {
		return false
	}
	for ; s.next < s.j.count; s.next++ {
		if !s.j.have(s.at(s.next)) {
			return false
		}
	}
	// Nothing left to ask: check every piece (one the partial dropped
	// as changed on disk is asked again).
	for i := 0; i < s.j.count; i++ {
		if !s.j.have(i) {
			s.retry = append(s.retry, i)
			return false
		}
	}
	return true
}

// peers returns the links worth asking now, and the have map each sent
// (nil where none).
func (s *scheduler) peers(now time.Time) ([]*link, []*peerHave) {
	links := s.t.n.linksOf(s.t.room)
	haves := s.t.havesOf(links)
	var out []*link
	var outHaves []*peerHave
	for k, l := range links {
		if s.strikes[l.key] >= maxStrikes {
			continue
		}
		// One that held nothing is left alone a while, unless it has
		// said since that it holds something.
		if u := s.unknown[l]; now.Sub(u) < unknownAgain && (haves[k] == nil || haves[k].at.Before(u)) {
			continue
		}
		out, outHaves = append(out, l), append(outHaves, haves[k])
	}
	return out, outHaves
}

// nextPiece returns the next piece to ask for, or -1.
func (s *scheduler) nextPiece() int {
	for len(s.retry) > 0 {
		i := s.retry[0]
		s.retry = s.retry[1:]
		if _, busy := s.inflight[i]; !busy && !s.j.have(i) {
			return i
		}
	}
	for ; s.next < s.j.count; s.next++ {
		if i := s.at(s.next); !s.busy(i) && !s.j.have(i) {
			s.next++
			return i
		}
	}
	return -1
}

func (s *scheduler) busy(i int) bool {
	_, ok := s.inflight[i]
	return ok
}

// at is the piece the cursor's k-th step names.
func (s *scheduler) at(k int) int { return (s.start + k) % s.j.count }

// spreadStart is where a node's fetch of a file starts in its chunk list:
// a place of its own (from its key and the file), so that members fetching
// the same file at once ask the sender for different chunks first, and
// then get from each other the chunks the others started with.
func spreadStart(self lcrypto.IdentityKey, root [files.HashSize]byte, chunks int) int {
	if chunks <= 1 {
		return 0
	}
	h := sha256.New()
	h.Write(root[:])
	h.Write(self[:])
	return int(binary.BigEndian.Uint64(h.Sum(nil)) % uint64(chunks))
}

// fill sends requests until the window is full.
func (s *scheduler) fill() {
	now := time.Now()
	peers, haves := s.peers(now)
	if len(peers) == 0 {
		return
	}
	sender := make([]bool, len(peers))
	for k, l := range peers {
		sender[k] = l.key.Fingerprint() == s.t.author
	}
	var rg regions
	if s.j.kind == files.KindChunk {
		rg = s.regions(peers, haves, now)
	}
	// After two ticks with nothing in flight and nothing else to ask, what
	// was left to others is asked of the sender: a slow member holds
	// nobody up for long.
	endgame := s.idleTicks >= 2
	for len(s.inflight) < s.j.window {
		i := s.nextPiece()
		if i < 0 {
			return
		}
		// The best member to ask: one that holds it and is not the
		// sender, then the sender, then one that said nothing; the
		// least busy of a rank.
		var best *link
		bestRank := rankLacks
		lacking := 0        // members that said they lack piece i
		holderBusy := false // a member other than the sender holds it, but is busy
		for k, l := range peers {
			r := s.rank(haves[k], sender[k], i)
			switch {
			case s.avoid[i][l] || r == rankLacks:
				lacking++
			case s.perPeer[l] >= fetchWindowPerPeer:
				// Waited for only while it answers: one that claims the
				// piece and sits on its requests is not waited for.
				holderBusy = holderBusy || r == rankHolder && now.Sub(s.answered[l]) < holderPatience
			case best == nil || r < bestRank || r == bestRank && s.perPeer[l] < s.perPeer[best]:
				best, bestRank = l, r
			}
		}
		if lacking == len(peers) {
			// Nobody linked holds it: park it and go on with the next
			// piece (the others may hold that one).
			s.parked = append(s.parked, i)
			continue
		}
		if best == nil || holderBusy && bestRank > rankHolder {
			// Every member that may hold it is busy, or one that is not
			// the sender is: a reply frees one (the sender is spared).
			s.retry = append([]int{i}, s.retry...)
			return
		}
		if bestRank == rankSender && !endgame && rg.leave(i) {
			// Only the sender has it, and another member fetching the
			// file is about to ask for it: taken from that member later.
			s.deferred = append(s.deferred, i)
			continue
		}
		ref := files.Ref{Root: s.t.offer.Root, Kind: s.j.kind, Index: uint32(i)}
		s.t.mu.Lock()
		s.t.asked[ref] = best
		s.t.mu.Unlock()
		if err := best.sess.Send(frameFileRequest, files.EncodeRequest(ref)); err != nil {
			s.t.forget(ref)
			s.retry = append([]int{i}, s.retry...)
			return
		}
		s.inflight[i] = asked{l: best, at: now}
		s.perPeer[best]++
		if _, ok := s.answered[best]; !ok {
			s.answered[best] = now // its patience starts with the first request
		}
	}
}

// forget removes a request from the asked table.
func (t *transfer) forget(ref files.Ref) {
	t.mu.Lock()
	delete(t.asked, ref)
	t.mu.Unlock()
}

// settle ends request i (answered, timed out or its link gone).
func (s *scheduler) settle(i int) (asked, bool) {
	a, ok := s.inflight[i]
	if !ok {
		return a, false
	}
	delete(s.inflight, i)
	s.perPeer[a.l]--
	s.t.forget(files.Ref{Root: s.t.offer.Root, Kind: s.j.kind, Index: uint32(i)})
	return a, true
}

func (s *scheduler) avoidPeer(i int, l *link) {
	if s.avoid[i] == nil {
		s.avoid[i] = map[*link]bool{}
	}
	s.avoid[i][l] = true
}

// handle takes one reply.
func (s *scheduler) handle(r reply) error {
	i := int(r.ref.Index)
	if r.ref.Kind != s.j.kind {
		return nil
	}
	if _, ok := s.settle(i); !ok {
		return nil
	}
	s.answered[r.from] = time.Now()
	if r.kind == replyNone {
		switch r.why {
		case files.ReasonMissing:
			s.avoidPeer(i, r.from)
			if s.j.kind == files.KindChunk {
				s.t.haveLie(r.from, i, s.j.count)
			}
		case files.ReasonBusy:
			// Asked of another member (or again, once parked): a member
			// that is always busy does not hold the piece up.
			s.avoidPeer(i, r.from)
		default:
			s.unknown[r.from] = time.Now()
		}
		s.retry = append(s.retry, i)
		return nil
	}
	if s.j.kind == files.KindChunk {
		s.t.n.stats.fileFetched.Add(uint64(len(r.data)))
		s.rate.add(time.Now(), len(r.data))
	}
	return s.accept(r)
}

// accept hands a piece to the job.
func (s *scheduler) accept(r reply) error {
	i := int(r.ref.Index)
	err := s.j.accept(i, &r)
	switch {
	case err == nil:
		s.held = nil
		delete(s.avoid, i)
		s.served[r.from.key] = true
		if s.sinceAnnounce++; s.sinceAnnounce >= announceEvery && s.j.count <= announceEveryMax {
			s.announce() // the others learn of it before the next tick
		}
		if s.j.kind == files.KindChunk {
			n := uint64(len(r.data))
			s.t.update(false, func(v *FileView) {
				v.Have += n
				v.Fetched += n
				v.Sources = len(s.served)
				v.Rate = s.rate.perSecond(time.Now())
				if v.State == FilePaused {
					v.State, v.Error = FileFetching, ""
				}
			})
		}
		return nil
	case errors.Is(err, files.ErrBadChunk):
		s.t.n.stats.fileRejected.Add(1)
		s.strikes[r.from.key]++
		s.t.n.logf("fetching %s: %s sent %v; asking someone else", s.t.offer.Name, r.from.key, err)
		s.avoidPeer(i, r.from)
		s.retry = append([]int{i}, s.retry...)
		return nil
	case errors.Is(err, files.ErrDiskFull):
		if s.held != nil && s.held.ref != r.ref {
			s.retry = append(s.retry, i) // one held piece is enough
			return nil
		}
		held := r
		s.held, s.heldAt = &held, time.Now()
		s.t.pauseDisk(err)
		return nil
	default:
		return err
	}
}

// tick retries a held piece, requeues requests that timed out or whose
// link ended, and lets members that held nothing be asked again.
func (s *scheduler) tick(now time.Time) error {
	if s.held != nil && now.Sub(s.heldAt) >= diskRetry {
		if err := s.accept(*s.held); err != nil {
			return err
		}
		if s.held != nil {
			s.heldAt = now
		}
	}
	for i, a := range s.inflight {
		// A member that answered nothing for holderPatience sits on
		// its requests (or is gone): they are asked of others.
		stalled := now.Sub(a.at) > holderPatience && now.Sub(s.answered[a.l]) > holderPatience
		if now.Sub(a.at) > fetchTimeout || a.l.sess.Err() != nil || stalled {
			s.settle(i)
			s.retry = append(s.retry, i)
			if s.j.kind == files.KindChunk && a.l.sess.Err() == nil {
				s.t.haveLie(a.l, i, s.j.count) // claimed, and left unanswered
			}
			if stalled {
				s.t.n.stats.fileStalled.Add(1)
			}
		}
	}
	s.announce()
	if len(s.inflight) == 0 && s.next >= s.j.count && len(s.deferred) > 0 {
		s.idleTicks++
	} else {
		s.idleTicks = 0
	}
	s.retry, s.deferred = append(s.retry, s.deferred...), s.deferred[:0]
	if len(s.parked) > 0 && now.Sub(s.parkedAt) >= parkAgain {
		for _, i := range s.parked {
			delete(s.avoid, i) // ask them all again
		}
		s.retry, s.parked, s.parkedAt = append(s.retry, s.parked...), nil, now
	}
	peers, _ := s.peers(now)
	idle := len(s.inflight) == 0 && s.held == nil
	switch {
	case len(peers) == 0 && idle:
		s.t.update(false, func(v *FileView) {
			v.State, v.Rate = FilePaused, 0
			v.Error = "no member that holds it is linked: the fetch goes on when one is"
		})
	case idle && len(s.parked) > 0 && len(s.retry) == 0:
		n := len(s.parked)
		s.t.update(false, func(v *FileView) {
			v.State, v.Rate = FilePaused, 0
			v.Error = fmt.Sprintf("no linked member holds %d of its pieces: the fetch goes on when one has them", n)
		})
	default:
		s.t.update(false, func(v *FileView) { v.Rate = s.rate.perSecond(now) })
	}
	return nil
}

// fetchManifest gets the manifest's pieces and checks them against the
// offer's root; pieces that do not add up to the root are fetched again
// from other members (each that served one gets a strike).
func (t *transfer) fetchManifest(ctx context.Context) (*files.Manifest, error) {
	strikes := map[lcrypto.IdentityKey]int{}
	size := int(t.offer.ManifestSize)
	count := files.ManifestPieces(t.offer.ManifestSize)
	for try := 0; ; try++ {
		pieces := make([][]byte, count)
		s := t.newScheduler(job{kind: files.KindManifest, count: count, window: 4, replies: t.inbox,
			have: func(i int) bool { return pieces[i] != nil },
			accept: func(i int, r *reply) error {
				data := r.data
				if want := min(files.ManifestPiece, size-i*files.ManifestPiece); len(data) != want {
					return fmt.Errorf("manifest piece %d: %d bytes, want %d: %w", i, len(data), want, files.ErrBadChunk)
				}
				pieces[i] = append([]byte(nil), data...)
				return nil
			}}, strikes)
		if err := s.run(ctx); err != nil {
			return nil, err
		}
		var enc []byte
		for _, p := range pieces {
			enc = append(enc, p...)
		}
		if files.Root(enc) == t.offer.Root {
			m, err := files.DecodeManifest(enc)
			if err == nil {
				err = t.offer.Matches(m)
			}
			if err != nil {
				// The author signed an offer of a manifest a receiver must
				// refuse (traversal, a size that lies): give up.
				return nil, fmt.Errorf("the offer's chunk list is refused: %w", err)
			}
			return m, nil
		}
		for k := range s.served {
			strikes[k]++
			t.n.stats.fileRejected.Add(1)
		}
		t.n.logf("fetching %s: the chunk list does not match the offer; fetching it again", t.offer.Name)
	}
}

// fetchChunks gets every chunk the partial lacks. A hasher goroutine
// hashes each chunk as it comes, so that hashing one chunk overlaps with
// writing the one before it; the partial checks each sum against the
// manifest before it writes a byte.
func (t *transfer) fetchChunks(ctx context.Context, m *files.Manifest, part *files.Partial) error {
	ctx, cancel := context.WithCancel(ctx)
	hashed := make(chan reply, cap(t.inbox))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hashReplies(ctx, t.inbox, hashed)
	}()
	defer wg.Wait()
	defer cancel()
	s := t.newScheduler(job{kind: files.KindChunk, count: m.Chunks(), window: fetchWindow, replies: hashed, spread: true,
		have: part.Have, held: func() int { return m.Chunks() - part.Missing() }, haveMap: part.HaveMap,
		accept: func(i int, r *reply) error {
			if !r.hashed {
				r.sum, r.hashed = sha256.Sum256(r.data), true
			}
			return part.WriteHashed(i, r.data, r.sum)
		}}, map[lcrypto.IdentityKey]int{})
	return s.run(ctx)
}

// hashReplies passes replies from in to out until ctx ends, with the sum
// of each chunk's data.
func hashReplies(ctx context.Context, in <-chan reply, out chan<- reply) {
	for {
		var r reply
		select {
		case <-ctx.Done():
			return
		case r = <-in:
		}
		if r.kind == replyData && r.ref.Kind == files.KindChunk {
			r.sum, r.hashed = sha256.Sum256(r.data), true
		}
		select {
		case <-ctx.Done():
			return
		case out <- r:
		}
	}
}

// rateMeter is a recent byte rate: bytes over the last few seconds.
type rateMeter struct {
	start time.Time
	bytes int
	prev  float64
}

const rateSpan = 2 * time.Second

func (r *rateMeter) add(now time.Time, n int) {
	if r.start.IsZero() {
		r.start = now
	}
	if d := now.Sub(r.start); d > rateSpan {
		r.prev = float64(r.bytes) / d.Seconds()
		r.start, r.bytes = now, 0
	}
	r.bytes += n
}

func (r *rateMeter) perSecond(now time.Time) float64 {
	if d := now.Sub(r.start); d > rateSpan/4 && !r.start.IsZero() {
		return float64(r.bytes) / d.Seconds()
	}
	return r.prev
}
