//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkDurableCommitter-2          	   22929	     52017 ns/op	     19224 msgs/s
BenchmarkChatVerifyOnly     	   20000	     37718 ns/op	     26512 msgs/s
BenchmarkLinkBulk-2   	  50000	  30000 ns/op	 546.13 MB/s	 12.5 cpu-µs/frame	 80000 frames/s/core
PASS
ok  	github.com/lanchat/lanchat/storage	4.419s
`)
	got := parseBench(out)
	want := []struct {
		name   string
		procs  int
		n      int
		unit   string
		metric float64
	}{
		{"BenchmarkDurableCommitter", 2, 22929, "msgs/s", 19224},
		{"BenchmarkChatVerifyOnly", 1, 20000, "ns/op", 37718},
		{"BenchmarkLinkBulk", 2, 50000, "frames/s/core", 80000},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.name != w.name || g.procs != w.procs || g.n != w.n || g.metrics[w.unit] != w.metric {
			t.Errorf("result %d = %+v, want %s-%d %d with %v %s", i, g, w.name, w.procs, w.n, w.metric, w.unit)
		}
	}
	if got[2].metrics["MB/s"] != 546.13 {
		t.Errorf("MB/s = %v, want 546.13", got[2].metrics["MB/s"])
	}
}

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		var out []time.Duration
		for _, v := range vs {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0.5, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0.99, 10 * time.Millisecond},
		{ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0.9, 9 * time.Millisecond},
	} {
		if got := percentile(c.in, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{19224.4, "msgs/s", "19,224 msgs/s"},
		{1234567, "msgs/s", "1,234,567 msgs/s"},
		{999, "msgs/s", "999 msgs/s"},
		{0.04512, "ms", "0.0451 ms"},
		{4.5, "s", "4.50 s"},
		{1523.7, "ms", "1,524 ms"},
		{79.46, "KiB", "79.5 KiB"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestRowsRatioAndTarget(t *testing.T) {
	within := func(l, _ float64) bool { return l <= 2 }
	r := compared("p99", measure{4, "ms", ""}, measure{0.5, "ms", "plain TCP"}, "≤ 2 ms", within)
	if r.ratio != "8.00×" || r.met != "**no**" || r.baseline != "0.500 ms (plain TCP)" {
		t.Errorf("row = %+v", r)
	}
	md := markdownTable([]row{{figure: "a | b", lanchat: "1", baseline: "2", ratio: "3", target: "4", met: "yes"}})
	if !strings.Contains(md, `a \| b`) {
		t.Errorf("a pipe in a cell is not escaped:\n%s", md)
	}
	if txt := textTable([]row{r}); strings.Contains(txt, "**") {
		t.Errorf("terminal table keeps Markdown emphasis:\n%s", txt)
	}
}

func TestRawBatchesKeepEveryByte(t *testing.T) {
	var msgs [][]byte
	for i := range 700 {
		msgs = append(msgs, bytes.Repeat([]byte{byte(i)}, 200+i%300))
	}
	batches := rawBatches(msgs)
	var back [][]byte
	for _, b := range batches {
		if len(b) > rawBatchBytes {
			t.Fatalf("batch of %d bytes, at most %d", len(b), rawBatchBytes)
		}
		n := 0
		for len(b) > 0 {
			l := int(binary.BigEndian.Uint16(b))
			back, b = append(back, b[2:2+l]), b[2+l:]
			n++
		}
		if n > rawBatchMsgs {
			t.Fatalf("batch of %d messages, at most %d", n, rawBatchMsgs)
		}
	}
	if len(back) != len(msgs) {
		t.Fatalf("%d messages back, want %d", len(back), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(back[i], msgs[i]) {
			t.Fatalf("message %d changed", i)
		}
	}
}

func TestRawLinkTransferDelivers(t *testing.T) {
	msgs := make([][]byte, 3000)
	for i := range msgs {
		msgs[i] = bytes.Repeat([]byte("m"), 250)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	took, err := rawLinkTransfer(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if took <= 0 {
		t.Fatalf("transfer took %v", took)
	}
}
