package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

// What a command's arguments are (command.args), for the completion scripts.
const (
	argTrusted  = "trusted"  // fingerprints from the trust list (lanchat __complete trusted)
	argCommands = "commands" // command names (lanchat help)
	argShells   = "shells"   // bash, zsh, fish (lanchat completion)
	argText     = "text"     // free text: nothing to offer
	argRoomVerb = "room"     // a room subcommand first (lanchat room)
	argFile     = "file"     // a file or folder path (lanchat send-file)
)

func init() {
	commands = append(commands,
		command{name: "completion", summary: "print a shell completion script (bash, zsh or fish)", help: completionHelp, run: runCompletion, args: argShells},
		command{name: "man", summary: "print the manual page, lanchat(1), as roff", help: manHelp, run: runMan},
		command{name: "__complete", summary: "what the completion scripts call", help: completeHelp, run: runComplete, hidden: true},
	)
}

var completionHelp = help{
	synopsis: "lanchat completion bash|zsh|fish",
	text: `Print a script that completes lanchat's commands and options in your shell,
and room names (--room) and trusted fingerprints (untrust) from your data
dir: the script asks lanchat, through the running node if there is one.`,
	example: `  lanchat completion bash > ~/.local/share/bash-completion/completions/lanchat
  lanchat completion zsh > "${fpath[1]}/_lanchat"     # then restart zsh
  lanchat completion fish > ~/.config/fish/completions/lanchat.fish`,
}

var completeHelp = help{
	synopsis: "lanchat __complete rooms|trusted",
	text: `Print the rooms you are in, or the trusted fingerprints (a tab, then the
name), one per line, for the completion scripts. Prints nothing on errors.`,
	example: `  lanchat __complete rooms
  lanchat __complete --data-dir ~/work-lanchat trusted | cut -f1`,
}

var shells = []string{"bash", "zsh", "fish"}

func runCompletion(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("completion", args, 1, 1, "a shell: bash, zsh or fish"); err != nil {
		return err
	}
	var script string
	switch m := cliModel(); args[0] {
	case "bash":
		script = bashCompletion(m)
	case "zsh":
		script = zshCompletion(m)
	case "fish":
		script = fishCompletion(m)
	default:
		return usageErrorf("run: lanchat completion bash, zsh or fish", "completion: no script for %q", args[0])
	}
	_, err = io.WriteString(e.stdout, script)
	return err
}

// completeTimeout bounds lanchat __complete: a shell waits for it.
const completeTimeout = 2 * time.Second

func runComplete(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	e.stderr = io.Discard // quiet: a completion never prints errors
	args, err := e.parse(fs, args)
	if err != nil || len(args) != 1 {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	var lines []string
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		switch args[0] {
		case "rooms":
			rooms, err := api.Rooms(ctx)
			if err != nil {
				return err
			}
			lines = rooms
			if !slices.Contains(lines, control.DefaultRoom) {
				lines = append(lines, control.DefaultRoom)
			}
		case "trusted":
			peers, err := api.Trusted(ctx)
			if err != nil {
				return err
			}
			for _, p := range peers {
				lines = append(lines, strings.TrimRight(p.Fingerprint+"\t"+oneLine(p.Name), "\t"))
			}
		}
		return nil
	})
	if err != nil {
		return nil // quiet
	}
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l)
	}
	return nil
}

// oneLine keeps a name on one line of a completion list.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// The completion scripts and the man page are written from this model of
// the command line: the command table and the flag sets the commands
// register, so that nothing is listed twice.

type cliFlag struct {
	name, short string
	usage       string // the help text, without the back quotes
	value       string // the value's name (NAME, FILE, duration); "" for a boolean flag
	def         string // the default, as --help shows it ("" none)
	repeat      bool   // may be given more than once
	complete    string // "rooms", "file", "dir" or "" (nothing to offer)
}

type cliCommand struct {
	name, summary string
	help          help
	args          string // as command.args
	flags         []cliFlag
	helpOnly      bool // "lanchat help": in the scripts, not in the man page's commands
}

type cliModelT struct {
	global   []cliFlag // lanchat's own flags, before the command
	commands []cliCommand
}

