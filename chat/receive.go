package chat

import (
	"context"
	"sync"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// msgKey identifies a message: (room, author, seq).
type msgKey struct {
	room   string
	author lcrypto.IdentityKey
	seq    uint64
}

func keyOf(m *Message) msgKey { return msgKey{m.Room, m.Author, m.Seq} }

// inFlight holds the messages verified and submitted to the store but not
// yet committed. A copy with the same bytes arriving meanwhile is dropped
// before decoding (recent.go); a verified message with other bytes under a
// key in flight — its author signed two versions of one sequence number,
// and both are arriving at once — is parked until the first one's commit
// returns, then goes to resolveConflict like any conflicting copy, so that
// every node ends with the same version whatever the timing.
type inFlight struct {
	mu     sync.Mutex
	keys   map[msgKey][lcrypto.SignatureSize]byte // the signature in flight
	parked map[msgKey][]parkedCopy
	nPark  int
}

// parkedCopy is a verified message whose key was in flight.
type parkedCopy struct {
	from *link
	m    Message
	raw  []byte
}

// Bounds on parked copies: an author can sign many versions of one
// sequence number, and the first is enough to show it equivocated.
const (
	maxParkedPerKey = 2
	maxParked       = 1024
)

// park keeps a verified copy of an in-flight key for after its commit; false
// if the key is no longer in flight (the caller takes it on) or the bounds
// are reached (dropped: the chain check after sync still finds it).
func (f *inFlight) park(p parkedCopy) (parked, inFlight bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := keyOf(&p.m)
	if _, ok := f.keys[k]; !ok {
		return false, false
	}
	if f.nPark >= maxParked || len(f.parked[k]) >= maxParkedPerKey {
		return false, true
	}
	if f.parked == nil {
		f.parked = map[msgKey][]parkedCopy{}
	}
	f.parked[k] = append(f.parked[k], p)
	f.nPark++
	return true, true
}

// has reports whether m's key is in flight with m's signature: a copy, not
// worth verifying. A message under that key with another signature is not
// a copy (see park).
func (f *inFlight) has(m *Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	sig, ok := f.keys[keyOf(m)]
	return ok && sig == m.Sig
}

// claim marks m's key in flight; false if it already was.
func (f *inFlight) claim(m *Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := keyOf(m)
	if _, ok := f.keys[k]; ok {
		return false
	}
	if f.keys == nil {
		f.keys = map[msgKey][lcrypto.SignatureSize]byte{}
	}
	f.keys[k] = m.Sig
	return true
}

// release ends msgs' flight and returns the copies parked under their keys.
func (f *inFlight) release(msgs []Message) []parkedCopy {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parkedCopy
	for i := range msgs {
		k := keyOf(&msgs[i])
		delete(f.keys, k)
		if ps, ok := f.parked[k]; ok {
			out = append(out, ps...)
			f.nPark -= len(ps)
			delete(f.parked, k)
		}
	}
	return out
}

// screenWith turns received encodings into the messages worth storing. A
// malformed encoding is an error (the link is closed). Dropped without
// error: copies of messages stored or in flight (by their bytes, before
// decoding: recent.go; else by (room, author, seq) — not verified again:
// the stored copy was), messages that fail want's cheap checks (wanted for
// open rooms, wantedConvo for conversations, convo_link.go), and bad
// signatures (logged). A verified message whose (room, author, seq) is
// stored with other bytes goes to resolveConflict. The survivors are
// claimed in flight and remembered as recent; the caller releases them
// after the commit.
func (n *Node) screenWith(ctx context.Context, from *link, raws [][]byte, want func(*Message) bool) ([]Message, [][]byte, error) {
	msgs := make([]Message, 0, len(raws))
	keep := make([][]byte, 0, len(raws))
	for _, raw := range raws {
		if n.recent.has(raw) { // stored or in flight: a copy
			n.stats.duplicates.Add(1)
			continue
		}
		m, err := DecodeMessage(raw)
		if err != nil {
			return nil, nil, err
		}
		if want(&m) {
			msgs, keep = append(msgs, m), append(keep, raw)
		}
	}
	return n.screenDecoded(ctx, from, msgs, keep)
}

// screenDecoded is screenWith after the decoding and the cheap checks:
// msgs[i] was decoded from keep[i]. Their signatures are checked together
// (verifyRaw: one batch where there are enough).
func (n *Node) screenDecoded(ctx context.Context, from *link, msgs []Message, keep [][]byte) ([]Message, [][]byte, error) {
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	msgs, keep, conflicts, err := n.dropStored(msgs, keep)
	if err != nil || len(msgs) == 0 {
		return nil, nil, err
	}
	ok := verifyRaw(msgs, keep)
	outM, outR := msgs[:0], keep[:0]
	for i := range msgs {
		m := &msgs[i]
		if !ok[i] {
			n.logf("dropping message %d from %s in %s: %v", m.Seq, m.Author, m.Room, ErrBadSignature)
			continue
		}
		if conflicts[i] {
			if err := n.resolveConflict(from, m, keep[i]); err != nil {
				n.logf("message %d of %s in %s: %v", m.Seq, m.Author, m.Room, err)
			}
			continue
		}
		if n.inflight.claim(m) {
			n.recent.add(keep[i])
			outM, outR = append(outM, *m), append(outR, keep[i])
			continue
		}
		// Its key is in flight with other bytes (the same bytes were
		// dropped as recent): a second version, resolved after the
		// commit of the first.
		if parked, _ := n.inflight.park(parkedCopy{from: from, m: *m, raw: keep[i]}); !parked {
			n.logf("message %d of %s in %s: a second version arrived while the first was being stored; left to the chain check", m.Seq, m.Author, m.Room)
		}
	}
	return outM, outR, ctx.Err()
}

// wanted applies the cheap checks: room joined, clock within its bound
// (which depends on the message alone), not a copy of one in flight.
func (n *Node) wanted(m *Message) bool {
	rs := n.room(m.Room)
	if rs == nil {
		return false
	}
	if limit := ClockBound(m.Seq); m.Clock > limit {
		n.logf("dropping message %d from %s in %s: clock %d is above %d, the bound for its sequence number", m.Seq, m.Author, m.Room, m.Clock, limit)
		return false
	}
	return !n.inflight.has(m) // a copy of what is being stored
}

// dropStored removes the messages the store already holds with the same
// bytes. A message stored with other bytes under its (room, author, seq)
// stays, flagged in conflicts.
func (n *Node) dropStored(msgs []Message, raws [][]byte) ([]Message, [][]byte, []bool, error) {
	keys := make([]storage.StoredMessage, len(msgs))
	for i := range msgs {
		keys[i] = storage.StoredMessage{Room: msgs[i].Room, Author: msgs[i].Author, Seq: msgs[i].Seq, Raw: raws[i]}
	}
	pres, err := n.store.CompareMessages(keys)
	if err != nil {
		return nil, nil, nil, err
	}
	outM, outR := msgs[:0], raws[:0]
	var conflicts []bool
	for i := range msgs {
		if pres[i] == storage.Same {
			continue
		}
		outM, outR = append(outM, msgs[i]), append(outR, raws[i])
		conflicts = append(conflicts, pres[i] == storage.Differs)
	}
	return outM, outR, conflicts, nil
}
