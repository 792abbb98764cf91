package discovery

import "sync"

// eventQueue is the bounded Events channel: emit never blocks; a full
// channel drops the event and counts it. It is closed when Run returns.
type eventQueue struct {
	mu      sync.Mutex
	closed  bool
	ch      chan Event
	dropped func()
}

func newEventQueue(n int, dropped func()) *eventQueue {
	return &eventQueue{ch: make(chan Event, n), dropped: dropped}
}

func (q *eventQueue) emit(ev Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.ch <- ev:
	default:
		q.dropped()
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}
