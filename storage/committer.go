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
// it is durable.
//
// There is no added delay: a commit starts as soon as the previous one
// returned, with whatever is queued by then. The one exception is cheap:
// when the previous commit answered several writers, the writer yields the
// processor once before gathering, so those writers (each blocked on its
// answer until now) can queue their next write into this commit rather than
// the one after. A lone write — one message of a quiet room — is committed
// at once.
type Committer struct {
	db       *DB
	maxBatch int
	reqs     chan commitReq
	done     chan struct{}

	mu     sync.RWMutex // held for reading while a request is queued
	closed bool
	stop   chan struct{}

	// Owned by the loop goroutine: the messages of the batch being
	// committed (reused from one commit to the next) and how many writers
	// the last commit answered.
	all       []StoredMessage
	lastReqs  int
	holdMu    sync.Mutex
	held      chan struct{} // non-nil while Hold is in effect
	replyPool sync.Pool     // of chan commitResult (cap 1), reused by Wait
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
type Pending struct {
	reply chan commitResult
	c     *Committer
}

// Wait blocks until the write committed (or failed) and reports which
// messages were new. Call it once per Pending.
func (p Pending) Wait() ([]bool, error) {
	r := <-p.reply
	p.c.replyPool.Put(p.reply)
	return r.added, r.err
}

// Submit queues msgs without waiting for the commit, so one caller can keep
// many writes in flight (they share transactions); Wait on the result before
// showing them.
func (c *Committer) Submit(ctx context.Context, msgs ...StoredMessage) (Pending, error) {
	reply, _ := c.replyPool.Get().(chan commitResult)
	if reply == nil {
		reply = make(chan commitResult, 1)
	}
	req := commitReq{msgs: msgs, reply: reply}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return Pending{}, ErrCommitterClosed
	}
	select {
	case c.reqs <- req:
		return Pending{reply: reply, c: c}, nil
	case <-ctx.Done():
		return Pending{}, fmt.Errorf("storing messages: %w", ctx.Err())
	}
}

// Close finishes the queued writes and stops the writer. A Hold still in
// effect must be released first.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.done
}

// Hold makes the writer wait before its next commit until release is
// called: writes queue up, and nothing new becomes durable meanwhile. It
// is for tests that look at a node while its writes are in flight (what it
// shows, what it relays, what its file holds at that moment). release may
// be called more than once.
func (c *Committer) Hold() (release func()) {
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	if c.held == nil {
		c.held = make(chan struct{})
	}
	held := c.held
	var once sync.Once
	return func() {
		once.Do(func() {
			c.holdMu.Lock()
			if c.held == held {
				c.held = nil
			}
			c.holdMu.Unlock()
			close(held)
		})
	}
}

func (c *Committer) waitHold() {
	c.holdMu.Lock()
	held := c.held
	c.holdMu.Unlock()
	if held != nil {
		<-held
	}
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
// If the last commit answered several writers, it first yields once so
// that they can queue their next write into this one (see Committer).
func (c *Committer) gather(first commitReq) []commitReq {
	if c.lastReqs > 1 {
		runtime.Gosched()
	}
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

// keepBatchBuf is the largest batch buffer the writer keeps between
// commits (a catch-up's 4096-message batch is not held on to by an idle
// node).
const keepBatchBuf = 256

func (c *Committer) commit(batch []commitReq) {
	c.waitHold()
	var all []StoredMessage
	if len(batch) == 1 {
		all = batch[0].msgs
	} else {
		all = c.all[:0]
		for _, r := range batch {
			all = append(all, r.msgs...)
		}
	}
	added, err := c.db.AddMessages(all)
	if len(batch) > 1 {
		clear(all) // drop the references to the messages' bytes
		c.all = all[:0]
		if cap(all) > keepBatchBuf {
			c.all = nil
		}
	}
	c.lastReqs = len(batch)
	for _, r := range batch {
		res := commitResult{err: err}
		if err == nil {
			res.added, added = added[:len(r.msgs):len(r.msgs)], added[len(r.msgs):]
		}
		r.reply <- res
	}
}