// cliModel is the command line: every command that is not hidden, with its
// flags, as they are registered (in an environment with no variables set,
// so that no default comes from this machine).
func cliModel() cliModelT {
	e := newEnv(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	top, _, _ := e.newTopFlagSet()
	m := cliModelT{global: modelFlags(top)}
	for i := range commands {
		c := &commands[i]
		if c.hidden {
			continue
		}
		m.commands = append(m.commands, cliCommand{name: c.name, summary: c.summary, help: c.help, args: c.args, flags: modelFlags(commandFlagSet(c))})
	}
	m.commands = append(m.commands, cliCommand{name: "help", summary: "show the help of lanchat or of a command", args: argCommands, helpOnly: true})
	return m
}

// commandFlagSet returns cmd's flags, all of them registered: it runs the
// command with --help, which registers them, prints the help (discarded)
// and stops.
func commandFlagSet(cmd *command) *pflag.FlagSet {
	e := newEnv(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	e.cmd = cmd
	fs := e.newFlagSet(cmd)
	_ = cmd.run(context.Background(), e, fs, []string{"--help"}) // errHelpShown
	return fs
}

func modelFlags(fs *pflag.FlagSet) []cliFlag {
	var out []cliFlag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		value, usage := pflag.UnquoteUsage(f)
		cf := cliFlag{name: f.Name, short: f.Shorthand, usage: usage, repeat: strings.HasSuffix(f.Value.Type(), "Array")}
		if f.Value.Type() != "bool" {
			cf.value = strings.TrimSuffix(value, "Array")
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "[]" {
				cf.def = f.DefValue
			}
			switch {
			case f.Name == "room":
				cf.complete = "rooms"
			case value == "FILE":
				cf.complete = "file"
			case value == "DIR":
				cf.complete = "dir"
			}
		}
		out = append(out, cf)
	})
	return out
}

func (m cliModelT) commandNames() []string {
	var names []string
	for _, c := range m.commands {
		names = append(names, c.name)
	}
	return names
}

// flagWords is every way of writing c's flags: --name and -n.
func flagWords(flags []cliFlag) []string {
	var w []string
	for _, f := range flags {
		if f.short != "" {
			w = append(w, "-"+f.short)
		}
		w = append(w, "--"+f.name)
	}
	return w
}

const generatedBy = `Generated by "lanchat completion %s" from lanchat's command table: do not edit.`

func bashCompletion(m cliModelT) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for lanchat                                 -*- shell-script -*-
# `+generatedBy+`
# Install: lanchat completion bash > ~/.local/share/bash-completion/completions/lanchat
#      or: source <(lanchat completion bash)     (in ~/.bashrc)

# __lanchat_dyn PROG rooms|trusted [--data-dir DIR]: what lanchat __complete says.
__lanchat_dyn() {
    local IFS=$'\n' prog=$1 what=$2
    shift 2
    COMPREPLY=($(compgen -W "$("$prog" __complete "$@" "$what" 2>/dev/null | cut -f1)" -- "$cur"))
}

__lanchat_files() {
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    COMPREPLY=($(compgen "$1" -- "$cur"))
}

_lanchat() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local prog=${COMP_WORDS[0]} cmd="" i
    local -a dd=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --data-dir) dd=(--data-dir "${COMP_WORDS[i+1]}"); i=$((i + 1)) ;;
        -*) ;;
        *) [[ -z $cmd ]] && cmd=${COMP_WORDS[i]} ;;
        esac
    done
    if [[ $prev == --data-dir ]]; then
        __lanchat_files -d
        return
    fi
    case $cmd in
    "")
        COMPREPLY=($(compgen -W %q -- "$cur"))
        ;;
