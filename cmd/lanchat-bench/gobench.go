//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// goBench is one result line of `go test -bench`.
type goBench struct {
	name    string             // without the -GOMAXPROCS suffix
	procs   int                // the suffix; 1 when there is none
	n       int                // iterations
	metrics map[string]float64 // unit → value: "ns/op", "msgs/s", "MB/s", ...
}

// benchLine matches "BenchmarkName-2   	 1000	  1234 ns/op	 5.0 msgs/s".
var benchLine = regexp.MustCompile(`^(Benchmark[^\s]+?)(?:-(\d+))?\s+(\d+)\s+(.*)$`)

// parseBench reads the result lines of `go test -bench` output.
func parseBench(out []byte) []goBench {
	var res []goBench
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		r := goBench{name: m[1], procs: 1, metrics: map[string]float64{}}
		if m[2] != "" {
			r.procs, _ = strconv.Atoi(m[2])
		}
		r.n, _ = strconv.Atoi(m[3])
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.metrics[f[i+1]] = v
			}
		}
		res = append(res, r)
	}
	return res
}

// runGoBench runs the benchmarks of pkg matching pattern b.size.rounds
// times (each round runs every one of them in turn, so that a noisy moment
// hits all of them alike) and returns each metric's median by benchmark
// name. cpu is the -cpu list ("" for the default).
func (b *bench) runGoBench(ctx context.Context, pkg, pattern, benchtime, cpu string) (map[string]goBench, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", "1"}
	if cpu != "" {
		args = append(args, "-cpu", cpu)
	}
	args = append(args, pkg)
	b.note(fmt.Sprintf("go %s   # %d rounds, median", strings.Join(quoteArgs(args), " "), b.size.rounds))
	rounds := map[string][]goBench{}
	for range b.size.rounds {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = b.root
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go test -bench %s %s: %w\n%s%s", pattern, pkg, err, lastLines(out.String(), 15), lastLines(errOut.String(), 15))
		}
		for _, r := range parseBench(out.Bytes()) {
			rounds[r.name] = append(rounds[r.name], r)
		}
	}
	if len(rounds) == 0 {
		return nil, fmt.Errorf("go test -bench %s %s: no benchmark matched", pattern, pkg)
	}
	res := map[string]goBench{}
	for name, rs := range rounds {
		res[name] = medianBench(rs)
	}
	return res, nil
}

// medianBench is rs[0] with each metric replaced by its median over rs.
func medianBench(rs []goBench) goBench {
	m := goBench{name: rs[0].name, procs: rs[0].procs, n: rs[0].n, metrics: map[string]float64{}}
	for unit := range rs[0].metrics {
		var vs []float64
		for _, r := range rs {
			if v, ok := r.metrics[unit]; ok {
				vs = append(vs, v)
			}
		}
		slices.Sort(vs)
		m.metrics[unit] = vs[len(vs)/2]
	}
	return m
}

// metric returns a benchmark's value in unit, or an error naming what is missing.
func metric(res map[string]goBench, name, unit string) (float64, error) {
	r, ok := res[name]
	if !ok {
		return 0, fmt.Errorf("benchmark %s did not run", name)
	}
	v, ok := r.metrics[unit]
	if !ok {
		return 0, fmt.Errorf("benchmark %s reported no %s", name, unit)
	}
	return v, nil
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ^$|*()") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
