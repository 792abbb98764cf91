package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/chat"
	"net"
	"sync"
	"time"
)

// clientConn is one client of the control socket. Its goroutines: serve
// (reads and answers requests, in order), writeLoop (the only writer), and
// with a subscription, pump (events to the queue). All stop when done closes.
type clientConn struct {
	srv  *Server
	conn net.Conn
	out  chan []byte   // lines waiting to be written (bounded); nil: close after the lines before
	done chan struct{} // closed by close

	writerDone chan struct{} // closed when writeLoop returns

	closeOnce  sync.Once
	subscribed bool // only serve touches it
}

func newClientConn(s *Server, conn net.Conn) *clientConn {
	return &clientConn{srv: s, conn: conn, out: make(chan []byte, s.cfg.EventQueue),
		done: make(chan struct{}), writerDone: make(chan struct{})}
}

// close drops the client; every goroutine of it then ends.
func (c *clientConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.conn.Close()
	})
}

// serve reads request lines until the client goes or the server stops.
func (c *clientConn) serve(ctx context.Context) {
	r := bufio.NewReaderSize(c.conn, c.srv.cfg.MaxLine)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			c.reply(nil, nil, &Error{Code: CodeTooLarge,
				Message: fmt.Sprintf("request line over %d bytes", c.srv.cfg.MaxLine)})
			c.closeAfterWrites()
			return
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			c.handle(ctx, line) // a last line without "\n" too
		}
		if err != nil {
			if len(line) > 0 {
				c.closeAfterWrites() // its answer goes out before the close
			}
			return // the client left, or we closed
		}
	}
}

// handle answers one request line.
func (c *clientConn) handle(ctx context.Context, line []byte) {
	req, cerr := parseRequest(line)
	if cerr != nil {
		c.reply(req.ID, nil, cerr)
		return
	}
	if req.Method == MethodSubscribe {
		c.subscribe(req.ID)
		return
	}
	result, err := c.srv.call(ctx, req.Method, req.Params)
	if err != nil {
		c.reply(req.ID, nil, toError(err))
		return
	}
	c.reply(req.ID, result, nil)
}

// parseRequest reads one request line. On an error, the request's id is
// kept if it could be read.
func parseRequest(line []byte) (request, *Error) {
	var req request
	err := json.Unmarshal(line, &req)
	if err == nil && req.Method != "" && validID(req.ID) {
		return req, nil
	}
	msg := "want a JSON object with \"id\" (a number or a string), \"method\" and \"params\""
	if err != nil {
		msg += ": " + err.Error()
	}
	if !validID(req.ID) {
		req.ID = nil
	}
	return req, &Error{Code: CodeBadRequest, Message: msg}
}

// validID accepts an absent id, null, a number or a string.
func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return true
	}
	switch id[0] {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'n':
		return true
	}
	return false
}

// reply queues a response; it waits for room in the queue (only this
// client's reader waits), until the client is dropped.
func (c *clientConn) reply(id json.RawMessage, result any, cerr *Error) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	resp := response{ID: id, Result: result, Error: cerr}
	if cerr == nil && result == nil {
		resp.Result = struct{}{}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(response{ID: id, Error: &Error{Code: CodeFailed, Message: "encoding the result: " + err.Error()}})
	}
	select {
	case c.out <- append(b, '\n'):
	case <-c.done:
	}
}

// subscribe starts streaming the node's events to this client.
func (c *clientConn) subscribe(id json.RawMessage) {
	if c.subscribed {
		c.reply(id, nil, &Error{Code: CodeInvalidParams, Message: "already subscribed on this connection"})
		return
	}
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	c.subscribed = true
	ctx, unsubscribe := context.WithCancel(context.Background())
	events, err := c.srv.api.Subscribe(ctx)
	if err != nil {
		unsubscribe()
		c.reply(id, nil, toError(err))
		return
	}
	c.reply(id, SubscribeResult{Subscribed: true}, nil)
	c.srv.wg.Add(1)
	go c.pump(id, events, unsubscribe)
}

// pump moves events to the write queue without ever waiting: when the
// queue is full, events are dropped (notices first: they keep to their
// share of the queue, see chat.NoticeHeadroom) and the client is told how many
// by an events_dropped event as soon as there is room. A client that stops
// reading altogether is dropped by the write timeout.
func (c *clientConn) pump(id json.RawMessage, events <-chan chat.Event, unsubscribe func()) {
	defer c.srv.wg.Done()
	defer unsubscribe()
	var dropped uint64
	retry := time.NewTicker(dropRetry)
	defer retry.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				c.close() // the node stopped
				return
			}
			lost := uint64(1)
			if ev.Kind == chat.EventDropped { // lost before this pump: add them up
				ev.Count += dropped
				dropped, lost = 0, ev.Count
			}
			c.tellDropped(id, &dropped, ev.Time)
			if !c.offerEvent(id, ev) {
				dropped += lost
			}
		case <-retry.C:
			c.tellDropped(id, &dropped, time.Now())
		case <-c.done:
			return
		}
	}
}

// dropRetry is how often a pump with undelivered events retries telling
// its client how many.
const dropRetry = 100 * time.Millisecond

// tellDropped queues an events_dropped line if events were dropped and
// there is room.
func (c *clientConn) tellDropped(id json.RawMessage, dropped *uint64, at time.Time) {
	if *dropped == 0 {
		return
	}
	if c.offerEvent(id, chat.Event{Kind: chat.EventDropped, Time: at, Count: *dropped}) {
		*dropped = 0
	}
}

// offerEvent queues ev's line if there is room for it (see chat.NoticeHeadroom)
// and reports whether it did.
func (c *clientConn) offerEvent(id json.RawMessage, ev chat.Event) bool {
	if ev.Kind != chat.EventMessage && len(c.out) >= cap(c.out)-cap(c.out)/chat.NoticeHeadroom {
		return false
	}
	b, err := json.Marshal(eventLine{ID: id, Event: ev})
	if err != nil {
		return true // cannot happen for these types; nothing to tell
	}
	select {
	case c.out <- append(b, '\n'):
		return true
	default:
		return false
	}
}

// closeAfterWrites lets the writer finish what is queued, then drops the
// client; it returns once the writer is done.
func (c *clientConn) closeAfterWrites() {
	select {
	case c.out <- nil:
	case <-c.done:
	}
	<-c.writerDone
}

// writeLoop writes queued lines, each within the write timeout.
func (c *clientConn) writeLoop() {
	defer c.srv.wg.Done()
	defer close(c.writerDone)
	for {
		select {
		case line := <-c.out:
			if line == nil || !c.write(line) {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *clientConn) write(line []byte) bool {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout)); err != nil {
		return false
	}
	_, err := c.conn.Write(line)
	return err == nil
}

// flushAndClose writes what is queued and drops the client; for a client
// that has no writeLoop.
func (c *clientConn) flushAndClose() {
	for {
		select {
		case line := <-c.out:
			if !c.write(line) {
				c.close()
				return
			}
		default:
			c.close()
			return
		}
	}
}

// refuse answers a client that is not admitted, then closes it.
func (c *clientConn) refuse(cerr *Error) {
	c.reply(nil, nil, cerr)
	c.flushAndClose()
}
