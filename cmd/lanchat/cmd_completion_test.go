package main

import (
	"github.com/lanchat/lanchat/internal/tmuxtest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCompletionSyntax: each script is valid for its shell (bash -n, and
// zsh -n and fish -n where they are installed).
func TestCompletionSyntax(t *testing.T) {
	c := newCLI(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		t.Run(sh, func(t *testing.T) {
			script := c.must(0, "completion", sh).stdout
			bin, err := exec.LookPath(sh)
			if err != nil {
				t.Skipf("%s is not installed: its script's syntax is not checked", sh)
			}
			f := filepath.Join(t.TempDir(), "lanchat."+sh)
			if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-n", f).CombinedOutput(); err != nil {
				t.Fatalf("%s -n on the script: %v\n%s", sh, err, out)
			}
		})
	}
	r := c.run("", "completion", "tcsh")
	if r.code != exitUsage || !strings.Contains(r.stderr, `no script for "tcsh"`) {
		t.Errorf("completion tcsh: exit %d\n%s", r.code, r.stderr)
	}
}

var (
	helpCommandLine = regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) +\S`)
	helpFlagLine    = regexp.MustCompile(`(?m)^  (?:-([a-z]), )?\s*--([a-z][a-z-]*)`)
)

// TestCompletionNamesEverything is the drift test: every command that
// lanchat --help lists, and every option its --help lists, is in each
// script, in that command's part.
func TestCompletionNamesEverything(t *testing.T) {
	c := newCLI(t)
	top := c.must(0, "--help").stdout
	cmdSection := top[strings.Index(top, "Commands:"):strings.Index(top, "Run \"lanchat")]
	var names []string
	for _, m := range helpCommandLine.FindAllStringSubmatch(cmdSection, -1) {
		names = append(names, m[1])
	}
	if len(names) < 12 {
		t.Fatalf("lanchat --help lists %d commands: %v", len(names), names)
	}
	scripts := map[string]string{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		scripts[sh] = c.must(0, "completion", sh).stdout
	}
	for _, name := range names {
		h := c.must(0, name, "--help").stdout
		opts := h[strings.Index(h, "Options:"):]
		if i := strings.Index(opts, "\nExample:"); i > 0 {
			opts = opts[:i]
		}
		flags := helpFlagLine.FindAllStringSubmatch(opts, -1)
		if len(flags) < 2 {
			t.Fatalf("lanchat %s --help lists %d options:\n%s", name, len(flags), opts)
		}
		for sh, script := range scripts {
			part := scriptPart(sh, script, name)
			if part == "" {
				t.Errorf("%s script: no part for command %s", sh, name)
				continue
			}
			for _, f := range flags {
				short, long := f[1], f[2]
				want := map[string][]string{"bash": {"--" + long}, "zsh": {"--" + long}, "fish": {"-l " + long + " "}}[sh]
				if short != "" {
					want = append(want, map[string]string{"bash": " -" + short, "zsh": "{-" + short + ",", "fish": "-s " + short + " "}[sh])
				}
				for _, w := range want {
					if !strings.Contains(part, w) {
						t.Errorf("%s script, command %s: no %q", sh, name, w)
					}
				}
			}
		}
	}
	// The hidden helper is called, not offered.
	for sh, script := range scripts {
		if strings.Contains(script, "__complete:") || strings.Contains(script, "-a __complete") || strings.Contains(script, "    __complete)") {
			t.Errorf("%s script offers __complete", sh)
		}
	}
}

// scriptPart is the part of a completion script for one command.
func scriptPart(sh, script, name string) string {
	var start, end string
	switch sh {
	case "bash":
		start, end = "\n    "+name+")\n", "\n        ;;\n"
	case "zsh":
		start, end = "\n    "+name+")\n      _arguments", "&& ret=0"
	case "fish":
		var lines []string
		for _, l := range strings.Split(script, "\n") {
			if strings.Contains(l, "'__fish_seen_subcommand_from "+name+"'") {
				lines = append(lines, l)
			}
		}
		// and the command itself is offered
		if !strings.Contains(script, "-n __fish_use_subcommand -a "+name+" ") {
			return ""
		}
		return strings.Join(lines, "\n")
	}
	i := strings.Index(script, start)
	if i < 0 {
		return ""
	}
	rest := script[i:]
	j := strings.Index(rest, end)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// TestCompleteHelper: lanchat __complete reads a real database through the
// API, and the bash script offers what it prints.
func TestCompleteHelper(t *testing.T) {
	c := newCLI(t)
	dirA, _ := c.initNode("alice", "--no-passphrase")
	_, fpB := c.initNode("bob", "--no-passphrase")
	_, fpC := c.initNode("carol", "--no-passphrase")
	c.must(0, "trust", "--data-dir", dirA, fpB.String(), "--name", "bob b")
	c.must(0, "trust", "--data-dir", dirA, fpC.String())

	r := c.must(0, "__complete", "--data-dir", dirA, "trusted")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := map[string]bool{fpB.String() + "\tbob b": true, fpC.String(): true}
	if len(lines) != 2 || !want[lines[0]] || !want[lines[1]] || r.stderr != "" {
		t.Errorf("__complete trusted: %q, stderr %q; want %v", r.stdout, r.stderr, want)
	}
	if r := c.must(0, "__complete", "--data-dir", dirA, "rooms"); r.stdout != "lobby\n" {
		t.Errorf("__complete rooms: %q, want lobby", r.stdout)
	}
	// Quiet on errors: no database, an unknown list, no list.
	for _, args := range [][]string{
		{"__complete", "--data-dir", filepath.Join(t.TempDir(), "none"), "trusted"},
		{"__complete", "--data-dir", dirA, "nothing"},
		{"__complete", "--data-dir", dirA},
	} {
		if r := c.must(0, args...); r.stdout != "" || r.stderr != "" {
			t.Errorf("lanchat %v: stdout %q, stderr %q; want nothing", args, r.stdout, r.stderr)
		}
	}
	if strings.Contains(c.must(0, "--help").stdout, "__complete") {
		t.Error("lanchat --help lists the hidden __complete")
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: the bash script is not run")
	}
	script := filepath.Join(t.TempDir(), "lanchat.bash")
	if err := os.WriteFile(script, []byte(c.must(0, "completion", "bash").stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		line := `source "$1"; COMP_WORDS=("$2"`
		for _, w := range words {
			line += " '" + w + "'"
		}
		line += `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _lanchat; printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command(bash, "-c", line, "bash", script, lanchatBin).CombinedOutput()
		if err != nil {
			t.Fatalf("completing %v: %v\n%s", words, err, out)
		}
		return string(out)
	}
	if got := complete("--data-dir", dirA, "untrust", ""); !strings.Contains(got, fpB.String()+"\n") || !strings.Contains(got, fpC.String()+"\n") || strings.Contains(got, "bob") {
		t.Errorf("untrust <TAB>: %q, want the two fingerprints", got)
	}
	if got := complete("send", "--data-dir", dirA, "--room", "lo"); got != "lobby\n" {
		t.Errorf("send --room lo<TAB>: %q, want lobby", got)
	}
	if got := complete("peers", "--ver"); got != "--verbose\n" {
		t.Errorf("peers --ver<TAB>: %q", got)
	}
	if got := complete("comp"); got != "completion\n" {
		t.Errorf("comp<TAB>: %q", got)
	}
	if got := complete("completion", ""); got != "bash\nzsh\nfish\n" {
		t.Errorf("completion <TAB>: %q", got)
	}
}

