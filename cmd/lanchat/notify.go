package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/notify"
)

// Desktop notifications (--notify on up and chat): one per message that
// mentions you, at most notifyBurst at once and then one per notifyEvery;
// the ones held back are counted in the next.
const (
	notifyBurst = 5
	notifyEvery = 2 * time.Second
)

// notifyHelp is the --notify flag's help.
const notifyHelp = "send a desktop notification (freedesktop, over D-Bus) for each message that mentions you"

// startNotifier sends the notifications of api's events until ctx ends or
// the returned stop is called. Without a session bus it says so once on
// stderr and does nothing: the node runs on.
func (e *env) startNotifier(ctx context.Context, api control.API) (stop func()) {
	n, err := notify.Open()
	if err != nil {
		fmt.Fprintf(e.stderr, "lanchat: --notify: %v; no desktop notifications (mentions are still marked)\n", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	events, err := api.Subscribe(ctx)
	if err != nil {
		cancel()
		n.Close()
		fmt.Fprintf(e.stderr, "lanchat: --notify: %v; no desktop notifications\n", err)
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer n.Close()
		e.notifyLoop(ctx, n, events)
	}()
	return func() { cancel(); <-done }
}

// notifyLoop turns mentions into notifications, rate-limited.
func (e *env) notifyLoop(ctx context.Context, n *notify.Notifier, events <-chan control.Event) {
	tokens, held := notifyBurst, 0
	var last *control.MessageView
	refill := time.NewTicker(notifyEvery)
	defer refill.Stop()
	failed := false
	send := func(v *control.MessageView, more int) {
		summary := chatui.AuthorLabel(v) + " mentioned you in #" + v.Room
		if more > 0 {
			summary += fmt.Sprintf(" (and %d more)", more)
		}
		if err := n.Notify(summary, chatui.MessageText(v)); err != nil && !failed {
			failed = true // said once: the notification service may be gone
			fmt.Fprintf(e.stderr, "lanchat: --notify: %v\n", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-refill.C:
			if held > 0 {
				send(last, held-1)
				held = 0
				continue
			}
			tokens = min(tokens+1, notifyBurst)
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind != control.EventMessage || ev.Message == nil || !ev.Message.Mention {
				continue
			}
			if tokens > 0 {
				tokens--
				send(ev.Message, 0)
				continue
			}
			held, last = held+1, ev.Message
		}
	}
}
