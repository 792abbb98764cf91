//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// historyLimit is the --limit of the history-query figure.
const historyLimit = 100

// runHistory: `lanchat history --limit 100`, the real binary, whole process,
// on stores of 100k and 1M messages, against a bare bbolt cursor process.
func runHistory(ctx context.Context, b *bench) ([]row, error) {
	c, err := b.getCorpus()
	if err != nil {
		return nil, err
	}
	homes, err := b.historyStores(c)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b.note(fmt.Sprintf("LANCHAT_HOME=DIR lanchat history --limit %d   # DIR holds N signed messages", historyLimit))
	var rows []row
	for i, n := range b.size.historySizes {
		db := filepath.Join(homes[i], "lanchat.db")
		lanchat := exec.Command(b.binary, "history", "--limit", strconv.Itoa(historyLimit))
		lanchat.Env = childEnv(homes[i])
		bare := exec.Command(self, db, strconv.Itoa(historyLimit))
		bare.Env = append(childEnv(homes[i]), envChild+"="+childBareHistory)
		l, base, err := timeProcesses(ctx, b.size.historyRuns, lanchat, bare)
		if err != nil {
			return rows, fmt.Errorf("%d messages: %w", n, err)
		}
		size := "—"
		if info, err := os.Stat(db); err == nil {
			size = fmt.Sprintf("%.0f MB file", float64(info.Size())/1e6)
		}
		target, ok := "—", check(nil)
		if n >= 1_000_000 {
			target, ok = "≤ 10 ms", func(l, _ float64) bool { return l <= 10 }
		}
		rows = append(rows, compared(fmt.Sprintf("history --limit %d, %s messages (%s), whole process, median of %d",
			historyLimit, thousands(float64(n)), size, b.size.historyRuns),
			measure{ms(l), "ms", ""}, measure{ms(base), "ms", "process: bbolt read-only open + cursor, same 100 keys"}, target, ok))
		if i == len(b.size.historySizes)-1 {
			r, err := b.historyThroughNode(ctx, homes[i], n, lanchat, l)
			if err != nil {
				return rows, err
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// historyThroughNode is the history figure with `lanchat up` running on
// the data dir (its history sealed; the node unlocked it at start): the
// command goes through the control socket. The node has discovery off and
// one unreachable loopback peer: it sends nothing onto any network.
func (b *bench) historyThroughNode(ctx context.Context, home string, n int, lanchat *exec.Cmd, standalone time.Duration) (row, error) {
	up := exec.CommandContext(ctx, b.binary, "up", "--no-discovery", "--peer", "127.0.0.1:9", "--port", "0")
	up.Env = childEnv(home)
	var errOut bytes.Buffer
	up.Stderr = &errOut
	if err := up.Start(); err != nil {
		return row{}, err
	}
	defer func() {
		_ = up.Process.Signal(os.Interrupt)
		_ = up.Wait()
	}()
	sock := filepath.Join(home, "lanchat.sock")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return row{}, fmt.Errorf("lanchat up did not serve its socket: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.note("lanchat up --no-discovery --peer 127.0.0.1:9 --port 0 &   # then the same history, through the node")
	l, _, err := timeProcesses(ctx, b.size.historyRuns, lanchat)
	if err != nil {
		return row{}, fmt.Errorf("through the node: %w", err)
	}
	target, ok := "—", check(nil)
	if n >= 1_000_000 {
		target, ok = "≤ 10 ms", func(l, _ float64) bool { return l <= 10 }
	}
	return compared(fmt.Sprintf("history --limit %d, %s messages, sealed, through the running node, whole process, median of %d",
		historyLimit, thousands(float64(n)), b.size.historyRuns),
		measure{ms(l), "ms", ""}, measure{ms(standalone), "ms", "the same command with no node running"}, target, ok), nil
}

// historyStores makes one data dir per history size, owned by the corpus's
// first author and trusting the others, filled in one signing pass.
func (b *bench) historyStores(c *corpus) ([]string, error) {
	var homes []string
	var stores []*storage.DB
	defer func() {
		for _, db := range stores {
			db.Close()
		}
	}()
	var others []lcrypto.IdentityKey
	for _, a := range c.authors[1:] {
		others = append(others, a.Public())
	}
	for _, n := range b.size.historySizes {
		home, err := b.dir(fmt.Sprintf("history%d", n))
		if err != nil {
			return nil, err
		}
		db, err := makeDataDir(home, c.authors[0], others...)
		if err != nil {
			return nil, err
		}
		homes, stores = append(homes, home), append(stores, db)
	}
	start := time.Now()
	if err := b.fill(c, stores, b.size.historySizes, b.size.catchUp); err != nil {
		return nil, err
	}
	b.logf("   history stores filled in %v", time.Since(start).Round(100*time.Millisecond))
	for _, db := range stores {
		if err := db.Close(); err != nil {
			return nil, err
		}
	}
	stores = nil
	return homes, nil
}

// timeProcesses runs each command once to warm the page cache, then runs
// times alternately, and returns the median wall time of each, exec to exit.
// Each must exit 0 and print something.
func timeProcesses(ctx context.Context, runs int, cmds ...*exec.Cmd) (lanchat, baseline time.Duration, err error) {
	took := make([][]time.Duration, len(cmds))
	for r := 0; r <= runs; r++ {
		for i, tmpl := range cmds {
			if ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			d, err := timeProcess(tmpl)
			if err != nil {
				return 0, 0, err
			}
			if r > 0 {
				took[i] = append(took[i], d)
			}
		}
	}
	if len(cmds) < 2 {
		return median(took[0]), 0, nil
	}
	return median(took[0]), median(took[1]), nil
}

func timeProcess(tmpl *exec.Cmd) (time.Duration, error) {
	cmd := exec.Command(tmpl.Path, tmpl.Args[1:]...)
	cmd.Env = tmpl.Env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", filepath.Base(tmpl.Path), err, bytes.TrimSpace(errOut.Bytes()))
	}
	if lines := bytes.Count(out.Bytes(), []byte("\n")); lines < historyLimit {
		return 0, fmt.Errorf("%s printed %d lines, want at least %d", filepath.Base(tmpl.Path), lines, historyLimit)
	}
	return took, nil
}
