package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

var sendFileHelp = help{
	synopsis: "lanchat send-file [--room ROOM | --to PEER] [--join] [--json] PATH",
	text: `Offer a file or a folder in a room. The offer is a signed message (name,
size, and the hash of the chunk list), stored and synced like any message;
members fetch it with "lanchat fetch", chunk by chunk, each chunk checked
against its hash. Your node serves it for as long as the file stays as it
was (also after a restart); members that fetched it serve it too, so you
may go once one of them has it all. In a folder, symlinks and special
files are left out (and listed). Needs a running node (lanchat up, or
lanchat chat), since it is the node that serves the chunks.

With --to, the offer goes to one trusted peer in your direct conversation,
and only the two of you can fetch it. In a private room (--room NAME), only
its current members can.`,
	example: `  lanchat send-file --room design ./mockups.pdf
  lanchat send-file --to bob ./contract.pdf
  lanchat send-file ./holiday/ --json`,
}

var filesHelp = help{
	synopsis: "lanchat files [--json]",
	text: `List the file offers in your rooms, oldest first: id, state (offered,
fetching, paused, done, failed), size, name, who offered it, in which room,
and how much of it you hold. "lanchat fetch ID" takes the first characters
of an id.`,
	example: `  lanchat files
  lanchat files --json | jq -r '.[] | select(.state == "offered") | .id'`,
}

var fetchHelp = help{
	synopsis: "lanchat fetch [--out DIR] [--no-wait] [--json] ID",
	text: `Accept a file offer: your node fetches it from the members of the room
into DIR (default: the current folder), checking every chunk against the
offer, and puts it there under its name only when all of it verifies (with
" (1)", " (2)" ... if the name is taken: nothing is overwritten). Until
then it is NAME.lanchat-partial. An interrupted fetch (a restart, a link
drop, a full disk) goes on from what it holds once possible. On a terminal
it shows a progress bar until the end; Ctrl-C stops watching, not the
fetch. Needs a running node (lanchat up, or lanchat chat).`,
	example: `  lanchat fetch 3fa9c1 --out ~/Downloads
  lanchat fetch 3fa9c1 --json    # one JSON file object per progress event`,
}

// needNode returns the running node's API, or an error saying to start one.
func (e *env) needNode(ctx context.Context, what string) (control.API, error) {
	api, err := e.api(ctx, readOnly)
	if err != nil {
		return nil, err
	}
	if !control.Running(api) {
		api.Close()
		return nil, withHint(fmt.Errorf("%s: no lanchat node runs on this data dir", what),
			"start one first (lanchat up, or lanchat chat in another window): it is the node that moves the file")
	}
	return api, nil
}

func runSendFile(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	room := fs.String("room", "", "the `ROOM` to offer it in: an open room (default lobby) or a private one")
	join := fs.Bool("join", false, "join --room first if the node is not in it (it stays)")
	to := fs.String("to", "", "offer it to this trusted `PEER` (name or fingerprint) alone, in your direct conversation")
	asJSON := fs.Bool("json", false, "print the offer as JSON")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("send-file", args, 1, 1, "one PATH"); err != nil {
		return err
	}
	if *to != "" && (*room != "" || *join) {
		return usageErrorf("a file for one person goes to them alone: drop --room and --join", "send-file: --to with --room or --join")
	}
	if *to == "" && *room == "" {
		*room = control.DefaultRoom
	}
	if _, err := control.NormalizeRoom(*room); *to == "" && err != nil {
		return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "send-file: %v", err)
	}
	path, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return withHint(fmt.Errorf("send-file: %w", err), "check the path")
	}
	api, err := e.needNode(ctx, "send-file")
	if err != nil {
		return err
	}
	defer api.Close()
	// Hashing a big file takes a while: no call timeout but the user's.
	fv, err := api.SendFile(ctx, control.SendFileParams{Room: *room, Path: path, Join: *join, To: *to})
	if err != nil {
		return nodeError(err)
	}
	if *asJSON {
		return printJSON(e.stdout, fv)
	}
	kind := "file"
	if fv.Folder {
		kind = fmt.Sprintf("folder (%d files)", fv.Files)
	}
	where := "#" + fv.Room
	switch {
	case *to != "":
		where = "the direct conversation with " + *to
	case control.ConvoKind(fv.Room) == control.KindPrivate:
		where = "#" + *room + chatui.MarkPrivate
	}
	fmt.Fprintf(e.stdout, "offered %s %s, %s, in %s as %s\n", kind, fv.Name, control.HumanSize(fv.Size), chatui.SanitizeLine(where), shortID(fv.ID))
	if *to != "" {
		fmt.Fprintln(e.stdout, "your node serves it to them alone while it runs")
	} else {
		fmt.Fprintln(e.stdout, "your node serves it while it runs; members who fetch it serve it too, so you may go once one of them has it all")
	}
	if len(fv.Skipped) > 0 {
		warnf(e.stderr, "left out (symlinks or special files): %s", strings.Join(fv.Skipped, ", "))
	}
	return nil
}

