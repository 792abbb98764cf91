package main

import (
	"context"
	"fmt"
	"github.com/lanchat/lanchat/control"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

var sendHelp = help{
	synopsis: "lanchat send [--room ROOM | --to PEER] [--wait stored|all|N] [--timeout D] [--json] TEXT...",
	text: `Send one message from a script, then exit. lanchat starts, links to the
trusted peers it finds (waiting at most --timeout), stores the message, hands
it to every linked peer in the room and says to how many, and how many of the
room's other members hold it durably ("stored by 2 of 3 members"). Peers that
are not reachable now get it when they next link with you (or anyone who has
it). Without TEXT, the message is read from standard input.

--wait waits, at most --timeout in all, until the message is stored by at
least one other member (stored), by every member (all) or by N members; if
that is not reached, lanchat says who it still waits for and exits 1. The
members of a room are the trusted peers your node has been linked with in it
that have not left it.

While lanchat chat runs on the same data dir, the message goes through it
at once (it joins --room if it is not in it); the node options are then
those of the running chat.

With --to, the message is a direct message to one trusted peer (by the name
you gave it or its fingerprint): only the two of you ever hold it; nobody
relays it. A private room is named by --room like an open one (its name or
id).`,
	example: `  lanchat send --room lobby "build 1234 is green"
  echo "disk almost full" | lanchat send --room ops --json
  lanchat send --wait all --timeout 30s "release is tagged"   # exit 1 if someone did not get it
  lanchat send --to bob "are you free at 3?"`,
}

func runSend(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	nf := e.addNodeFlags(fs, "room to send to (default lobby)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait in all: for peers to link, and with --wait for them to store it")
	waitFor := fs.String("wait", "", "wait until the message is stored by `stored` (one other member), all (every member) or N members")
	join := fs.Bool("join", false, "through a running node: join --room first if it is not in it (it stays)")
	to := fs.String("to", "", "send a direct message to this trusted `PEER` (name or fingerprint) instead of a room")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	kind := addKindFlag(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	want, err := parseWait(*waitFor)
	if err != nil {
		return err
	}
	if err := checkKind("send", *kind); err != nil {
		return err
	}
	if len(nf.rooms) > 1 {
		return usageErrorf("send to one room at a time", "send: --room given %d times", len(nf.rooms))
	}
	if *to != "" && (len(nf.rooms) > 0 || *join) {
		return usageErrorf("a direct message goes to one person: drop --room and --join", "send: --to with --room or --join")
	}
	text := strings.Join(args, " ")
	if len(args) == 0 {
		if text, err = readMessage(ctx, e.stdin); err != nil {
			return err
		}
	}
	if strings.TrimSpace(text) == "" {
		return usageErrorf("give the text as arguments or on standard input", "send: empty message")
	}
	if len(text) > control.MaxBodyBytes {
		return usageErrorf("split it into several messages", "send: the message is %d bytes, at most %d", len(text), control.MaxBodyBytes)
	}
	if *to != "" {
		return e.sendDirect(ctx, nf, control.DirectParams{To: *to, Body: text}, *timeout, want, *asJSON)
	}
	room := control.DefaultRoom
	if len(nf.rooms) > 0 {
		room = nf.rooms[0]
	}
	if _, err := control.NormalizeRoom(room); err != nil {
		return usageErrorf("room names use a-z, 0-9, '-', '_' and '.'", "send: %v", err)
	}
	res, r, err := e.send(ctx, nf, control.SendParams{Room: room, Body: text, Join: *join, Kind: *kind}, *timeout, want)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(e.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "sent to #%s, handed to %d peer(s): %s\n", res.Message.Room, res.HandedTo, storedText(res))
		if res.HandedTo == 0 && (want == nil || !want.reached(r)) {
			fmt.Fprintln(e.stderr, "lanchat: nobody was linked; your peers get it when they next link with you (it is stored)")
		}
	}
	if want != nil && !want.reached(r) {
		return withHint(fmt.Errorf("send: %s within %v: %s, waiting for %s", want, *timeout, storedText(res), waitingText(r)),
			"it is stored here and goes out when they link; a longer --timeout waits more")
	}
	return nil
}

// waitGoal is what --wait asks for: n members, or all of them.
type waitGoal struct {
	all bool
	n   int
}

func parseWait(s string) (*waitGoal, error) {
	switch s {
	case "":
		return nil, nil
	case "stored":
		return &waitGoal{n: 1}, nil
	case "all":
		return &waitGoal{all: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return nil, usageErrorf("--wait stored, --wait all or --wait N (N ≥ 1)", "send: --wait %q", s)
	}
	return &waitGoal{n: n}, nil
}

func (w *waitGoal) String() string {
	if w.all {
		return "not stored by every member"
	}
	return fmt.Sprintf("not stored by %d member(s)", w.n)
}

// reached reports whether r meets the goal (nil r: not known).
func (w *waitGoal) reached(r *control.ReceiptView) bool {
	if w == nil {
		return true
	}
	if r == nil {
		return false
	}
	if w.all {
		return r.Stored >= r.Members
	}
	return r.Stored >= w.n
}

// storedText is "stored by 2 of 3 members", "only here so far" or "no
// other members yet".
func storedText(res *control.SendResult) string {
	switch {
	case res.Members == 0 && res.Message.Conversation == control.KindRoom:
		return "no other members in #" + res.Message.Room + " yet"
	case res.Members == 0:
		return "no other members yet"
	case res.Stored == 0:
		return fmt.Sprintf("only here so far (%d other member(s))", res.Members)
	}
	return fmt.Sprintf("stored by %d of %d members", res.Stored, res.Members)
}

// waitingText names the members that do not hold the message.
func waitingText(r *control.ReceiptView) string {
	if r == nil || len(r.Waiting) == 0 {
		return "more members (none known yet)"
	}
	short := make([]string, len(r.Waiting))
	for i, fp := range r.Waiting {
		short[i], _, _ = strings.Cut(fp, "-")
	}
	return strings.Join(short, ", ")
}

// waitStored polls the message's receipt until want is reached or the
// deadline passes; res gets the last counts.
func waitStored(ctx context.Context, api control.API, res *control.SendResult, want *waitGoal, deadline time.Time) (*control.ReceiptView, error) {
	p := control.ReceiptParams{Room: res.Message.Room, Seq: res.Message.Seq}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		r, err := api.Receipt(ctx, p)
		if err != nil {
			return nil, err
		}
		res.Stored, res.Members, res.Read = r.Stored, r.Members, r.Read
		if want.reached(r) || !time.Now().Before(deadline) {
			return r, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// send sends through the node running on the data dir, or else through a
// node started for this one message.
func (e *env) send(ctx context.Context, nf *nodeFlags, p control.SendParams, timeout time.Duration, want *waitGoal) (*control.SendResult, *control.ReceiptView, error) {
	deadline := time.Now().Add(timeout)
	api, err := e.api(ctx, readWrite)
	if err != nil {
		return nil, nil, err
	}
	defer api.Close()
	local, ok := api.(*control.Local)
	if !ok { // a node runs
		ctx, cancel := context.WithTimeout(ctx, callTimeout+timeout)
		defer cancel()
		res, err := api.Send(ctx, p)
		if err != nil || want == nil {
			return res, nil, nodeError(err)
		}
		r, err := waitStored(ctx, api, res, want, deadline)
		return res, r, nodeError(err)
	}
	if err := nf.disc.check("send"); err != nil {
		return nil, nil, err
	}
	if err := nf.disc.usable(e.stderr); err != nil {
		return nil, nil, err
	}
	rooms := []string{p.Room}
	if _, err := local.Members(ctx, p.Room); err == nil {
		rooms = nil // a private room: the node's own open rooms
	} else if _, err := control.NormalizeOpenRoom(p.Room); err != nil {
		return nil, nil, usageErrorf("see lanchat room list", "send: %v", err)
	}
	rn, err := e.startNodeOn(ctx, local.DB(), rooms, nf)
	if err != nil {
		return nil, nil, err
	}
	var r *control.ReceiptView
	res, err := sendOnce(ctx, rn.service(), p, timeout)
	if err == nil && want != nil {
		r, err = waitStored(ctx, rn.service(), res, want, deadline)
	}
	if serr := rn.stopNode(); err == nil {
		err = serr
	}
	return res, r, err
}

// sendOnce waits until every trusted peer the node hears is linked (or the
// timeout), then sends.
func sendOnce(ctx context.Context, api control.API, p control.SendParams, timeout time.Duration) (*control.SendResult, error) {
	timedOut, err := waitForPeers(ctx, api, timeout)
	if err != nil {
		return nil, err
	}
	res, err := api.Send(ctx, p)
	if err != nil {
		return nil, err
	}
	res.TimedOut = timedOut
	return res, nil
}

// waitForPeers waits until every trusted peer the node hears is linked, or
// timeout; timedOut says it gave up.
func waitForPeers(ctx context.Context, api control.API, timeout time.Duration) (timedOut bool, err error) {
	deadline := time.Now().Add(timeout)
	settle := time.Now().Add(min(timeout, 1500*time.Millisecond)) // a few beacons' time to hear peers
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now()
		peers, err := api.Peers(ctx)
		if err != nil {
			return false, err
		}
		trusted, linked := 0, 0
		for _, p := range peers {
			if p.Trusted {
				trusted++
			}
			if p.Linked {
				linked++
			}
		}
		if now.After(deadline) {
			timedOut = trusted > linked
			break
		}
		if now.After(settle) && trusted > 0 && linked >= trusted {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return timedOut, nil
}

// readMessage reads the message from r until EOF, or until ctx ends
// (SIGINT, SIGTERM): a read from a pipe or a terminal cannot be interrupted,
// so it runs in a goroutine that ends at EOF or with the process. Its
// result is then dropped (the channel is buffered).
func readMessage(ctx context.Context, r io.Reader) (string, error) {
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, control.MaxBodyBytes+1))
		done <- read{b, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return "", fmt.Errorf("reading the message: %w", res.err)
		}
		return strings.TrimRight(string(res.b), "\n"), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
