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
// yet committed, so that copies arriving meanwhile over other links are
// dropped without checking their signatures again.
type inFlight struct {
	mu   sync.Mutex
	keys map[msgKey]struct{}
}

func (f *inFlight) has(k msgKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.keys[k]
	return ok
}

// claim marks k in flight; false if it already was.
func (f *inFlight) claim(k msgKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[k]; ok {
		return false
	}
	if f.keys == nil {
		f.keys = map[msgKey]struct{}{}
	}
	f.keys[k] = struct{}{}
	return true
}

func (f *inFlight) release(msgs []Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range msgs {
		delete(f.keys, keyOf(&msgs[i]))
	}
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
		if n.inflight.claim(keyOf(m)) {
			n.recent.add(keep[i])
			outM, outR = append(outM, *m), append(outR, keep[i])
		}
	}
	return outM, outR, ctx.Err()
}

// wanted applies the cheap checks: room joined, clock within its bound
// (which depends on the message alone), not in flight.
func (n *Node) wanted(m *Message) bool {
	rs := n.room(m.Room)
	if rs == nil {
		return false
	}
	if limit := ClockBound(m.Seq); m.Clock > limit {
		n.logf("dropping message %d from %s in %s: clock %d is above %d, the bound for its sequence number", m.Seq, m.Author, m.Room, m.Clock, limit)
		return false
	}
	return !n.inflight.has(keyOf(m))
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
