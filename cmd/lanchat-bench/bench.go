//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// sizes are what a run measures; quick mode shrinks them.
type sizes struct {
	benchtime    string // -benchtime of the Go benchmarks that run for a time
	rounds       int    // times each Go benchmark runs (the median is kept)
	receiveMsgs  int    // messages of the chat-receive benchmark
	fanout       []fanoutSize
	historySizes []int // stored messages of the history-query figure
	historyRuns  int   // timed runs of each process (after one warm-up)
	catchUp      int   // messages the late node misses
	discTrials   int   // node starts timed by the discovery figure
	memoryLinks  int   // links of the node whose RSS is read
	memorySettle time.Duration
	roomLinks    int           // idle links of the node in many rooms
	roomsIdle    time.Duration // window of its idle CPU time
	fileBytes    int           // size of the file of the file-transfer figures
}

// fanoutSize is one room size of the fan-out figure.
type fanoutSize struct {
	nodes      int
	burst      int           // messages sent back to back (throughput)
	paced      int           // messages sent one per pace (latency)
	pace       time.Duration // time between paced messages
	linkWithin time.Duration // how long the cluster may take to link up
}

func sizesFor(quick bool) sizes {
	if quick {
		return sizes{
			benchtime:   "1s",
			rounds:      1,
			receiveMsgs: 5000,
			fanout: []fanoutSize{
				{nodes: 2, burst: 500, paced: 100, pace: 5 * time.Millisecond, linkWithin: 30 * time.Second},
				{nodes: 8, burst: 200, paced: 100, pace: 20 * time.Millisecond, linkWithin: 30 * time.Second},
				{nodes: 32, burst: 50, paced: 30, pace: 100 * time.Millisecond, linkWithin: 60 * time.Second},
			},
			historySizes: []int{10_000, 100_000},
			historyRuns:  5,
			catchUp:      20_000,
			discTrials:   2,
			memoryLinks:  32,
			memorySettle: 2 * time.Second,
			roomLinks:    64,
			roomsIdle:    3 * time.Second,
			fileBytes:    64 << 20,
		}
	}
	return sizes{
		benchtime:   "1s",
		rounds:      3,
		receiveMsgs: 30_000,
		fanout: []fanoutSize{
			{nodes: 2, burst: 3000, paced: 400, pace: 5 * time.Millisecond, linkWithin: 30 * time.Second},
			{nodes: 8, burst: 1000, paced: 300, pace: 20 * time.Millisecond, linkWithin: 30 * time.Second},
			{nodes: 32, burst: 200, paced: 100, pace: 100 * time.Millisecond, linkWithin: 90 * time.Second},
		},
		historySizes: []int{100_000, 1_000_000},
		historyRuns:  9,
		catchUp:      100_000,
		discTrials:   5,
		memoryLinks:  32,
		memorySettle: 3 * time.Second,
		roomLinks:    64,
		roomsIdle:    10 * time.Second,
		fileBytes:    256 << 20,
	}
}

// bench is the state of one run.
type bench struct {
	opts   options
	size   sizes
	root   string // the module's directory
	tmp    string // removed by cleanup
	binary string // the lanchat binary built for this run
	stderr io.Writer
	start  time.Time

	rows     []row
	commands []string // how each figure was measured, for BENCHMARKS.md

	corpusOnce sync.Once
	corpus     *corpus
	corpusErr  error
}

func newBench(ctx context.Context, opts options, stderr io.Writer) (*bench, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lanchat-bench-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	b := &bench{opts: opts, size: sizesFor(opts.quick), root: root, tmp: tmp, stderr: stderr, start: time.Now()}
	b.binary = filepath.Join(tmp, "lanchat")
	b.logf("building %s", b.binary)
	build := exec.CommandContext(ctx, "go", "build", "-o", b.binary, "./cmd/lanchat")
	build.Dir, build.Stderr = root, stderr
	if err := build.Run(); err != nil {
		b.cleanup()
		return nil, fmt.Errorf("building lanchat: %w", err)
	}
	b.note("go build -o lanchat ./cmd/lanchat")
	return b, nil
}

func (b *bench) cleanup() {
	if err := os.RemoveAll(b.tmp); err != nil {
		b.logf("removing %s: %v", b.tmp, err)
	}
}

// logf prints progress to stderr with the time since the start.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// note records a command that reproduces part of the run.
func (b *bench) note(cmd string) { b.commands = append(b.commands, cmd) }

// dir returns a new directory under the run's temporary directory.
func (b *bench) dir(name string) (string, error) {
	d, err := os.MkdirTemp(b.tmp, name+"-")
	if err != nil {
		return "", fmt.Errorf("temporary directory: %w", err)
	}
	return d, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run lanchat-bench inside the lanchat module")
	}
	return filepath.Dir(mod), nil
}

// figure is one group of rows of the table.
type figure struct {
	name string
	run  func(ctx context.Context, b *bench) ([]row, error)
	// alone: run in a process of its own (figureInChild), not after the
	// other figures in this one. The file transfer's one link took 4.6 s
	// of CPU per GB after them in their process (no goroutine of theirs
	// left; 60 MB of their heap), 3.9 s in a process of its own after
	// them, 2.7 to 2.9 s first or alone: the rest is how this VM backs
	// memory that processes had and gave back.
	alone bool
}

// figures in the order they run: the cheap storage figures first, the
// session benchmarks last.
var figures = []figure{
	{"durable writes", runDurable, false},
	{"chat receive", runReceive, false},
	{"batch verify", runVerifyBatch, false},
	{"room fan-out", runFanout, false},
	{"receipts", runReceipts, false},
	{"terminal marks", runMarks, false},
	{"scale", runScale, false},
	{"lab partition", runLabPartition, false},
	{"history query", runHistory, false},
	{"sealed history", runSealed, false},
	{"catch-up", runCatchUp, false},
	{"discovery", runDiscovery, false},
	{"discovery by mDNS", runMDNS, false},
	{"memory", runMemory, false},
	{"rooms", runRooms, false},
	{"handshake", runHandshake, false},
	{"link", runLink, false},
	{"web UI", runWeb, false},
	{"file transfer", runFiles, true},
	{"lab swarm", runLabSwarm, false},
}
