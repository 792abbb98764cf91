//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanchat/lanchat/chat"
	"github.com/lanchat/lanchat/control"
	"github.com/lanchat/lanchat/internal/webdriver"
	"github.com/lanchat/lanchat/web"
)

// Sizes of the web UI figure.
const (
	webStoredMessages = 200 // in the room when the page loads
	webPace           = 20 * time.Millisecond
)

// webLoads and webArrivals are how many page loads and live messages the
// figure times.
func (b *bench) webCounts() (loads, arrivals int) {
	if b.opts.quick {
		return 5, 50
	}
	return 15, 200
}

// runWeb: the web UI in headless Chromium against two in-process nodes.
// Page load → first message shown (baseline: the page's own history
// request from Go), and a message's arrival at the node → shown in the
// page (baseline: the same event reaching a subscriber of the control
// socket, the path of an attached `lanchat chat --json`).
func runWeb(ctx context.Context, b *bench) ([]row, error) {
	if err := webdriver.Available(); err != nil {
		return nil, err
	}
	loads, arrivals := b.webCounts()
	b.note(fmt.Sprintf("# web UI: two in-process nodes, headless Chromium over chromedriver, %d page loads, %d messages 1 per %v (see cmd/lanchat-bench/fig_web.go)", loads, arrivals, webPace))
	dir, err := b.dir("web")
	if err != nil {
		return nil, err
	}
	wb, err := startWebBench(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer wb.stop()
	if err := wb.fill(ctx, webStoredMessages); err != nil {
		return nil, err
	}
	pageLoads, apiLoads, err := wb.pageLoads(ctx, loads)
	if err != nil {
		return nil, fmt.Errorf("page loads: %w", err)
	}
	shown, viaSocket, err := wb.arrivals(ctx, arrivals)
	if err != nil {
		return nil, fmt.Errorf("live messages: %w", err)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	loadBase := fmt.Sprintf("GET /api/history?limit=200 from Go, same session (%d stored)", webStoredMessages)
	liveBase := "same event at a control-socket subscriber (an attached chat --json's path)"
	return []row{
		compared(fmt.Sprintf("web UI: page load → first message shown, p50 (%d loads, %d messages stored)", loads, webStoredMessages),
			measure{ms(percentile(pageLoads, 0.5)), "ms", ""}, measure{ms(percentile(apiLoads, 0.5)), "ms", loadBase}, "—", nil),
		compared("web UI: page load → first message shown, p99",
			measure{ms(percentile(pageLoads, 0.99)), "ms", ""}, measure{ms(percentile(apiLoads, 0.99)), "ms", loadBase}, "—", nil),
		compared(fmt.Sprintf("web UI: message at the node → shown in the page, p50 (%d msgs, 1 per %v)", arrivals, webPace),
			measure{ms(percentile(shown, 0.5)), "ms", ""}, measure{ms(percentile(viaSocket, 0.5)), "ms", liveBase}, "—", nil),
		compared("web UI: message at the node → shown in the page, p99",
			measure{ms(percentile(shown, 0.99)), "ms", ""}, measure{ms(percentile(viaSocket, 0.99)), "ms", liveBase}, "—", nil),
	}, nil
}

// webBench is alice (with the web UI and a control socket) and bob,
// linked, and a browser.
type webBench struct {
	alice, bob *benchNode
	svc        *control.Service
	ui         *web.Server
	stops      []func()
	driver     *webdriver.Driver
	page       *webdriver.Session
	http       *http.Client
}

func startWebBench(ctx context.Context, dir string) (wb *webBench, err error) {
	wb = &webBench{}
	defer func() {
		if err != nil {
			wb.stop()
			wb = nil
		}
	}()
	ids, err := newIdentities(2)
	if err != nil {
		return nil, err
	}
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	for i, name := range []string{"alice", "bob"} {
		store, err := openStore(dir, name, ids[1-i].Public())
		if err != nil {
			return nil, err
		}
		cfg := loopbackConfig(ids[i], store, port, 2)
		cfg.Nickname = name
		cfg.Discovery.Interval = 200 * time.Millisecond
		n, err := startNode(ctx, cfg)
		if err != nil {
			store.Close()
			return nil, err
		}
		if i == 0 {
			wb.alice = n
		} else {
			wb.bob = n
		}
	}
	if err := waitUntil(ctx, 30*time.Second, 20*time.Millisecond, "alice and bob to link", func() bool {
		return len(wb.alice.node.LinkedPeers()) == 1 && len(wb.bob.node.LinkedPeers()) == 1
	}); err != nil {
		return nil, err
	}
	wb.svc = control.NewService(wb.alice.node, wb.alice.store, dir)
	cfg := web.DefaultConfig()
	cfg.Addr, cfg.KeyFile = "127.0.0.1:0", filepath.Join(dir, web.KeyFileName)
	if wb.ui, err = web.Listen(cfg); err != nil {
		return nil, err
	}
	wb.serve(func(ctx context.Context) error { return wb.ui.Serve(ctx, wb.svc) })
	srv, err := control.Listen(wb.svc, filepath.Join(dir, control.SocketName), control.DefaultServerConfig())
	if err != nil {
		return nil, err
	}
	wb.serve(srv.Serve)
	if wb.driver, err = webdriver.Start(ctx, dir); err != nil {
		return nil, err
	}
	if wb.page, err = wb.driver.NewSession(ctx); err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	wb.http = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	return wb, nil
}

// serve runs f until stop.
func (wb *webBench) serve(f func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	wb.stops = append(wb.stops, func() { cancel(); <-done })
}

func (wb *webBench) stop() {
	if wb.driver != nil {
		wb.driver.Close()
	}
	for i := len(wb.stops) - 1; i >= 0; i-- {
		wb.stops[i]()
	}
	stopAll([]*benchNode{wb.alice, wb.bob})
}

// fill has bob send n messages and waits until alice stores them all.
func (wb *webBench) fill(ctx context.Context, n int) error {
	for i := range n {
		if _, _, err := wb.bob.node.Send(ctx, chat.DefaultRoom, fmt.Sprintf("stored message %d", i)); err != nil {
			return err
		}
	}
	return waitUntil(ctx, 60*time.Second, 20*time.Millisecond, "the stored messages at alice", func() bool {
		v, err := wb.svc.History(ctx, control.HistoryParams{Rooms: []string{chat.DefaultRoom}})
		return err == nil && len(v) >= n
	})
}

// firstMessageScript resolves with the milliseconds from the navigation's
// start until the page shows a message.
const firstMessageScript = `const done = arguments[arguments.length - 1];
const seen = () => document.querySelector("#messages .msg");
if (seen()) { done(performance.now()); return; }
new MutationObserver((_, o) => { if (seen()) { o.disconnect(); done(performance.now()); } })
  .observe(document.documentElement, {childList: true, subtree: true});`

// pageLoads times n loads of a fresh login URL until the first message
// shows, and n history requests of the page's from Go with a session.
func (wb *webBench) pageLoads(ctx context.Context, n int) (page, api []time.Duration, err error) {
	if err := wb.page.SetScriptTimeout(ctx, 30*time.Second); err != nil {
		return nil, nil, err
	}
	for range n {
		u, err := wb.ui.LoginURL(ctx)
		if err != nil {
			return nil, nil, err
		}
		if err := wb.page.Navigate(ctx, u); err != nil {
			return nil, nil, err
		}
		var msSinceStart float64
		if err := wb.page.ExecuteAsync(ctx, firstMessageScript, &msSinceStart); err != nil {
			return nil, nil, err
		}
		page = append(page, time.Duration(msSinceStart*float64(time.Millisecond)))
	}
	u, err := wb.ui.LoginURL(ctx)
	if err != nil {
		return nil, nil, err
	}
	res, err := wb.http.Get(u)
	if err != nil {
		return nil, nil, err
	}
	res.Body.Close()
	for range n {
		start := time.Now()
		res, err := wb.http.Get(wb.ui.URL() + "api/history?room=lobby&limit=200")
		if err != nil {
			return nil, nil, err
		}
		var views []json.RawMessage
		err = json.NewDecoder(res.Body).Decode(&views)
		res.Body.Close()
		if err != nil || len(views) == 0 {
			return nil, nil, fmt.Errorf("history from Go: %d messages, %v", len(views), err)
		}
		api = append(api, time.Since(start))
	}
	return page, api, nil
}

// watchScript makes the page note, for every message it shows, when (Unix
// milliseconds, sub-millisecond precision) it appeared.
const watchScript = `window.benchSeen = {};
new MutationObserver((records) => {
  const t = performance.timeOrigin + performance.now();
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    for (const m of (n.matches(".msg") ? [n] : n.querySelectorAll(".msg"))) {
      const id = m.getAttribute("data-id");
      if (!(id in window.benchSeen)) window.benchSeen[id] = t;
    }
  }
}).observe(document.getElementById("messages"), {childList: true, subtree: true});
return true;`

// arrivals has bob send n messages, one per webPace, and times each from
// its event at alice's node to the page showing it, and to a control
// socket subscriber receiving it.
func (wb *webBench) arrivals(ctx context.Context, n int) (shown, viaSocket []time.Duration, err error) {
	var ok bool
	if err := wb.page.Execute(ctx, watchScript, &ok); err != nil || !ok {
		return nil, nil, errors.Join(errors.New("installing the page's watch"), err)
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	atNode, err := wb.svc.Subscribe(subCtx)
	if err != nil {
		return nil, nil, err
	}
	cl, err := control.Dial(ctx, filepath.Join(filepath.Dir(wb.alice.store.Path()), control.SocketName))
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	atSocket, err := cl.Subscribe(subCtx)
	if err != nil {
		return nil, nil, err
	}
	nodeAt, socketAt := map[string]time.Time{}, map[string]time.Time{}
	collect := func(ch <-chan chat.Event, into map[string]time.Time) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range ch {
				if ev.Kind == chat.EventMessage && strings.HasPrefix(ev.Message.Body, "live ") {
					into[ev.Message.ID] = time.Now()
				}
			}
		}()
		return done
	}
	nodeDone, socketDone := collect(atNode, nodeAt), collect(atSocket, socketAt)
	tick := time.NewTicker(webPace)
	for i := range n {
		<-tick.C
		if _, _, err := wb.bob.node.Send(ctx, chat.DefaultRoom, fmt.Sprintf("live %d", i)); err != nil {
			tick.Stop()
			return nil, nil, err
		}
	}
	tick.Stop()
	var seen map[string]float64
	err = waitUntil(ctx, 60*time.Second, 50*time.Millisecond, "every live message in the page", func() bool {
		return wb.page.Execute(ctx, `return window.benchSeen`, &seen) == nil && len(seen) >= n
	})
	cancel()
	<-nodeDone
	<-socketDone
	if err != nil {
		return nil, nil, err
	}
	for id, at := range nodeAt {
		pageMs, ok := seen[id]
		sock, ok2 := socketAt[id]
		if !ok || !ok2 {
			continue
		}
		pageAt := time.UnixMicro(int64(pageMs * 1000))
		shown = append(shown, max(pageAt.Sub(at), 0))
		viaSocket = append(viaSocket, sock.Sub(at))
	}
	if len(shown) < n {
		return nil, nil, fmt.Errorf("%d of %d live messages timed on both paths", len(shown), n)
	}
	return shown, viaSocket, nil
}
