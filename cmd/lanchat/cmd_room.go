package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lanchat/lanchat/cmd/lanchat/chatui"
	"github.com/lanchat/lanchat/control"
	"github.com/spf13/pflag"
)

var roomHelp = help{
	synopsis: "lanchat room create|invite|remove|promote|leave|members|list [ROOM] [PEER] [--json]\n       lanchat room set ROOM retain AGE|forever|default [--json]\n       lanchat room show [--json]",
	text: `Private (invite-only) rooms. A private room has a random id and a
membership that is part of its own signed history: every member checks each
change against the membership at its place in the room's order. Only members
invite (someone they trust); only admins remove and promote. Someone invited
sees the room's messages from their invitation on, and whoever invited them.
A removed member gets nothing written after the removal.

  create NAME          create a private room; you are its first member and admin
  invite ROOM PEER     make PEER (trusted by you: name or fingerprint) a member
  remove ROOM PEER     end PEER's membership (admins only)
  promote ROOM PEER    make a member an admin (admins only)
  leave ROOM           end your own membership
  members ROOM         members, admins, who added whom, and when
  list                 the private rooms you hold
  set ROOM retain AGE  keep ROOM's messages on this machine for AGE (30d, 12h;
                       forever; default), any room, open or private
  show                 the retention settings

ROOM is the room's name or id (names may collide: then give the id). Open
rooms (lanchat chat --room NAME) stay as they are: joinable by any trusted
peer. When no node runs on the data dir, one is started for the change and
waits (at most --timeout) for your trusted peers to link, so they hear of it
now; the others hear when they next link.

"room set ROOM retain AGE" deletes the room's messages older than AGE from
this machine, for good, at once and from then on (a running lanchat checks
every hour and at its start). ROOM "*" sets it for every room without a
setting of its own; "forever" keeps everything, "default" drops the room's
own setting. As with lanchat forget, the other members keep their copies.`,
	example: `  lanchat room create design
  lanchat room invite design carol
  lanchat room members design --json
  lanchat send --room design "the mockups are in"
  lanchat room set lobby retain 90d
  lanchat room set '*' retain 365d
  lanchat room show --json`,
}

// roomVerbs are the room subcommands: how many arguments after the verb,
// and whether they change the room (need a node).
var roomVerbs = map[string]struct {
	args   int
	change bool
	what   string
}{
	"create":  {1, true, "a room name"},
	"invite":  {2, true, "a room and a peer"},
	"remove":  {2, true, "a room and a peer"},
	"promote": {2, true, "a room and a peer"},
	"leave":   {1, true, "a room"},
	"members": {1, false, "a room"},
	"list":    {0, false, "nothing"},
}

