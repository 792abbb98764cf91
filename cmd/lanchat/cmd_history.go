package main

import (
	"context"
	"fmt"
	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"time"

	"github.com/spf13/pflag"
)

var historyHelp = help{
	synopsis: "lanchat history [--room ROOM]... [--with PEER] [--limit N] [--since WHEN] [--grep TEXT] [--unread [--mark-read]] [--json]",
	text: `Show stored messages, oldest first, in the order every member of a room
sees them (Lamport clock, then author). Without --room, every room.
Messages by authors you have not trusted are marked [untrusted]; an author
found signing two different messages under one number is marked
[signed conflicting messages]; a stored message that no longer verifies
(changed on disk) is shown as damaged, never as the author's text.

--unread shows only the messages of others you have not read yet (after
your read position in each room; lanchat rooms counts them), and
--mark-read then marks what it showed as read (your peers see it unless
the node runs with --no-read-receipts).

Direct messages are shown as @name, private rooms as #name[private]; --with
PEER shows the direct conversation with a trusted peer (name or
fingerprint), and --room also takes a private room's name or id. In JSON
each message's "conversation" is "room", "direct" or "private".

The history is sealed in the database: through a running node it needs
nothing more; without one, the passphrase is asked (or read from
--passphrase-file or $LANCHAT_PASSPHRASE).`,
	example: `  lanchat history --room lobby --limit 50
  lanchat history --since 2h --grep deploy
  lanchat history --json | jq -r '.[].body'
  lanchat history --unread --mark-read                  # what is new, once
  lanchat history --with bob`,
}

func runHistory(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	rooms := fs.StringArray("room", nil, "only this room (repeatable)")
	limit := fs.Int("limit", 0, "only the newest N messages (0: all)")
	since := fs.String("since", "", "only messages since WHEN: a duration (90m, 2h) or a time (2026-11-25, 2026-11-25T14:00)")
	grep := fs.String("grep", "", "only messages containing TEXT (case-insensitive)")
	unread := fs.Bool("unread", false, "only the messages of others you have not read yet")
	markRead := fs.Bool("mark-read", false, "with --unread: mark what is shown as read")
	with := fs.String("with", "", "only the direct conversation with this trusted `PEER` (name or fingerprint)")
	asJSON := fs.Bool("json", false, "print JSON: an array of messages")
	kind := addKindFlag(fs)
	e.pf = addPassphraseFlags(fs) // the history is sealed: without a node, it asks
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("history", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *limit < 0 {
		return usageErrorf("give --limit a number of messages, 0 for all", "history: --limit %d is negative", *limit)
	}
	if *markRead && !*unread {
		return usageErrorf("use --mark-read with --unread", "history: --mark-read without --unread")
	}
	if err := checkKind("history", *kind); err != nil {
		return err
	}
	q := control.HistoryParams{Rooms: *rooms, Limit: *limit, Grep: *grep, Unread: *unread, With: *with, Deleted: true, Kind: *kind}
	if *since != "" {
		if q.Since, err = parseSince(*since, time.Now()); err != nil {
			return usageErrorf("e.g. --since 2h or --since 2026-11-25T14:00", "history: %v", err)
		}
	}
	for _, r := range q.Rooms {
		if _, err := control.NormalizeRoom(r); err != nil {
			return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "history: %v", err)
		}
	}
	var views []*control.MessageView
	mode := readOnly
	if *markRead {
		mode = readWrite
	}
	err = e.withAPI(ctx, mode, func(ctx context.Context, api control.API) error {
		if views, err = api.History(ctx, control.HistoryParams(q)); err != nil || !*markRead {
			return err
		}
		last := map[string]string{} // room → id of the last message shown
		for _, v := range views {
			last[v.Room] = v.ID
		}
		for room, id := range last {
			if _, err := api.MarkRead(ctx, control.MarkReadParams{Room: room, ID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(e.stderr, "lanchat: no messages match")
	}
	for _, v := range views {
		fmt.Fprintln(e.stdout, chatui.FormatMessage(v, true))
	}
	return nil
}

// parseSince reads a duration back from now, or a local date/time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %s is in the future", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read --since %q", s)
}
