//go:build unix

package main

import (
	"context"
	"fmt"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// runVerifyBatch: crypto.VerifyBatch per signature at the batch sizes the
// node meets (a full sync batch is 256, a full chat run 1024 split over the
// cores; below crypto.BatchMin it verifies singly), one author,
// against crypto/ed25519 verifying the same signatures one at a time
// (crypto/verifybatch_test.go).
func runVerifyBatch(ctx context.Context, b *bench) ([]row, error) {
	res, err := b.runGoBench(ctx, "./crypto/", "^BenchmarkVerify(Single|Batch)$", b.size.benchtime, "")
	if err != nil {
		return nil, err
	}
	single, err := metric(res, "BenchmarkVerifySingle", "cpu-ns/sig")
	if err != nil {
		return nil, err
	}
	base := measure{single / 1e3, "µs", "crypto/ed25519.Verify, one at a time"}
	var rows []row
	for _, n := range []int{64, 128, 256, 1024} {
		v, err := metric(res, fmt.Sprintf("BenchmarkVerifyBatch/n=%d", n), "cpu-ns/sig")
		if err != nil {
			return nil, err
		}
		target, ok := "—", check(nil)
		if n >= lcrypto.BatchMin {
			target, ok = "< 1× single verify", func(l, b float64) bool { return l < b }
		}
		rows = append(rows, compared(fmt.Sprintf("Ed25519 batch verify (crypto.VerifyBatch), %d signatures: per signature", n),
			measure{v / 1e3, "µs", ""}, base, target, ok))
	}
	return rows, nil
}
