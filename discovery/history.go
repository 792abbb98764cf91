package discovery

import "time"

// maxInstances is how many recent instances of one identity are remembered
// for replay checks. A replayed beacon of an instance that fell out of this
// list (or of a forgotten identity) is taken as new once; see SECURITY.md.
const maxInstances = 4

// instanceRecord is the newest sequence number seen from one instance and
// whether it said bye (after which it is dead for good).
type instanceRecord struct {
	id   [InstanceSize]byte
	seq  uint64
	bye  bool
	used time.Time
}

// history remembers recent instances of one identity.
type history struct {
	recs []instanceRecord
}

func (h *history) find(id [InstanceSize]byte) *instanceRecord {
	for i := range h.recs {
		if h.recs[i].id == id {
			return &h.recs[i]
		}
	}
	return nil
}

// stale reports whether a beacon (id, seq) is a replay: not newer than what
// that instance already sent, or from an instance that said bye.
func (h *history) stale(id [InstanceSize]byte, seq uint64) bool {
	r := h.find(id)
	return r != nil && (r.bye || seq <= r.seq)
}

// record notes an accepted beacon. Callers check stale first, so a record
// that said bye is never overwritten.
func (h *history) record(id [InstanceSize]byte, seq uint64, bye bool, now time.Time) {
	r := h.find(id)
	if r == nil {
		r = h.slot()
	}
	*r = instanceRecord{id: id, seq: seq, bye: bye, used: now}
}

// slot returns a free record, evicting the least recently used one when
// the list is full.
func (h *history) slot() *instanceRecord {
	if len(h.recs) < maxInstances {
		h.recs = append(h.recs, instanceRecord{})
		return &h.recs[len(h.recs)-1]
	}
	oldest := 0
	for i := range h.recs {
		if h.recs[i].used.Before(h.recs[oldest].used) {
			oldest = i
		}
	}
	return &h.recs[oldest]
}
