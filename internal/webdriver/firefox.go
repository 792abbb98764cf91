package webdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Firefox is a headless Firefox driven over WebDriver BiDi (built into
// Firefox: no geckodriver), with one browsing context. Stop it with Close.
//
// It is kept off the network by its profile: every connection that is not
// to loopback goes to a proxy at 127.0.0.1:9, where nothing listens, and
// updates, telemetry, safe browsing, captive-portal checks, DNS over HTTPS
// and push are off.
type Firefox struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	ws      *wsConn
	context string // the browsing context's id
	readErr chan error

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiAnswer
}

// ErrNoFirefox: Firefox is not installed.
var ErrNoFirefox = errors.New("firefox is needed (Debian: apt-get install firefox-esr; make tools installs it)")

var firefoxPaths = []string{"firefox-esr", "firefox"}

// FirefoxAvailable reports whether Firefox is installed.
func FirefoxAvailable() error {
	if _, err := lookPath(firefoxPaths); err != nil {
		return ErrNoFirefox
	}
	return nil
}

// firefoxPrefs keep the browser on this machine and quiet.
const firefoxPrefs = `user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.socks", "127.0.0.1");
user_pref("network.proxy.socks_port", 9);
user_pref("network.proxy.socks_remote_dns", true);
user_pref("network.proxy.no_proxies_on", "localhost, 127.0.0.1, [::1]");
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("network.trr.mode", 5);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.predictor.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.search.update", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("dom.push.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("media.gmp-manager.url", "http://127.0.0.1:9/");
user_pref("remote.prefs.recommended", true);
`

// StartFirefox runs a headless Firefox with a fresh profile under dir
// and opens a BiDi session with it.
func StartFirefox(ctx context.Context, dir string) (*Firefox, error) {
	bin, err := lookPath(firefoxPaths)
	if err != nil {
		return nil, ErrNoFirefox
	}
	profile, err := os.MkdirTemp(dir, "firefox-profile-")
	if err != nil {
		return nil, fmt.Errorf("firefox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o600); err != nil {
		return nil, fmt.Errorf("firefox: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "firefox.log"))
	if err != nil {
		return nil, fmt.Errorf("firefox: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port", strconv.Itoa(port), "--remote-allow-hosts", "127.0.0.1", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting firefox: %w", err)
	}
	f := &Firefox{cmd: cmd, exited: make(chan struct{}), waiting: map[int]chan bidiAnswer{}, readErr: make(chan error, 1)}
	go func() { cmd.Wait(); close(f.exited) }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	err = waitStarted(ctx, f.exited, 100*time.Millisecond, 60*time.Second, func() error {
		ws, err := dialWS(addr, "/session", 5*time.Second)
		f.ws = ws
		return err
	})
	switch {
	case errors.Is(err, errExited):
		return nil, fmt.Errorf("firefox exited (see %s)", logf.Name())
	case errors.Is(err, errNotStarted):
		f.Close()
		return nil, fmt.Errorf("firefox: no WebDriver BiDi on %s within 60s: %w", addr, err)
	case err != nil:
		f.Close()
		return nil, err
	}
	go f.readLoop()
	if err := f.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		f.Close()
		return nil, err
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := f.call(ctx, "browsingContext.getTree", map[string]any{}, &tree); err != nil || len(tree.Contexts) == 0 {
		f.Close()
		return nil, fmt.Errorf("firefox: no browsing context (%v)", err)
	}
	f.context = tree.Contexts[0].Context
	return f, nil
}

type bidiAnswer struct {
	Type    string          `json:"type"`
	ID      *int            `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// readLoop hands each answer to its caller; events are dropped.
func (f *Firefox) readLoop() {
	for {
		msg, err := f.ws.readMessage()
		if err != nil {
			f.mu.Lock()
			for id, ch := range f.waiting {
				close(ch)
				delete(f.waiting, id)
			}
			f.waiting = nil
			f.mu.Unlock()
			f.readErr <- err
			return
		}
		var a bidiAnswer
		if json.Unmarshal(msg, &a) != nil || a.ID == nil {
			continue
		}
		f.mu.Lock()
		ch := f.waiting[*a.ID]
		delete(f.waiting, *a.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
}

// call sends one command and decodes its result into out.
func (f *Firefox) call(ctx context.Context, method string, params, out any) error {
	f.mu.Lock()
	if f.waiting == nil {
		f.mu.Unlock()
		return errors.New("firefox: the connection is closed")
	}
	f.nextID++
	id := f.nextID
	ch := make(chan bidiAnswer, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	b, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := f.ws.writeText(b); err != nil {
		return fmt.Errorf("firefox %s: %w", method, err)
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return fmt.Errorf("firefox %s: the connection closed", method)
		}
		if a.Type == "error" {
			return fmt.Errorf("firefox %s: %s: %s", method, a.Error, a.Message)
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(a.Result, out)
	case <-ctx.Done():
		f.mu.Lock()
		if f.waiting != nil {
			delete(f.waiting, id)
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

// Navigate loads url and waits for the document to be complete.
func (f *Firefox) Navigate(ctx context.Context, url string) error {
	return f.call(ctx, "browsingContext.navigate", map[string]any{"context": f.context, "url": url, "wait": "complete"}, nil)
}

// Eval evaluates a JavaScript expression in the page (a promise is
// awaited) and decodes its value (a string, number or boolean) into out.
func (f *Firefox) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Type   string `json:"type"`
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := f.call(ctx, "script.evaluate", map[string]any{"expression": expr,
		"target": map[string]string{"context": f.context}, "awaitPromise": true}, &res); err != nil {
		return err
	}
	if res.Type == "exception" {
		text := ""
		if res.ExceptionDetails != nil {
			text = res.ExceptionDetails.Text
		}
		return fmt.Errorf("firefox: script threw: %s", text)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// Type presses and releases each key of keys (see the Key constants) on
// whatever has the focus, as a user at the keyboard does.
func (f *Firefox) Type(ctx context.Context, keys ...string) error {
	var acts []map[string]string
	for _, k := range keys {
		acts = append(acts, map[string]string{"type": "keyDown", "value": k}, map[string]string{"type": "keyUp", "value": k})
	}
	return f.call(ctx, "input.performActions", map[string]any{"context": f.context,
		"actions": []any{map[string]any{"type": "key", "id": "keyboard", "actions": acts}}}, nil)
}

// Close ends the session and stops Firefox (its process group).
func (f *Firefox) Close() error {
	if f.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f.call(ctx, "session.end", map[string]any{}, nil)
		cancel()
		f.ws.close()
		<-f.readErr
	}
	pid := f.cmd.Process.Pid
	signalGroup(pid, false)
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second):
	}
	signalGroup(pid, true)
	<-f.exited
	return nil
}
