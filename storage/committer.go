package storage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrCommitterClosed is returned by Add after Close.
var ErrCommitterClosed = errors.New("message writer is closed")

// Committer groups message writes: callers hand it messages and wait; one
// goroutine drains everything queued into a single transaction (one fsync),
// so throughput is not capped by fsync and nothing is reported stored before
// it is durable. There is no added delay: while one transaction syncs, the
// next batch gathers.
type Committer struct {
	db       *DB
	maxBatch int
	reqs     chan commitReq
	done     chan struct{}

	mu     sync.RWMutex // held for reading while a request is queued
	closed bool
	stop   chan struct{}
}

type commitReq struct {
	msgs  []StoredMessage
	reply chan commitResult
}

type commitResult struct {
	added []bool
	err   error
}

// DefaultMaxBatch bounds the messages one grouped transaction holds.
const DefaultMaxBatch = 4096

// NewCommitter starts a group-commit writer on db. Close stops it.
func NewCommitter(db *DB, maxBatch int) *Committer {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	c := &Committer{
		db:       db,
		maxBatch: maxBatch,
		reqs:     make(chan commitReq, 1024),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go c.loop()
	return c
}

// Add stores msgs durably (grouped with other callers' writes) and reports
// which were new. It returns when the transaction holding them committed.
func (c *Committer) Add(ctx context.Context, msgs ...StoredMessage) ([]bool, error) {
	p, err := c.Submit(ctx, msgs...)
	if err != nil {
		return nil, err
	}
	// Once queued, wait for the outcome even if ctx ends: the write may land.
	return p.Wait()
}

// Pending is a submitted write whose outcome Wait returns.
type Pending struct{ reply chan commitResult }

// Wait blocks until the write committed (or failed) and reports which
// messages were new.
func (p Pending) Wait() ([]bool, error) {
	r := <-p.reply
	return r.added, r.err
}

// Submit queues msgs without waiting for the commit, so one caller can keep
// many writes in flight (they share transactions); Wait on the result before
// showing or forwarding them.
func (c *Committer) Submit(ctx context.Context, msgs ...StoredMessage) (Pending, error) {
	req := commitReq{msgs: msgs, reply: make(chan commitResult, 1)}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return Pending{}, ErrCommitterClosed
	}
	select {
	case c.reqs <- req:
		return Pending{reply: req.reply}, nil
	case <-ctx.Done():
		return Pending{}, fmt.Errorf("storing messages: %w", ctx.Err())
	}
}

// Close finishes the queued writes and stops the writer.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *Committer) loop() {
	defer close(c.done)
	for {
		select {
		case req := <-c.reqs:
			c.commit(c.gather(req))
		case <-c.stop:
			// Drain what was queued before Close.
			for {
				select {
				case req := <-c.reqs:
					c.commit(c.gather(req))
				default:
					return
				}
			}
		}
	}
}

// gather takes first and whatever else is queued, up to maxBatch messages.
// It first yields once, so writers just woken by the previous commit can
// queue their next write into this one.
func (c *Committer) gather(first commitReq) []commitReq {
	runtime.Gosched()
	batch := []commitReq{first}
	n := len(first.msgs)
	for n < c.maxBatch {
		select {
		case req := <-c.reqs:
			batch = append(batch, req)
			n += len(req.msgs)
		default:
			return batch
		}
	}
	return batch
}

func (c *Committer) commit(batch []commitReq) {
	var all []StoredMessage
	for _, r := range batch {
		all = append(all, r.msgs...)
	}
	added, err := c.db.AddMessages(all)
	for _, r := range batch {
		res := commitResult{err: err}
		if err == nil {
			res.added, added = added[:len(r.msgs)], added[len(r.msgs):]
		}
		r.reply <- res
	}
}