func runFiles(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON: an array of file objects")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("files", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	var list []*control.FileView
	labels := map[string]string{} // "@bob" for a direct conversation, "#design[private]"
	if err := e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		if list, err = api.Files(ctx); err != nil {
			return err
		}
		if !*asJSON {
			// Only names: without them a conversation shows as "#<its id>".
			rooms, _ := api.RoomStatus(ctx)
			for _, r := range rooms {
				labels[r.Room] = chatui.RoomLabel(r)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no file offers in your rooms")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tHAVE\tNAME\tFROM\tROOM")
	for _, f := range list {
		name := f.Name
		if f.Folder {
			name += "/"
		}
		from := f.FromShort
		if f.Nick != "" {
			from = f.Nick + "(" + f.FromShort + ")"
		}
		where := labels[f.Room]
		if where == "" {
			where = "#" + f.Room
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shortID(f.ID), f.State, control.HumanSize(f.Size), percent(f.Have, f.Size), name, from, chatui.SanitizeLine(where))
	}
	return tw.Flush()
}

func runFetch(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	out := fs.String("out", ".", "the `DIR` to put it in (created if needed)")
	noWait := fs.Bool("no-wait", false, "return once the fetch started")
	asJSON := fs.Bool("json", false, "print JSON file objects: the start, each progress event, the end")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("fetch", args, 1, 1, "one offer ID (see lanchat files)"); err != nil {
		return err
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	api, err := e.needNode(ctx, "fetch")
	if err != nil {
		return err
	}
	defer api.Close()
	events, err := api.Subscribe(ctx) // before the fetch, so no event is missed
	if err != nil {
		return nodeError(err)
	}
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	fv, err := api.Fetch(callCtx, control.FetchParams{ID: args[0], Out: dir})
	cancel()
	if err != nil {
		return nodeError(err)
	}
	p := newProgress(e.stdout, *asJSON)
	p.show(fv)
	if *noWait || fv.State == control.FileDone {
		return p.end(fv)
	}
	for {
		select {
		case <-ctx.Done():
			p.clear()
			return withHint(errors.New("fetch: stopped watching"), "the node goes on fetching: see lanchat files")
		case ev, ok := <-events:
			if !ok {
				p.clear()
				return withHint(errors.New("fetch: the node stopped"), "it resumes the fetch when it starts again")
			}
			if ev.Kind != control.EventFile || ev.File == nil || ev.File.ID != fv.ID {
				continue
			}
			fv = ev.File
			p.show(fv)
			if fv.State == control.FileDone || fv.State == control.FileFailed {
				return p.end(fv)
			}
		}
	}
}

// progress shows a fetch: a bar with rate and ETA on a terminal, JSON
// objects with --json, only the end on a pipe.
type progress struct {
	w      io.Writer
	json   bool
	tty    bool
	paused string
}

func newProgress(w io.Writer, asJSON bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, json: asJSON, tty: !asJSON && ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) show(fv *control.FileView) {
	switch {
	case p.json:
		_ = printJSON(p.w, fv)
	case p.tty:
		const width = 30
		done := 0
		if fv.Size > 0 {
			done = int(float64(width) * float64(fv.Have) / float64(fv.Size))
		}
		eta := "--:--"
		if fv.Rate > 0 && fv.Size > fv.Have {
			eta = (time.Duration(float64(fv.Size-fv.Have)/fv.Rate) * time.Second).Round(time.Second).String()
		}
		line := fmt.Sprintf("%s [%s%s] %s %s/s ETA %s", fv.Name, strings.Repeat("=", done), strings.Repeat(" ", width-done),
			percent(fv.Have, fv.Size), control.HumanSize(uint64(fv.Rate)), eta)
		if fv.State == control.FilePaused {
			line = fmt.Sprintf("%s %s paused: %s", fv.Name, percent(fv.Have, fv.Size), fv.Error)
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	default:
		if fv.State == control.FilePaused && fv.Error != p.paused {
			fmt.Fprintf(p.w, "paused: %s\n", fv.Error)
		}
	}
	if fv.State == control.FilePaused {
		p.paused = fv.Error
	}
}

func (p *progress) clear() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// end prints the outcome; a failed fetch is an error.
func (p *progress) end(fv *control.FileView) error {
	p.clear()
	if fv.State == control.FileFailed {
		return withHint(fmt.Errorf("fetch %s: %s", fv.Name, fv.Error), "ask the sender to offer it again")
	}
	if p.json {
		return nil
	}
	switch fv.State {
	case control.FileDone:
		fmt.Fprintf(p.w, "%s: %s, verified\n", fv.Path, control.HumanSize(fv.Size))
	default:
		fmt.Fprintf(p.w, "fetching %s (%s) in the background: see lanchat files\n", fv.Name, control.HumanSize(fv.Size))
	}
	return nil
}

func shortID(id string) string { return id[:min(12, len(id))] }

func percent(have, size uint64) string {
	if size == 0 {
		return "100%"
	}
	return fmt.Sprintf("%d%%", have*100/size)
}