// TestCompletionInZshAndFish runs the zsh and fish scripts in their shells,
// as a user's Tab would: fish through its own "complete -C", zsh in a real
// terminal (tmux) after compinit. Both must offer the trusted fingerprints
// (from lanchat __complete) and the subcommands.
func TestCompletionInZshAndFish(t *testing.T) {
	c := newCLI(t)
	dirA, _ := c.initNode("alice", "--no-passphrase")
	_, fpB := c.initNode("bob", "--no-passphrase")
	_, fpC := c.initNode("carol", "--no-passphrase")
	c.must(0, "trust", "--data-dir", dirA, fpB.String(), "--name", "bob")
	c.must(0, "trust", "--data-dir", dirA, fpC.String(), "--name", "carol")
	binDir := t.TempDir() // the scripts call "lanchat" by the name the user typed
	if err := os.Symlink(lanchatBin, filepath.Join(binDir, "lanchat")); err != nil {
		t.Fatal(err)
	}
	path := binDir + string(os.PathListSeparator) + os.Getenv("PATH")

	t.Run("fish", func(t *testing.T) {
		fish, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("fish is not installed (make tools installs it): its script is not run")
		}
		script := filepath.Join(t.TempDir(), "lanchat.fish")
		if err := os.WriteFile(script, []byte(c.must(0, "completion", "fish").stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		complete := func(line string) string {
			t.Helper()
			cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line)
			cmd.Env = append(os.Environ(), "PATH="+path, "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish complete -C %q: %v\n%s", line, err, out)
			}
			return string(out)
		}
		got := complete("lanchat --data-dir " + dirA + " untrust ")
		for _, want := range []string{fpB.String() + "\tbob", fpC.String() + "\tcarol"} {
			if !strings.Contains(got, want) {
				t.Errorf("untrust <TAB> offers:\n%s\nwant a line %q", got, want)
			}
		}
		if got := complete("lanchat --data-dir " + dirA + " send --room lo"); !strings.HasPrefix(got, "lobby") {
			t.Errorf("send --room lo<TAB>: %q, want lobby", got)
		}
		if got := complete("lanchat comp"); !strings.HasPrefix(got, "completion") {
			t.Errorf("comp<TAB>: %q, want completion", got)
		}
		if got := complete("lanchat peers --ver"); !strings.HasPrefix(got, "--verbose") {
			t.Errorf("peers --ver<TAB>: %q, want --verbose", got)
		}
	})

	t.Run("zsh", func(t *testing.T) {
		if _, err := exec.LookPath("zsh"); err != nil {
			t.Skip("zsh is not installed (make tools installs it): its script is not run")
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "_lanchat"), []byte(c.must(0, "completion", "zsh").stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		// A zshrc as the script's install line says: the script on fpath, then compinit.
		rc := "fpath=(" + dir + " $fpath)\nautoload -Uz compinit && compinit -u -d " + dir + "/zcompdump\nPROMPT='zsh> '\n"
		if err := os.WriteFile(filepath.Join(dir, ".zshrc"), []byte(rc), 0o600); err != nil {
			t.Fatal(err)
		}
		scr := tmuxtest.New(t, []string{"PATH=" + path, "HOME=" + dir, "ZDOTDIR=" + dir}, 160, 30, "zsh")
		scr.WaitShows("zsh>")
		line := "lanchat --data-dir " + dirA + " untrust"
		scr.Type(line + " ")
		scr.WaitShows(line) // zsh has the line before Tab asks it to complete
		scr.Keys("Tab")
		scr.WaitShows(fpB.String(), "bob", fpC.String(), "carol")
		scr.Keys("C-u")
		scr.WaitFor("an empty prompt", func(text string) bool { return !strings.Contains(text, "zsh> lanchat") })
		scr.Type("lanchat comp")
		scr.WaitShows("zsh> lanchat comp")
		scr.Keys("Tab")
		scr.WaitShows("zsh> lanchat completion")
		scr.Keys("Tab")
		scr.WaitShows("bash", "zsh", "fish")
	})
}
