package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Tuning of the live-event stream.
const (
	// keepaliveInterval: a comment line this often, so that a proxy or the
	// browser sees the stream alive and a dead page is noticed.
	keepaliveInterval = 15 * time.Second
	// eventWriteTimeout: a page that does not read an event for this long
	// is dropped (it reconnects and reloads what it missed).
	eventWriteTimeout = 10 * time.Second
	// retryMillis: how soon the browser reconnects after the stream ends.
	retryMillis = 1000
)

// handleEvents streams the node's events as Server-Sent Events: one
// "data:" line of the event's JSON (the --json schema) per event, until the
// page goes, the node stops or the server does.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		writeError(w, http.StatusServiceUnavailable, "busy", fmt.Sprintf("at most %d live pages at once", cap(s.streams)), "close a tab")
		return
	}
	ctx := r.Context()
	events, err := s.api.Subscribe(ctx)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(chunk string) bool {
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(fmt.Sprintf("retry: %d\n: lanchat events\n\n", retryMillis)) {
		return
	}
	tick := time.NewTicker(keepaliveInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !write(": keepalive\n\n") {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return // the node stopped
			}
			b, err := json.Marshal(ev)
			if err != nil {
				s.logf("web UI: encoding an event: %v", err)
				continue
			}
			if !write("data: " + string(b) + "\n\n") {
				return
			}
		}
	}
}
