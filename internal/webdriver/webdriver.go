// Package webdriver drives a real headless Chromium from Go tests over the
// W3C WebDriver protocol (chromedriver, plain HTTP and JSON): sessions,
// navigation, elements found by CSS, keys, text, accessible names,
// scripts and screenshots. It is for tests and benchmarks only.
//
// The browser is kept off the network: no background networking, no
// component updates, no sync, and a host resolver that resolves nothing
// but loopback, so a page can reach only this machine.
package webdriver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Keys of the WebDriver key table, for SendKeys.
const (
	KeyEnter = "\uE007"
	KeyShift = "\uE008"
	KeyTab   = "\uE004"
	KeyNull  = "\uE000" // releases the modifiers held down
)

// ErrNoBrowser: chromium or chromedriver is not installed.
var ErrNoBrowser = errors.New("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver; make tools installs them)")

// Paths where Debian and others install them.
var (
	chromiumPaths = []string{"chromium", "chromium-browser", "google-chrome"}
	driverPaths   = []string{"chromedriver"}
)

// Driver is a running chromedriver. Stop it with Close.
type Driver struct {
	cmd      *exec.Cmd
	base     string
	chromium string
	dir      string
	exited   chan struct{}
	client   *http.Client

	mu       sync.Mutex
	sessions map[*Session]struct{} // open ones, closed by Close
}

func lookPath(names []string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Available reports whether chromium and chromedriver are installed.
func Available() error {
	if _, err := lookPath(chromiumPaths); err != nil {
		return err
	}
	_, err := lookPath(driverPaths)
	return err
}

// Start runs chromedriver on a free loopback port; dir holds its log and
// the browsers' profiles.
func Start(ctx context.Context, dir string) (*Driver, error) {
	chromium, err := lookPath(chromiumPaths)
	if err != nil {
		return nil, err
	}
	driver, err := lookPath(driverPaths)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "chromedriver.log"))
	if err != nil {
		return nil, fmt.Errorf("webdriver: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = logf, logf
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("webdriver: starting chromedriver: %w", err)
	}
	d := &Driver{cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), chromium: chromium, dir: dir,
		exited: make(chan struct{}), client: &http.Client{Timeout: 60 * time.Second}, sessions: map[*Session]struct{}{}}
	go func() { cmd.Wait(); close(d.exited) }()
	err = waitStarted(ctx, d.exited, 50*time.Millisecond, 20*time.Second, func() error {
		var st struct {
			Ready bool `json:"ready"`
		}
		if err := d.do(ctx, http.MethodGet, "/status", nil, &st); err != nil {
			return err
		}
		if !st.Ready {
			return errors.New("not ready")
		}
		return nil
	})
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, errExited):
		return nil, fmt.Errorf("webdriver: chromedriver exited (see %s)", logf.Name())
	case errors.Is(err, errNotStarted):
		d.Close()
		return nil, errors.New("webdriver: chromedriver did not get ready in 20s")
	default:
		d.Close()
		return nil, err
	}
}

// Why waitStarted gave up (besides the context's error).
var (
	errExited     = errors.New("the process exited")
	errNotStarted = errors.New("not up in time")
)

// waitStarted calls try every interval until it succeeds, the process
// exits (errExited), ctx ends, or within has passed (errNotStarted,
// wrapping try's last error).
func waitStarted(ctx context.Context, exited <-chan struct{}, every, within time.Duration, try func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %w", errNotStarted, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("webdriver: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Close ends the sessions still open, stops chromedriver and the browsers
// it started (its process group), and waits for it.
func (d *Driver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.mu.Lock()
	open := d.sessions
	d.sessions = nil
	d.mu.Unlock()
	for s := range open {
		s.do(ctx, http.MethodDelete, "", nil, nil)
	}
	pid := d.cmd.Process.Pid
	signalGroup(pid, false)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
	}
	signalGroup(pid, true) // whatever of the group is left
	<-d.exited
	return nil
}

