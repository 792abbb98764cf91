package chat

import (
	"context"
	"sync"
)

// deliveryLine is a link's deliveries waiting for their commit, in arrival
// order. Its goroutine (deliver) runs only while some wait and exits when
// the line is empty, so an idle link holds neither a goroutine nor queue
// slots for it. At most one goroutine runs at a time, so deliveries of one
// link are shown in arrival order. At most deliveryQueue wait: a full line
// stops the link's reader (push blocks), and TCP pushes back.
type deliveryLine struct {
	l     *link
	slots chan struct{} // one token per waiting delivery (zero-size elements: no buffer)
	mu    sync.Mutex
	q     []delivery // waiting, oldest first (guarded by mu)
	// running: a deliver goroutine runs (guarded by mu).
	running bool
	wg      sync.WaitGroup
}

func newDeliveryLine(l *link) *deliveryLine {
	return &deliveryLine{l: l, slots: make(chan struct{}, deliveryQueue)}
}

// push queues d, waiting while deliveryQueue deliveries wait, and starts
// the line's goroutine if none runs. It fails only with ctx's error.
func (dl *deliveryLine) push(ctx context.Context, d delivery) error {
	select {
	case dl.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.q = append(dl.q, d)
	if !dl.running {
		dl.running = true
		dl.wg.Add(1)
		go dl.run()
	}
	return nil
}

// run delivers until the line is empty, then ends.
func (dl *deliveryLine) run() {
	defer dl.wg.Done()
	for {
		d, ok := dl.next()
		if !ok {
			return
		}
		dl.l.deliverOne(d)
		<-dl.slots
	}
}

// next takes the oldest waiting delivery; ok is false (and the goroutine
// must end) when none waits.
func (dl *deliveryLine) next() (d delivery, ok bool) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if len(dl.q) == 0 {
		dl.running = false
		dl.q = nil // give the array back
		return delivery{}, false
	}
	d = dl.q[0]
	dl.q[0] = delivery{}
	dl.q = dl.q[1:]
	return d, true
}

// wait returns once every delivery pushed so far is delivered. The link's
// serve loop calls it as it ends, after its last push.
func (dl *deliveryLine) wait() { dl.wg.Wait() }
