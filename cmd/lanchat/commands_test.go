package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

func TestHelpAndUsageErrors(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "lanchat: no command given"},
		{[]string{"--help"}, 0, "Usage: lanchat [--data-dir DIR] <command>", ""},
		{[]string{"-h"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"help", "trust"}, 0, "Usage: lanchat trust <fingerprint>", ""},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{[]string{"--version"}, 0, "lanchat ", ""},
		{[]string{"frobnicate"}, 2, "", `lanchat: unknown command "frobnicate"`},
		{[]string{"--bogus"}, 2, "", "unknown flag: --bogus"},
		{[]string{"trusted", "extra"}, 2, "", "want no arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := c.must(tt.code, tt.args...)
			wantContains(t, "stdout", r.stdout, tt.stdout)
			wantContains(t, "stderr", r.stderr, tt.stderr)
			if tt.code == exitUsage {
				wantContains(t, "stderr", r.stderr, "lanchat: hint: ")
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	c := newCLI(t)
	for _, cmd := range commands {
		for _, h := range []string{"--help", "-h"} {
			r := c.must(0, cmd.name, h)
			wantContains(t, cmd.name+" "+h, r.stdout, "Usage: lanchat "+cmd.name, "Options:", "--data-dir DIR", "Example:\n  lanchat "+cmd.name)
			if strings.Contains(r.stdout, "[=true|false]") {
				t.Errorf("%s %s: pflag's boolean markers leaked into the help:\n%s", cmd.name, h, r.stdout)
			}
		}
	}
}

// runInProcess calls dispatch with a fixed environment.
func runInProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := newEnv(strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	err := e.dispatch(context.Background(), args)
	code = report(&errOut, err)
	return out.String(), errOut.String(), code
}

func TestRunInProcess(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir(), envKDF: "fast", envPassphrase: "pw"}
	out, errOut, code := runInProcess(t, env, "init", "--name", "alice")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, errOut)
	}
	wantContains(t, "init", out, "Created identity for alice in "+env["HOME"]+"/.local/share/lanchat")
	out, _, code = runInProcess(t, env, "id", "--check-passphrase")
	if code != 0 {
		t.Fatalf("id: exit %d", code)
	}
	wantContains(t, "id", out, "Passphrase:  ok")
	env[envPassphrase] = "nope"
	_, errOut, code = runInProcess(t, env, "id", "--check-passphrase")
	if code != exitFailure {
		t.Errorf("id with a wrong passphrase: exit %d, want %d", code, exitFailure)
	}
	wantContains(t, "stderr", errOut, "lanchat: unlock your key: wrong passphrase", "lanchat: hint: use the passphrase given at lanchat init")
}

func TestDefaultDataDir(t *testing.T) {
	all := map[string]string{envHome: "/x/lc", "XDG_DATA_HOME": "/xdg", "HOME": "/h", "AppData": `C:\Users\a\AppData\Roaming`}
	tests := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", all, "/x/lc"},
		{"windows", all, "/x/lc"},
		{"darwin", all, "/x/lc"},
		{"linux", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/h"}, "/xdg/lanchat"},
		{"freebsd", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/h"}, "/xdg/lanchat"},
		{"linux", map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/h"}, "/h/.local/share/lanchat"},
		{"linux", map[string]string{"HOME": "/h"}, "/h/.local/share/lanchat"},
		{"linux", map[string]string{"AppData": `C:\x`}, ""},
		{"linux", map[string]string{}, ""},
		{"darwin", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/Users/a"}, "/Users/a/Library/Application Support/lanchat"},
		{"darwin", map[string]string{}, ""},
		{"windows", map[string]string{"AppData": `C:\Users\a\AppData\Roaming`, "HOME": "/h", "XDG_DATA_HOME": "/xdg"}, `C:\Users\a\AppData\Roaming\lanchat`},
		{"windows", map[string]string{"AppData": `C:\Users\a\AppData\Roaming\`}, `C:\Users\a\AppData\Roaming\lanchat`},
		{"windows", map[string]string{"HOME": "/h"}, ""},
	}
	for _, tt := range tests {
		if got := defaultDataDir(tt.goos, func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("defaultDataDir(%s, %v) = %q, want %q", tt.goos, tt.env, got, tt.want)
		}
	}
	if homeVar("windows") != "AppData" || homeVar("darwin") != "HOME" || homeVar("linux") != "HOME" {
		t.Errorf("homeVar: windows %q, darwin %q, linux %q", homeVar("windows"), homeVar("darwin"), homeVar("linux"))
	}
	_, errOut, code := runInProcess(t, map[string]string{}, "id")
	if code != exitFailure || !strings.Contains(errOut, "no data directory") {
		t.Errorf("id without HOME: exit %d\n%s", code, errOut)
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		err  error
		code int
		want []string
	}{
		{nil, exitOK, nil},
		{errHelpShown, exitOK, nil},
		{context.Canceled, exitFailure, []string{"lanchat: interrupted"}},
		{usageErrorf("do this", "bad %s", "flag"), exitUsage, []string{"lanchat: bad flag\n", "lanchat: hint: do this\n"}},
		{withHint(errors.New("boom"), "try that"), exitFailure, []string{"lanchat: boom\n", "lanchat: hint: try that\n"}},
		{fmt.Errorf("open x: %w", &storage.LockedError{PID: 42}), exitFailure, []string{"(pid 42)", "hint: stop that lanchat first (process 42)"}},
		{fmt.Errorf("x: %w", storage.ErrNewerSchema), exitFailure, []string{"hint: use the newer lanchat"}},
		{fmt.Errorf("unlock: %w", lcrypto.ErrWrongPassphrase), exitFailure, []string{"hint: use the passphrase"}},
	}
	for _, tt := range tests {
		var w bytes.Buffer
		if got := report(&w, tt.err); got != tt.code {
			t.Errorf("report(%v) = %d, want %d", tt.err, got, tt.code)
		}
		if tt.want == nil && w.Len() > 0 {
			t.Errorf("report(%v) printed %q", tt.err, w.String())
		}
		wantContains(t, fmt.Sprintf("report(%v)", tt.err), w.String(), tt.want...)
	}
}