`, "bash", strings.Join(append(m.commandNames(), flagWords(m.global)...), " "))
	for _, c := range m.commands {
		fmt.Fprintf(&b, "    %s)\n", c.name)
		var plain []string
		cases := map[string][]string{}
		for _, f := range c.flags {
			if f.value == "" || f.name == "data-dir" {
				continue
			}
			words := []string{"--" + f.name}
			if f.short != "" {
				words = append(words, "-"+f.short)
			}
			if f.complete == "" {
				plain = append(plain, words...)
			} else {
				cases[f.complete] = append(cases[f.complete], words...)
			}
		}
		if len(plain)+len(cases) > 0 {
			b.WriteString("        case $prev in\n")
			for _, k := range []string{"rooms", "file", "dir"} {
				if len(cases[k]) == 0 {
					continue
				}
				action := map[string]string{"rooms": `__lanchat_dyn "$prog" rooms "${dd[@]}"`, "file": "__lanchat_files -f", "dir": "__lanchat_files -d"}[k]
				fmt.Fprintf(&b, "        %s) %s; return ;;\n", strings.Join(cases[k], "|"), action)
			}
			if len(plain) > 0 {
				fmt.Fprintf(&b, "        %s) return ;; # a value: nothing to offer\n", strings.Join(plain, "|"))
			}
			b.WriteString("        esac\n")
		}
		flags := strings.Join(flagWords(c.flags), " ")
		fmt.Fprintf(&b, "        if [[ $cur == -* ]]; then\n            COMPREPLY=($(compgen -W %q -- \"$cur\"))\n            return\n        fi\n", flags)
		switch c.args {
		case argTrusted:
			b.WriteString("        __lanchat_dyn \"$prog\" trusted \"${dd[@]}\"\n")
		case argCommands:
			fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(m.commandNames(), " "))
		case argShells:
			fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(shells, " "))
		case argRoomVerb:
			fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(roomVerbNames(), " "))
		case argText:
			b.WriteString("        COMPREPLY=()\n")
		case argFile:
			b.WriteString("        __lanchat_files -f\n")
		default:
			fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", flags)
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString(`    esac
}

complete -F _lanchat lanchat
`)
	return b.String()
}

// zshQuote quotes s for zsh in single quotes.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshDesc makes s fit between the brackets of an _arguments spec.
func zshDesc(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(s)
}

func zshSpecs(flags []cliFlag) []string {
	var specs []string
	for _, f := range flags {
		desc := "[" + zshDesc(f.usage) + "]"
		arg := ""
		if f.value != "" {
			action := map[string]string{"rooms": "__lanchat_dyn rooms", "file": "_files", "dir": "_files -/"}[f.complete]
			if action == "" {
				action = " "
			}
			arg = ":" + strings.ReplaceAll(f.value, ":", `\:`) + ":" + action
		}
		star, eq := "", ""
		if f.repeat {
			star = "*"
		}
		if f.value != "" {
			eq = "="
		}
		if f.short != "" {
			excl := "(-" + f.short + " --" + f.name + ")"
			if f.repeat {
				excl = ""
			}
			specs = append(specs, zshQuote(excl+star)+"{-"+f.short+",--"+f.name+eq+"}"+zshQuote(desc+arg))
		} else {
			specs = append(specs, zshQuote(star+"--"+f.name+eq+desc+arg))
		}
	}
	return specs
}

func zshCompletion(m cliModelT) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#compdef lanchat
# zsh completion for lanchat.
# `+generatedBy+`
# Install: lanchat completion zsh > "${fpath[1]}/_lanchat"   (then restart zsh)
#      or: source <(lanchat completion zsh)     (in ~/.zshrc, after compinit)

# __lanchat_dyn rooms|trusted: what lanchat __complete says.
__lanchat_dyn() {
  # The list is the last word: _arguments puts its own options (-J ...) first.
  local what=${@[-1]}
  local -a items dd
  local i
  for ((i = 1; i < $#__lanchat_words; i++)); do
    [[ $__lanchat_words[i] == --data-dir ]] && dd=(--data-dir "$__lanchat_words[i+1]")
  done
  items=(${(f)"$($__lanchat_prog __complete $dd $what 2>/dev/null)"})
  items=(${items//:/\\:})
  items=(${items/$'\t'/:})
  _describe -t lanchat-$what $what items
}

_lanchat() {
  local __lanchat_prog=$words[1]
  local -a __lanchat_words
  __lanchat_words=($words)
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(
`, "zsh")
	for _, c := range m.commands {
		fmt.Fprintf(&b, "    %s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString("  )\n  _arguments -C \\\n")
	for _, s := range zshSpecs(m.global) {
		fmt.Fprintf(&b, "    %s \\\n", s)
	}
	b.WriteString(`    '1: :->command' \
    '*:: :->args' && ret=0
  case $state in
  command)
    _describe -t commands 'lanchat command' commands && ret=0
    ;;
  args)
    curcontext=${curcontext%:*:*}:lanchat-$line[1]:
    case $line[1] in
`)
	for _, c := range m.commands {
		fmt.Fprintf(&b, "    %s)\n      _arguments \\\n", c.name)
		for _, s := range zshSpecs(c.flags) {
			fmt.Fprintf(&b, "        %s \\\n", s)
		}
		switch c.args {
		case argTrusted:
			b.WriteString("        '*:fingerprint:__lanchat_dyn trusted' \\\n")
		case argCommands:
			fmt.Fprintf(&b, "        '1:command:(%s)' \\\n", strings.Join(m.commandNames(), " "))
		case argShells:
			fmt.Fprintf(&b, "        '1:shell:(%s)' \\\n", strings.Join(shells, " "))
		case argRoomVerb:
			fmt.Fprintf(&b, "        '1:subcommand:(%s)' '*:argument: ' \\\n", strings.Join(roomVerbNames(), " "))
		case argText:
			b.WriteString("        '*:text: ' \\\n")
		case argFile:
			b.WriteString("        '1:path:_files' \\\n")
		}
		b.WriteString("        && ret=0\n      ;;\n")
	}
	b.WriteString(`    esac
    ;;
  esac
  return ret
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _lanchat "$@"
else
  compdef _lanchat lanchat
fi
`)
	return b.String()
}

