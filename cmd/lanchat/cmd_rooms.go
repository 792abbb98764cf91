package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
)

var roomsHelp = help{
	synopsis: "lanchat rooms [--json]",
	text: `List your rooms: those you are in and those you have messages of (open
rooms, private rooms shown as #name[private], and direct conversations as
@name), each
with how many messages of others you have not read yet and how many of them
mention you (@yournick or @YOURSHORT). lanchat history --unread shows them;
reading a room in lanchat chat, or history --unread --mark-read, marks them
read.`,
	example: `  lanchat rooms
  lanchat rooms --json | jq '.[] | select(.mentions > 0) | .room'`,
}

func runRooms(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON: an array of {room, joined, unread, mentions, last_read, conversation, with, name}")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("rooms", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	var rooms []control.RoomStatus
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		rooms, err = api.RoomStatus(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, rooms)
	}
	if len(rooms) == 0 {
		fmt.Fprintln(e.stderr, "lanchat: no rooms yet; lanchat chat joins lobby")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tUNREAD\tMENTIONS\t")
	for _, r := range rooms {
		name := chatui.RoomLabel(r)
		if !r.Joined {
			name += " (left)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", name, r.Unread, r.Mentions)
	}
	return tw.Flush()
}
