package chat

import (
	"hash/maphash"
	"sync"
)

// recentSize is how many message encodings the recent filter remembers:
// enough for every copy of a room's message to arrive over every link of
// a large full mesh (each member relays it once), small enough to cost
// little on every node (16 bytes a slot).
const recentSize = 1024

// recentSet remembers the encodings of the messages this node stored or is
// storing, by a keyed 64-bit hash of the whole encoding, so that the copies
// other members relay are dropped before they are decoded, looked up in the
// store or verified: in a room of n fully linked members each message
// reaches each member n-1 times. Only byte-identical copies match (a
// different encoding under the same (room, author, seq) — a conflict — has
// another hash and takes the full path); the key is random per node, so a
// peer cannot aim a collision. The oldest entry is forgotten first; a copy
// that arrives after that takes the full path, which drops it too.
type recentSet struct {
	seed maphash.Seed

	mu   sync.Mutex
	ring []uint64 // allocated on first use
	next int
	set  map[uint64]int32 // hash → how many ring slots hold it
}

func newRecentSet() *recentSet { return &recentSet{seed: maphash.MakeSeed()} }

// sum is raw's hash; never 0, which marks a free slot.
func (r *recentSet) sum(raw []byte) uint64 { return max(maphash.Bytes(r.seed, raw), 1) }

// has reports whether raw is a message this node stored or is storing.
func (r *recentSet) has(raw []byte) bool {
	h := r.sum(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set[h] > 0
}

// add remembers raw, forgetting the oldest entry when full.
func (r *recentSet) add(raw []byte) {
	h := r.sum(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring == nil {
		r.ring = make([]uint64, 0, recentSize)
		r.set = make(map[uint64]int32, recentSize)
	}
	if len(r.ring) < recentSize {
		r.ring = append(r.ring, h)
	} else {
		r.dropLocked(r.ring[r.next])
		r.ring[r.next] = h
		r.next = (r.next + 1) % recentSize
	}
	r.set[h]++
}

// forget removes raw (a write that failed: its next copy must be taken).
// It is rare, so it may look through every slot.
func (r *recentSet) forget(raw []byte) {
	h := r.sum(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.ring {
		if s == h {
			r.ring[i] = 0
		}
	}
	delete(r.set, h)
}

func (r *recentSet) dropLocked(h uint64) {
	if h == 0 { // a forgotten slot
		return
	}
	if c := r.set[h]; c > 1 {
		r.set[h] = c - 1
	} else {
		delete(r.set, h)
	}
}
