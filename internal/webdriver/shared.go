package webdriver

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// shared is the one browser of a test binary.
var shared struct {
	once sync.Once
	dir  string
	d    *Driver
	s    *Session
	err  error
}

// Shared returns the test binary's browser session, starting chromedriver
// and one headless Chromium on first use; tests that use it take turns
// (no t.Parallel). It skips the test when chromium is not installed, or
// with -short, but fails it when CI=true: CI installs it (make tools).
// Call CloseShared from TestMain after m.Run.
func Shared(t testing.TB) *Session {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no browser tests")
	}
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skipf("skipping the browser test: %v", err)
	}
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "lanchat-webdriver-"); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if shared.d, shared.err = Start(ctx, shared.dir); shared.err != nil {
			return
		}
		shared.s, shared.err = shared.d.NewSession(ctx)
	})
	if shared.err != nil {
		t.Fatalf("starting the browser: %v", shared.err)
	}
	// leave no page (and no event stream) open for the next test
	t.Cleanup(func() { shared.s.Navigate(context.Background(), "about:blank") })
	return shared.s
}

// CloseShared stops the shared browser, if one was started, and removes
// its profile.
func CloseShared() {
	if shared.d != nil {
		shared.d.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
