//go:build unix

package main

import (
	"context"
	"fmt"
)

// runDurable: messages/s into history with the node's grouped commits,
// against bare bbolt (storage/durable_bench_test.go).
func runDurable(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./storage/", "^BenchmarkDurable", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	get := func(name string) (float64, error) { return metric(res, name, "msgs/s") }
	pipelined, err := get("BenchmarkDurableCommitterPipelined")
	if err != nil {
		return nil, err
	}
	writers, err := get("BenchmarkDurableCommitter")
	if err != nil {
		return nil, err
	}
	perTx, err := get("BenchmarkDurableBoltTxPerMessage")
	if err != nil {
		return nil, err
	}
	batch, err := get("BenchmarkDurableBoltBatch")
	if err != nil {
		return nil, err
	}
	const target = "≥ 20,000 msgs/s and ≥ 10× one tx/msg"
	ok := func(l, base float64) bool { return l >= 20_000 && l >= 10*base }
	perTxM := measure{perTx, "msgs/s", "bbolt, one tx per message, 16 writers"}
	return []row{
		compared("durable writes: one link, pipelined (receive path)", measure{pipelined, "msgs/s", ""}, perTxM, target, ok),
		compared("durable writes: 16 writers blocking in Add", measure{writers, "msgs/s", ""}, perTxM, target, ok),
		compared("durable writes: 16 writers blocking in Add", measure{writers, "msgs/s", ""},
			measure{batch, "msgs/s", "bbolt db.Batch, 16 writers"}, "—", nil),
	}, nil
}

// runReceive: signed chat messages received on one link, per core (per CPU
// second of the process), against verifying the same messages in memory
// (chat/receive_bench_test.go).
func runReceive(ctx context.Context, b *bench) ([]row, error) {
	benchtime := fmt.Sprintf("%dx", b.size.receiveMsgs)
	res, err := b.runGoBench(ctx, "./chat/", "^BenchmarkChat(ReceiveOneLink|VerifyOnly)$", benchtime, "")
	if err != nil {
		return nil, err
	}
	var v [4]float64
	for i, q := range []struct{ bench, unit string }{
		{"BenchmarkChatReceiveOneLink", "msgs/s/core"}, {"BenchmarkChatVerifyOnly", "msgs/s/core"},
		{"BenchmarkChatReceiveOneLink", "msgs/s"}, {"BenchmarkChatVerifyOnly", "msgs/s"},
	} {
		if v[i], err = metric(res, q.bench, q.unit); err != nil {
			return nil, err
		}
	}
	const what = "decode + single Ed25519 verify only, in memory"
	return []row{
		compared("chat receive, one link: signed msgs/s per core (CPU time, both ends; batch-verified, durable, shown)",
			measure{v[0], "msgs/s", ""}, measure{v[1], "msgs/s", what},
			"≥ 1.0× single verify", func(l, b float64) bool { return l >= b }),
		compared("chat receive, one link: signed msgs/s (wall time)", measure{v[2], "msgs/s", ""}, measure{v[3], "msgs/s", what}, "—", nil),
	}, nil
}

// runSealed: the cost of sealed history against the plaintext store that
// lanchat kept before (storage/sealed_bench_test.go): the newest 100 of
// 100,000 stored messages, opened, against the same cursor read of records
// in the clear; and one 250-byte record sealed and opened.
func runSealed(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./storage/", "^Benchmark(HistorySealed|HistoryPlaintext|SealRecord|OpenRecord)$", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	var v [4]float64
	for i, name := range []string{"BenchmarkHistorySealed", "BenchmarkHistoryPlaintext", "BenchmarkSealRecord", "BenchmarkOpenRecord"} {
		if v[i], err = metric(res, name, "ns/op"); err != nil {
			return nil, err
		}
	}
	return []row{
		compared("sealed history: newest 100 of 100,000 messages, in process", measure{v[0] / 1e3, "µs", ""},
			measure{v[1] / 1e3, "µs", "the plaintext store: cursor + copy, no opening"}, "—", nil),
		compared("sealed history: seal one 250-byte message record", measure{v[2] / 1e3, "µs", ""},
			measure{v[3] / 1e3, "µs", "open it"}, "—", nil),
	}, nil
}