// fishQuote quotes s for fish in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fishFlags(cond string, flags []cliFlag) []string {
	var lines []string
	for _, f := range flags {
		l := "complete -c lanchat -n " + fishQuote(cond)
		if f.short != "" {
			l += " -s " + f.short
		}
		l += " -l " + f.name
		switch {
		case f.complete == "rooms":
			l += " -x -a '(__lanchat_dyn rooms)'"
		case f.complete == "file":
			l += " -r -F"
		case f.complete == "dir":
			l += " -x -a '(__fish_complete_directories)'"
		case f.value != "":
			l += " -x"
		}
		lines = append(lines, l+" -d "+fishQuote(f.usage))
	}
	return lines
}

func fishCompletion(m cliModelT) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# fish completion for lanchat.
# `+generatedBy+`
# Install: lanchat completion fish > ~/.config/fish/completions/lanchat.fish

# __lanchat_dyn rooms|trusted: what lanchat __complete says (fingerprint, tab, name).
function __lanchat_dyn
    set -l tokens (commandline -opc)
    set -l dd
    set -l prev
    for tok in $tokens
        if test "$prev" = --data-dir
            set dd --data-dir $tok
        end
        set prev $tok
    end
    $tokens[1] __complete $dd $argv 2>/dev/null
end

complete -c lanchat -f
`, "fish")
	for _, l := range fishFlags("__fish_use_subcommand", m.global) {
		b.WriteString(l + "\n")
	}
	for _, c := range m.commands {
		fmt.Fprintf(&b, "complete -c lanchat -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range m.commands {
		cond := "__fish_seen_subcommand_from " + c.name
		b.WriteString("\n")
		for _, l := range fishFlags(cond, c.flags) {
			b.WriteString(l + "\n")
		}
		switch c.args {
		case argTrusted:
			fmt.Fprintf(&b, "complete -c lanchat -n %s -x -a '(__lanchat_dyn trusted)'\n", fishQuote(cond))
		case argCommands:
			fmt.Fprintf(&b, "complete -c lanchat -n %s -x -a %s\n", fishQuote(cond), fishQuote(strings.Join(m.commandNames(), " ")))
		case argShells:
			fmt.Fprintf(&b, "complete -c lanchat -n %s -x -a %s\n", fishQuote(cond), fishQuote(strings.Join(shells, " ")))
		case argRoomVerb:
			fmt.Fprintf(&b, "complete -c lanchat -n %s -x -a %s\n", fishQuote(cond), fishQuote(strings.Join(roomVerbNames(), " ")))
		}
	}
	return b.String()
}
