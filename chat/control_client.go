package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// clientEventBuffer bounds the events a ControlClient keeps while it waits
// for a response; older ones are dropped.
const clientEventBuffer = 4096

// ControlClient is a connection to a running node's control socket. It is
// not safe for concurrent use: one call at a time.
type ControlClient struct {
	conn   net.Conn
	dec    *json.Decoder
	nextID uint64
	events []Event // arrived while a call waited for its response
}

// controlLine is any line the server writes.
type controlLine struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *ControlError   `json:"error"`
	Event  *Event          `json:"event"`
}

// DialControl connects to the control socket at path. An error means no
// node answers there (none runs, or it crashed and left its socket).
func DialControl(ctx context.Context, path string) (*ControlClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &ControlClient{conn: conn, dec: json.NewDecoder(conn)}, nil
}

// Close ends the connection (and any subscription).
func (c *ControlClient) Close() error { return c.conn.Close() }

// Call sends one request and decodes its result into result (which may be
// nil). An error answered by the node is a *ControlError.
func (c *ControlClient) Call(ctx context.Context, method string, params, result any) error {
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
		var l controlLine
		if c.dec.Decode(&l) == nil && l.Error != nil {
			return l.Error
		}
		return c.ioError(ctx, method, err)
	}
	for {
		var l controlLine
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

// Subscribe asks for the node's events; read them with NextEvent.
func (c *ControlClient) Subscribe(ctx context.Context) error {
	return c.Call(ctx, MethodSubscribe, nil, nil)
}

// NextEvent returns the next event of the subscription.
func (c *ControlClient) NextEvent(ctx context.Context) (Event, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	defer c.watch(ctx)()
	for {
		var l controlLine
		if err := c.dec.Decode(&l); err != nil {
			return Event{}, c.ioError(ctx, "event", err)
		}
		if l.Event != nil {
			return *l.Event, nil
		}
	}
}

func (c *ControlClient) keep(ev Event) {
	if len(c.events) >= clientEventBuffer {
		c.events = c.events[1:]
	}
	c.events = append(c.events, ev)
}

// watch makes the connection's reads and writes end when ctx does; the
// returned function undoes it.
func (c *ControlClient) watch(ctx context.Context) func() {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		_ = c.conn.SetDeadline(time.Time{})
	}
}

func (c *ControlClient) ioError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("control %s: %w", what, err)
	}
	return fmt.Errorf("control %s: the node closed the connection: %w", what, err)
}