// wdError is a WebDriver error answer.
type wdError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// do sends one command and decodes its "value" into out.
func (d *Driver) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return fmt.Errorf("webdriver %s %s: %s: %w", method, path, res.Status, err)
	}
	if res.StatusCode != http.StatusOK {
		var e wdError
		json.Unmarshal(env.Value, &e)
		return &Error{Code: e.Error, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Value, out)
}

// Error is an error answered by the browser ("no such element", ...).
type Error struct{ Code, Message string }

func (e *Error) Error() string { return "webdriver: " + e.Code + ": " + e.Message }

// IsNoSuchElement reports whether err says that no element matched.
func IsNoSuchElement(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "no such element"
}

// Session is one browser window with a fresh profile.
type Session struct {
	d  *Driver
	id string
}

// Args are the Chromium flags of every session: headless, and nothing
// that talks to the network by itself.
func Args(profile string) []string {
	return []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-quic", "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
		"--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
		"--metrics-recording-only", "--no-pings", "--password-store=basic", "--use-mock-keychain",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
		"--window-size=1280,860", "--lang=en-US", "--user-data-dir=" + profile}
}

// NewSession opens a browser window with a fresh profile.
func (d *Driver) NewSession(ctx context.Context) (*Session, error) {
	profile, err := os.MkdirTemp(d.dir, "profile-")
	if err != nil {
		return nil, fmt.Errorf("webdriver: %w", err)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": d.chromium,
			"args":   Args(profile),
			"prefs":  map[string]any{"intl.accept_languages": "en-US"},
		},
	}}}
	var res struct {
		SessionID string `json:"sessionId"`
	}
	if err := d.do(ctx, http.MethodPost, "/session", caps, &res); err != nil {
		return nil, fmt.Errorf("new browser session: %w", err)
	}
	s := &Session{d: d, id: res.SessionID}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sessions == nil { // closed meanwhile
		s.do(ctx, http.MethodDelete, "", nil, nil)
		return nil, errors.New("webdriver: the driver is closed")
	}
	d.sessions[s] = struct{}{}
	return s, nil
}

func (s *Session) do(ctx context.Context, method, path string, body, out any) error {
	return s.d.do(ctx, method, "/session/"+s.id+path, body, out)
}

// Close closes the window.
func (s *Session) Close(ctx context.Context) error {
	s.d.mu.Lock()
	delete(s.d.sessions, s)
	s.d.mu.Unlock()
	return s.do(ctx, http.MethodDelete, "", nil, nil)
}

