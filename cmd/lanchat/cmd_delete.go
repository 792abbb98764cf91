package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/lanchat/lanchat/control"
)

var deleteHelp = help{
	synopsis: "lanchat delete --room ROOM SEQ [--json]",
	text: `Delete one of your own messages for everyone: it is wiped here, and a
request signed by you goes to every member of the room (now, or at their
next catch-up), whose lanchat wipes it too. SEQ is the message's number,
"seq" in lanchat history --json. Needs a running lanchat (up or chat).

This is a request, not a guarantee: a member running an older lanchat, or
one that does not want to, keeps its copy, and anyone may have read or
copied it already.`,
	example: `  lanchat delete --room lobby 12
  lanchat history --room lobby --json | jq '.[] | select(.own) | {seq, body}'   # find the number`,
}

func runDelete(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	room := fs.String("room", control.DefaultRoom, "the `ROOM` of the message")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("delete", args, 1, 1, "the message's SEQ"); err != nil {
		return err
	}
	seq, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil || seq == 0 {
		return usageErrorf("give the message's seq from lanchat history --json", "delete: %q is not a message number", args[0])
	}
	if _, err := control.NormalizeRoom(*room); err != nil {
		return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "delete: %v", err)
	}
	var res *control.DeleteResult
	err = e.withAPI(ctx, readOnly, func(ctx context.Context, api control.API) error {
		res, err = api.Delete(ctx, control.DeleteParams{Room: *room, Seq: seq})
		return err
	})
	if errors.Is(err, control.ErrNoNode) {
		return withHint(fmt.Errorf("delete: lanchat is not running on this data dir"), "start it (lanchat up, or lanchat chat), then run the command again")
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "Deleted your message %d in #%s; asked %d linked peers to delete it too (the others when they next link)\n", res.Seq, res.Room, res.HandedTo)
	return nil
}
