package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/lanchat/lanchat/control"
)

var doctorHelp = help{
	synopsis: "lanchat doctor [--json] [--peer HOST:PORT]... [--wait 3s] [discovery flags]",
	text: `Checks on this machine why peers may not find or reach you, and names the
failing layer with what to do about it, one line each: ok (green), warn
(yellow) or fail (red). It looks at the network interfaces lanchat uses,
its TCP port (bound? reachable through the interface address?), the
firewall rules (Linux nftables, readable as root), the beacons and mDNS
records heard from others in the last minute, the peers heard that do not
take TCP or have not trusted you, the clock skew with linked peers, and the
data directory. With a node running on the data dir (lanchat up or chat)
it asks the node; without one it listens itself for --wait, like lanchat
peers (and asks for the passphrase of a sealed key). --peer HOST:PORT
probes one address directly: TCP connect, and with a node running the
handshake too. It sends beacons only where your discovery flags say, like
every other command. Exit status 1 when a check fails.`,
	example: `  lanchat doctor                               # what is wrong?
  lanchat doctor --peer 192.168.1.20:47101     # can I reach bob's machine?
  lanchat doctor --json --discovery-addr 127.255.255.255 --port 0   # this machine only`,
}

// Verdicts of a finding.
const (
	verdictOK   = "ok"
	verdictWarn = "warn"
	verdictFail = "fail"
)

// finding is one line of the report (lanchat doctor --json: one object
// of "checks").
type finding struct {
	Check   string `json:"check"`
	Verdict string `json:"verdict"`
	Finding string `json:"finding"`
	Fix     string `json:"fix,omitempty"`
}

// doctorReport is what lanchat doctor --json prints.
type doctorReport struct {
	OK          bool      `json:"ok"` // no check failed
	NodeRunning bool      `json:"node_running"`
	Checks      []finding `json:"checks"`
}

// defaultDoctorWait is how long doctor listens when no node runs.
const defaultDoctorWait = 3 * time.Second

var errChecksFailed = errors.New("doctor: some checks failed")

func runDoctor(ctx context.Context, e *env, fs *pflag.FlagSet, args []string) error {
	df := addDiscoveryFlags(fs, e.getenv)
	asJSON := fs.Bool("json", false, "print the report as JSON: {ok, node_running, checks: [{check, verdict, finding, fix}]}")
	wait := fs.Duration("wait", defaultDoctorWait, "without a running node: how long to listen for beacons and mDNS")
	pf := addPassphraseFlags(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("doctor", args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if *wait <= 0 {
		return usageErrorf("run: lanchat doctor --help", "doctor: --wait: must be positive, e.g. 3s")
	}
	if err := df.check("doctor"); err != nil {
		return err
	}
	d := &doctor{e: e, df: df, wait: *wait, pass: pf}
	rep := d.run(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printDoctor(e.stdout, rep, colorful(e))
	}
	if !rep.OK {
		return withHint(errChecksFailed, "fix what the fail lines say, then run lanchat doctor again")
	}
	return nil
}

// doctor runs the checks of one lanchat doctor.
type doctor struct {
	e    *env
	df   *discoveryFlags
	wait time.Duration
	pass *passphraseFlags
	out  []finding
}

func (d *doctor) add(check, verdict, what, fix string) {
	d.out = append(d.out, finding{Check: check, Verdict: verdict, Finding: what, Fix: fix})
}

// run does every check, asking the running node where one runs.
func (d *doctor) run(ctx context.Context) doctorReport {
	ifs := d.checkInterfaces()
	var node *control.Client
	if dir, err := d.e.dir(); err == nil {
		node = control.Connect(ctx, dir)
	}
	if node != nil {
		defer node.Close()
		d.withNode(ctx, node, ifs)
	} else {
		d.withoutNode(ctx, ifs)
	}
	d.checkFirewall(ctx, ifs)
	d.checkDataDir(node != nil)
	rep := doctorReport{OK: true, NodeRunning: node != nil, Checks: d.out}
	for _, f := range d.out {
		if f.Verdict == verdictFail {
			rep.OK = false
		}
	}
	return rep
}

// colorful: colours on a terminal, unless NO_COLOR is set.
func colorful(e *env) bool {
	f, ok := e.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && e.getenv("NO_COLOR") == ""
}

func printDoctor(w io.Writer, rep doctorReport, color bool) {
	paint := map[string]string{verdictOK: "\x1b[32m", verdictWarn: "\x1b[33m", verdictFail: "\x1b[31m"}
	for _, f := range rep.Checks {
		v := fmt.Sprintf("%-4s", f.Verdict)
		if color {
			v = paint[f.Verdict] + v + "\x1b[0m"
		}
		fmt.Fprintf(w, "%s  %-10s %s\n", v, f.Check, f.Finding)
		if f.Fix != "" {
			fmt.Fprintf(w, "%s  %-10s → %s\n", strings.Repeat(" ", 4), "", f.Fix)
		}
	}
}
