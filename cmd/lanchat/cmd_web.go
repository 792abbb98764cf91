package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var webHelp = help{
	synopsis: "lanchat web [--open] [--json]",
	text: `Print a login link to the web UI of the node running on your data dir
(lanchat up, or lanchat chat that started its node): open it in your browser
to chat in a window. The link works once, for 10 minutes; it logs that
browser in (for 30 days, or until you log out) and leads it to the page.
Run lanchat web again for a new link.

--open opens the link in your default browser ($BROWSER, else xdg-open on
Linux, open on macOS). The link then never appears on a command line that
other users could see: it goes through a file only you can read, in the
data dir.

The web UI is served on 127.0.0.1:47180 unless the node was started with
--web-addr (127.0.0.1:0: any free port; off: none).`,
	example: `  lanchat web --open                 # with lanchat up running (or systemctl --user start lanchat)
  lanchat web                        # the link on the last line, to paste
  lanchat web --json | jq -r .url`,
}

// webOpenFile is the file in the data dir that --open hands to the
// browser: it leads to the login link.
const webOpenFile = "web-login.html"

func runWeb(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	open := fs.Bool("open", false, "open the link in your default browser")
	asJSON := fs.Bool("json", false, `print {"url": ..., "page": ...}`)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("web", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	dir, err := e.dir()
	if err != nil {
		return err
	}
	cl := control.Connect(ctx, dir)
	if cl == nil {
		return withHint(fmt.Errorf("web: %w", control.ErrNoNode),
			"start it first: lanchat up (it serves the web UI), then run lanchat web again")
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := cl.WebLogin(ctx)
	if err != nil {
		return nodeError(err)
	}
	if *open {
		if err := e.openBrowser(dir, res.URL); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	if *open {
		fmt.Fprintf(e.stdout, "Opening the web UI (%s) in your browser.\n", res.Page)
		return nil
	}
	fmt.Fprintf(e.stdout, "The web UI is at %s. This login link works once, for 10 minutes:\n%s\n", res.Page, res.URL)
	return nil
}

// openBrowser opens url in the user's browser through a file of the data
// dir (mode 0600) that leads to it, so that the secret never shows in a
// process list.
func (e *env) openBrowser(dir, url string) error {
	path := filepath.Join(dir, webOpenFile)
	page := "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url=" + html.EscapeString(url) + "\">" +
		"<title>lanchat</title><p><a href=\"" + html.EscapeString(url) + "\">Open lanchat</a></p>\n"
	os.Remove(path) // a new file, mode 0600, never one another user planted
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("web --open: %w", err)
	}
	_, werr := f.WriteString(page)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("web --open: %s: %w", path, werr)
	}
	name, argv := browserCommand(e.getenv("BROWSER"), "file://"+filepath.ToSlash(path))
	cmd := exec.Command(name, argv...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return withHint(fmt.Errorf("web --open: no browser opener (%s)", name),
				"set $BROWSER, or run lanchat web and paste the link into your browser")
		}
		return fmt.Errorf("web --open: %w", err)
	}
	return cmd.Process.Release() // the browser outlives this command
}

// browserCommand is the command that opens target in the default browser.
func browserCommand(browser, target string) (string, []string) {
	switch {
	case browser != "":
		return browser, []string{target}
	case runtime.GOOS == "darwin":
		return "open", []string{target}
	case runtime.GOOS == "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", target}
	default:
		return "xdg-open", []string{target}
	}
}
