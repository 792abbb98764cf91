package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lanchat/lanchat/chat"
	"net"
	"strconv"
	"sync"
	"time"
)

// clientEventBuffer bounds the events a Client keeps while it waits
// for a response; older ones are dropped.
const clientEventBuffer = 4096

// Client is a connection to a running node's control socket; it
// implements API. Calls are serialized on one connection; Subscribe opens
// a connection of its own, so events and calls go on at once.
type Client struct {
	path   string
	mu     sync.Mutex // one call at a time on conn
	conn   net.Conn
	dec    *json.Decoder
	nextID uint64
	events []chat.Event // arrived while a call waited for its response
}

// wireLine is any line the server writes.
type wireLine struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
	Event  *chat.Event     `json:"event"`
}

// Dial connects to the control socket at path. An error means no
// node answers there (none runs, or it crashed and left its socket).
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &Client{path: path, conn: conn, dec: json.NewDecoder(conn)}, nil
}

// Close ends the connection (and any subscription).
func (c *Client) Close() error { return c.conn.Close() }

// Call sends one request and decodes its result into result (which may be
// nil). An error answered by the node is a *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.watch(ctx)()
	c.nextID++
	id := json.RawMessage(strconv.FormatUint(c.nextID, 10))
	req, err := json.Marshal(struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params any             `json:"params,omitempty"`
	}{id, method, params})
	if err != nil {
		return fmt.Errorf("control %s: %w", method, err)
	}
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		// A server that refused us (busy) wrote why before closing.
		var l wireLine
		if c.dec.Decode(&l) == nil && l.Error != nil {
			return l.Error
		}
		return c.ioError(ctx, method, err)
	}
	for {
		var l wireLine
		if err := c.dec.Decode(&l); err != nil {
			return c.ioError(ctx, method, err)
		}
		switch {
		case l.Event != nil:
			c.keep(*l.Event)
		case string(l.ID) != string(id) && string(l.ID) != "null":
			continue // not ours (cannot happen with one call at a time)
		case l.Error != nil:
			return l.Error
		case result == nil:
			return nil
		default:
			if err := json.Unmarshal(l.Result, result); err != nil {
				return fmt.Errorf("control %s: decoding the result: %w", method, err)
			}
			return nil
		}
	}
}

// subscribe asks for the node's events on this connection; read them
// with nextEvent.
func (c *Client) subscribe(ctx context.Context) error {
	return c.Call(ctx, MethodSubscribe, nil, nil)
}

// nextEvent returns the next event of the subscription.
func (c *Client) nextEvent(ctx context.Context) (chat.Event, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	defer c.watch(ctx)()
	for {
		var l wireLine
		if err := c.dec.Decode(&l); err != nil {
			return chat.Event{}, c.ioError(ctx, "event", err)
		}
		if l.Event != nil {
			return *l.Event, nil
		}
	}
}

func (c *Client) keep(ev chat.Event) {
	if len(c.events) >= clientEventBuffer {
		c.events = c.events[1:]
	}
	c.events = append(c.events, ev)
}

// watch makes the connection's reads and writes end when ctx does; the
// returned function undoes it.
func (c *Client) watch(ctx context.Context) func() {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		_ = c.conn.SetDeadline(time.Time{})
	}
}

func (c *Client) ioError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("control %s: %w", what, err)
	}
	return fmt.Errorf("control %s: the node closed the connection: %w", what, err)
}
