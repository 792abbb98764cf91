package chat

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Relink backoff: a link that ends within stableLink of coming up makes
// the next dial to that peer wait, doubling from relinkBackoffMin to
// relinkBackoffMax, each wait shortened by a random 0–50% (jitter, so
// peers that flap together spread out). A link that stays up stableLink
// resets it. Whatever the cause (a full disk, a peer that closes every
// link), the node neither spins nor floods the screen, and it recovers by
// itself once the cause is gone.
const (
	stableLink       = 30 * time.Second
	relinkBackoffMin = time.Second
	relinkBackoffMax = time.Minute
)

// relinkTable is the relink backoff of peers whose links ended early, with
// its own lock (taken after the link table's, see dialTable).
type relinkTable struct {
	sync.Mutex
	byKey map[lcrypto.IdentityKey]*relinkState
}

// relinkState is a peer's relink backoff (guarded by relinkTable).
type relinkState struct {
	backoff time.Duration // the wait after the latest early end
	next    time.Time     // no dial before this
	told    bool          // the relink_backoff event was published
}

// relinkWait reports whether dials to key must wait at now.
func (n *Node) relinkWait(key lcrypto.IdentityKey, now time.Time) bool {
	n.relinks.Lock()
	defer n.relinks.Unlock()
	st := n.relinks.byKey[key]
	return st != nil && now.Before(st.next)
}

// linkEnded updates the backoff of l's peer for a link that ended at now
// with reason (storeErr: why storing its messages failed, if it did), and
// returns the notice to publish, if any: once per run of early ends, from
// the second one on.
func (n *Node) linkEnded(l *link, storeErr error, reason string, now time.Time) string {
	n.relinks.Lock()
	defer n.relinks.Unlock()
	if now.Sub(l.up) >= stableLink {
		delete(n.relinks.byKey, l.key)
		return ""
	}
	st := n.relinks.byKey[l.key]
	if st == nil {
		if len(n.relinks.byKey) >= maxRelinkStates {
			clear(n.relinks.byKey) // only trusted peers get here: never in practice
		}
		st = &relinkState{}
		n.relinks.byKey[l.key] = st
	}
	st.backoff = min(max(2*st.backoff, relinkBackoffMin), relinkBackoffMax)
	wait := st.backoff - time.Duration(rand.Int64N(int64(st.backoff/2)+1))
	st.next = now.Add(wait)
	if st.told || st.backoff == relinkBackoffMin {
		return ""
	}
	st.told = true
	return relinkNotice(storeErr, reason)
}

// maxRelinkStates bounds the relink table.
const maxRelinkStates = 4096

// relinkNotice says why links keep ending and what to do.
func relinkNotice(storeErr error, reason string) string {
	switch {
	case errors.Is(storeErr, syscall.ENOSPC):
		return fmt.Sprintf("storage full (%v): free space on the disk of the data directory; lanchat relinks by itself, at most every %v", storeErr, relinkBackoffMax)
	case storeErr != nil:
		return fmt.Sprintf("storage failing (%v): check the disk of the data directory; lanchat relinks by itself, at most every %v", storeErr, relinkBackoffMax)
	}
	return fmt.Sprintf("links keep closing soon after they start (%s); lanchat relinks less often, at most every %v, until one stays up", reason, relinkBackoffMax)
}