// Navigate loads url and waits for the document to load.
func (s *Session) Navigate(ctx context.Context, url string) error {
	return s.do(ctx, http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// URL is the current page's address.
func (s *Session) URL(ctx context.Context) (string, error) {
	var u string
	err := s.do(ctx, http.MethodGet, "/url", nil, &u)
	return u, err
}

// Title is the page's title.
func (s *Session) Title(ctx context.Context) (string, error) {
	var t string
	err := s.do(ctx, http.MethodGet, "/title", nil, &t)
	return t, err
}

// Element is an element of the page.
type Element struct {
	s  *Session
	id string
}

const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// Find returns the first element matching css.
func (s *Session) Find(ctx context.Context, css string) (*Element, error) {
	var ref map[string]string
	if err := s.do(ctx, http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &ref); err != nil {
		return nil, fmt.Errorf("find %s: %w", css, err)
	}
	return &Element{s: s, id: ref[elementKey]}, nil
}

// FindAll returns every element matching css.
func (s *Session) FindAll(ctx context.Context, css string) ([]*Element, error) {
	var refs []map[string]string
	if err := s.do(ctx, http.MethodPost, "/elements", map[string]string{"using": "css selector", "value": css}, &refs); err != nil {
		return nil, fmt.Errorf("find %s: %w", css, err)
	}
	els := make([]*Element, len(refs))
	for i, r := range refs {
		els[i] = &Element{s: s, id: r[elementKey]}
	}
	return els, nil
}

// Execute runs script (a function body; arguments in `arguments`) in the
// page and decodes what it returns into out (nil: ignored).
func (s *Session) Execute(ctx context.Context, script string, out any, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return s.do(ctx, http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// Screenshot returns a PNG of the window.
func (s *Session) Screenshot(ctx context.Context) ([]byte, error) {
	var b64 string
	if err := s.do(ctx, http.MethodGet, "/screenshot", nil, &b64); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(b64)
}

// SetWindowSize resizes the window, in CSS pixels.
func (s *Session) SetWindowSize(ctx context.Context, width, height int) error {
	return s.do(ctx, http.MethodPost, "/window/rect", map[string]int{"width": width, "height": height}, nil)
}

// ActiveElement is the element that has the focus.
func (s *Session) ActiveElement(ctx context.Context) (*Element, error) {
	var ref map[string]string
	if err := s.do(ctx, http.MethodGet, "/element/active", nil, &ref); err != nil {
		return nil, err
	}
	return &Element{s: s, id: ref[elementKey]}, nil
}

// SendKeys types text into the element (see the Key constants).
func (e *Element) SendKeys(ctx context.Context, text string) error {
	return e.s.do(ctx, http.MethodPost, "/element/"+e.id+"/value", map[string]string{"text": text}, nil)
}

// Click clicks the element.
func (e *Element) Click(ctx context.Context) error {
	return e.s.do(ctx, http.MethodPost, "/element/"+e.id+"/click", map[string]string{}, nil)
}

// Text is the element's rendered text.
func (e *Element) Text(ctx context.Context) (string, error) {
	var t string
	err := e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/text", nil, &t)
	return t, err
}

// Label is the element's accessible name, as assistive technology gets it.
func (e *Element) Label(ctx context.Context) (string, error) {
	var t string
	err := e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/computedlabel", nil, &t)
	return t, err
}

// Role is the element's computed ARIA role.
func (e *Element) Role(ctx context.Context) (string, error) {
	var t string
	err := e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/computedrole", nil, &t)
	return t, err
}

// Property is one of the element's DOM properties (value, disabled, ...).
func (e *Element) Property(ctx context.Context, name string, out any) error {
	return e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/property/"+name, nil, out)
}

// Attribute is one of the element's attributes ("" when absent).
func (e *Element) Attribute(ctx context.Context, name string) (string, error) {
	var v *string
	if err := e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/attribute/"+name, nil, &v); err != nil || v == nil {
		return "", err
	}
	return *v, nil
}

// AcceptAlert accepts the open alert or confirm dialog.
func (s *Session) AcceptAlert(ctx context.Context) error {
	return s.do(ctx, http.MethodPost, "/alert/accept", map[string]string{}, nil)
}

// AlertText is the text of the open alert or confirm dialog.
func (s *Session) AlertText(ctx context.Context) (string, error) {
	var t string
	err := s.do(ctx, http.MethodGet, "/alert/text", nil, &t)
	return t, err
}

// PressKeys presses and releases each key in turn on whatever has the
// focus (WebDriver actions), as a user at the keyboard does.
func (s *Session) PressKeys(ctx context.Context, keys ...string) error {
	var acts []map[string]string
	for _, k := range keys {
		acts = append(acts, map[string]string{"type": "keyDown", "value": k}, map[string]string{"type": "keyUp", "value": k})
	}
	return s.do(ctx, http.MethodPost, "/actions", map[string]any{"actions": []any{
		map[string]any{"type": "key", "id": "keyboard", "actions": acts}}}, nil)
}

// ExecuteAsync runs script in the page; it ends by calling its last
// argument (arguments[arguments.length-1]) with the result, decoded into out.
func (s *Session) ExecuteAsync(ctx context.Context, script string, out any, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return s.do(ctx, http.MethodPost, "/execute/async", map[string]any{"script": script, "args": args}, out)
}

// SetScriptTimeout bounds ExecuteAsync.
func (s *Session) SetScriptTimeout(ctx context.Context, d time.Duration) error {
	return s.do(ctx, http.MethodPost, "/timeouts", map[string]int64{"script": d.Milliseconds()}, nil)
}

// SetPermission sets a permission of the page's origin ("notifications":
// "granted", "denied" or "prompt"), as the user would in the browser.
func (s *Session) SetPermission(ctx context.Context, name, state string) error {
	return s.do(ctx, http.MethodPost, "/permissions", map[string]any{"descriptor": map[string]string{"name": name}, "state": state}, nil)
}