// roomVerbNames lists the room subcommands, sorted (for completion).
func roomVerbNames() []string {
	out := make([]string, 0, len(roomVerbs))
	for v := range roomVerbs {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func runRoom(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print the result as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "with no node running: how long to wait for peers to link")
	verbose := fs.BoolP("verbose", "v", false, "log link and discovery diagnostics to stderr")
	nf := &nodeFlags{disc: addDiscoveryFlags(fs, e.getenv), pass: addPassphraseFlags(fs)}
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	nf.verbose = *verbose
	if len(args) == 0 {
		return usageErrorf("run: lanchat room --help", "room: give a subcommand (create, invite, remove, promote, leave, members, list, set, show)")
	}
	verb, rest := args[0], args[1:]
	if verb == "set" || verb == "show" {
		e.pf = nf.pass // room names are sealed: without a node, it asks
		return e.roomRetention(ctx, verb, rest, *asJSON)
	}
	spec, ok := roomVerbs[verb]
	if !ok {
		return usageErrorf("run: lanchat room --help", "room: unknown subcommand %q", verb)
	}
	if err := wantArgs("room "+verb, rest, spec.args, spec.args, spec.what); err != nil {
		return err
	}
	var res any
	call := func(ctx context.Context, api control.API) (err error) {
		res, err = roomCall(ctx, api, verb, rest)
		return err
	}
	if spec.change {
		err = e.nodeCall(ctx, nf, *timeout, call)
	} else {
		err = e.withAPI(ctx, readOnly, call)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	printRoomResult(e, verb, res)
	return nil
}

// roomCall runs one room subcommand against api.
func roomCall(ctx context.Context, api control.API, verb string, args []string) (any, error) {
	switch verb {
	case "create":
		return api.CreateRoom(ctx, control.CreateRoomParams{Name: args[0]})
	case "invite":
		return api.Invite(ctx, control.MemberParams{Room: args[0], Peer: args[1]})
	case "remove":
		return api.RemoveMember(ctx, control.MemberParams{Room: args[0], Peer: args[1]})
	case "promote":
		return api.Promote(ctx, control.MemberParams{Room: args[0], Peer: args[1]})
	case "leave":
		return api.LeaveRoom(ctx, args[0])
	case "members":
		return api.Members(ctx, args[0])
	}
	return api.PrivateRooms(ctx)
}

func printRoomResult(e *env, verb string, res any) {
	switch r := res.(type) {
	case *control.PrivateRoom:
		if verb == "create" {
			fmt.Fprintf(e.stdout, "created private room %s (%s); you are its admin\n", r.Name, r.ID)
			fmt.Fprintf(e.stdout, "invite someone you trust: lanchat room invite %s NAME\n", r.Name)
			return
		}
		printMembers(e, r)
	case *control.MemberResult:
		fmt.Fprintf(e.stdout, "#%s[private]: you %s\n", r.RoomName, r.Message.Body)
	case []control.PrivateRoom:
		if len(r) == 0 {
			fmt.Fprintln(e.stderr, "lanchat: no private rooms (create one: lanchat room create NAME)")
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, pr := range r {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d members\n", pr.Name, pr.ID, membership(pr), len(pr.Members))
		}
		_ = tw.Flush()
	}
}

func membership(pr control.PrivateRoom) string {
	switch {
	case pr.Admin:
		return "admin"
	case pr.Member:
		return "member"
	}
	return "no longer a member"
}

func printMembers(e *env, r *control.PrivateRoom) {
	fmt.Fprintf(e.stdout, "#%s[private] %s — %s\n", r.Name, r.ID, membership(*r))
	if r.NameShared {
		fmt.Fprintln(e.stdout, "(another private room here has the same name: name this one by its id)")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tADDED BY\tSINCE")
	for _, m := range r.Members {
		role := "member"
		if m.Admin {
			role = "admin"
		}
		since := ""
		if m.Since != nil {
			since = m.Since.Local().Format("2006-01-02 15:04")
		}
		by := m.InvitedByName
		if by == "" {
			by = m.InvitedBy[:7]
		}
		if m.InvitedBy == m.Fingerprint {
			by = "(created it)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", label(m.Name, m.Short), role, by, since)
	}
	_ = tw.Flush()
}

func label(name, short string) string {
	if name == "" {
		return short
	}
	return name + "(" + short + ")"
}

// nodeCall runs fn through the node running on the data dir, or else
// through a node started for it, which first waits (at most timeout) for
// the trusted peers it hears to link, so that what fn does reaches them now.
func (e *env) nodeCall(ctx context.Context, nf *nodeFlags, timeout time.Duration, fn func(context.Context, control.API) error) error {
	api, err := e.api(ctx, readWrite)
	if err != nil {
		return err
	}
	defer api.Close()
	local, ok := api.(*control.Local)
	if !ok { // a node runs
		ctx, cancel := context.WithTimeout(ctx, callTimeout+timeout)
		defer cancel()
		return nodeError(fn(ctx, api))
	}
	if err := nf.disc.check(e.cmd.name); err != nil {
		return err
	}
	if err := nf.disc.usable(e.stderr); err != nil {
		return err
	}
	rn, err := e.startNodeOn(ctx, local.DB(), nil, nf)
	if err != nil {
		return err
	}
	if _, err = waitForPeers(ctx, rn.service(), timeout); err == nil {
		err = fn(ctx, rn.service())
	}
	// A clean stop sends what the links have queued before closing them.
	if serr := rn.stopNode(); err == nil {
		err = serr
	}
	return err
}

// sendDirect is send --to.
// With want, it waits (bounded by timeout in all) until the other person
// holds it durably.
func (e *env) sendDirect(ctx context.Context, nf *nodeFlags, p control.DirectParams, timeout time.Duration, want *waitGoal, asJSON bool) error {
	deadline := time.Now().Add(timeout)
	var res *control.SendResult
	var r *control.ReceiptView
	err := e.nodeCall(ctx, nf, timeout, func(ctx context.Context, api control.API) (err error) {
		if res, err = api.SendDirect(ctx, p); err != nil || want == nil {
			return err
		}
		r, err = waitStored(ctx, api, res, want, deadline)
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "sent to %s (direct), handed to %d peer(s): %s\n", chatui.ConvoLabel(res.Message), res.HandedTo, storedText(res))
		if res.HandedTo == 0 && (want == nil || !want.reached(r)) {
			fmt.Fprintln(e.stderr, "lanchat: they are not linked now; they get it when you next link with each other (it is stored)")
		}
	}
	if want != nil && !want.reached(r) {
		return withHint(fmt.Errorf("send: %s within %v: %s", want, timeout, storedText(res)),
			"it is stored here and goes out when you next link with each other; a longer --timeout waits more")
	}
	return nil
}

// roomRetention runs "room set ROOM retain AGE" and "room show".
func (e *env) roomRetention(ctx context.Context, verb string, args []string, asJSON bool) error {
	var p *control.RetentionParams
	var err error
	switch {
	case verb == "show" && len(args) == 0:
	case verb == "set" && len(args) == 3 && args[1] == "retain":
		if p, err = retentionParams(args[0], args[2]); err != nil {
			return err
		}
	default:
		return usageErrorf("e.g. lanchat room set lobby retain 90d, or lanchat room show", "room: want \"set ROOM retain AGE\" or \"show\"")
	}
	var res *control.RetentionResult
	err = e.withAPI(ctx, readWrite, func(ctx context.Context, api control.API) error {
		if p == nil {
			res, err = api.Retention(ctx)
		} else {
			res, err = api.SetRetention(ctx, *p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, res)
	}
	if p != nil && res.Deleted > 0 {
		fmt.Fprintf(e.stdout, "Deleted %d messages older than the retention (on this machine)\n", res.Deleted)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tRETAIN")
	fmt.Fprintf(tw, "* (every other room)\t%s\n", keepText(res.DefaultSeconds))
	rooms := make([]string, 0, len(res.Rooms))
	for r := range res.Rooms {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	for _, r := range rooms {
		fmt.Fprintf(tw, "#%s\t%s\n", r, keepText(res.Rooms[r]))
	}
	return tw.Flush()
}

func retentionParams(room, age string) (*control.RetentionParams, error) {
	p := &control.RetentionParams{Room: room}
	if room != "*" {
		if _, err := control.NormalizeRoom(room); err != nil {
			return nil, usageErrorf("room names use a-z, 0-9, '-', '_' and '.', or * for every room", "room: %v", err)
		}
	}
	switch age {
	case "forever":
	case "default":
		p.Clear = true
	default:
		d, err := parseKeep(age)
		if err != nil {
			return nil, usageErrorf("e.g. 90d, 12h, forever or default", "room: retain %s: %v", age, err)
		}
		p.KeepSeconds = int64(d / time.Second)
	}
	return p, nil
}

// parseKeep reads a retention: N days ("90d") or a duration of at least a
// minute.
func parseKeep(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("not a duration of at least a minute")
	}
	return d, nil
}

func keepText(secs int64) string {
	switch d := time.Duration(secs) * time.Second; {
	case secs == 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	default:
		return d.String()
	}
}
