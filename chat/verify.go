package chat

import (
	"runtime"
	"sync"

	lcrypto "github.com/lanchat/lanchat/crypto"
)

// Signature checks of received and stored messages. Where several messages
// wait together (a sync batch, the chat frames queued on a link, a page of
// history), their signatures are checked as one batch (crypto.VerifyBatch,
// which answers exactly as single verification does, at a fraction of its
// cost per signature from crypto.BatchMin signatures up).

// parallelVerifyMin is the batch size from which single signature checks
// are spread over several cores (a live message is checked inline).
const parallelVerifyMin = 16

// batchChunkMin is the smallest share of one core in a batch check: a sync
// batch (at most 256 messages) is one batch on one core, which costs less
// CPU than splitting it (each batch has a fixed cost), and leaves the other
// cores to the commit and the links.
const batchChunkMin = 256

// verifyAll checks every message's signature.
func verifyAll(msgs []Message) []bool {
	return verifySigned(len(msgs), func(i int) lcrypto.Signed {
		m := &msgs[i]
		return lcrypto.Signed{Key: m.Author, Msg: m.signedBytes(), Sig: m.Sig[:]}
	})
}

// verifyRaw is verifyAll for messages decoded from raws: the signed bytes
// are the encoding without its signature (DecodeMessage accepts only
// encodings that re-encode byte for byte), so nothing is copied.
func verifyRaw(msgs []Message, raws [][]byte) []bool {
	return verifySigned(len(msgs), func(i int) lcrypto.Signed {
		raw := raws[i]
		return lcrypto.Signed{Key: msgs[i].Author, Msg: raw[:len(raw)-lcrypto.SignatureSize], Sig: msgs[i].Sig[:]}
	})
}

// verifySigned checks n signatures, signed(i) giving the i-th: in batches
// of at least batchChunkMin, one per core, from crypto.BatchMin up; else
// singly, spread over the cores from parallelVerifyMin up.
func verifySigned(n int, signed func(int) lcrypto.Signed) []bool {
	ok := make([]bool, n)
	if n >= lcrypto.BatchMin {
		chunks := max(1, min(runtime.GOMAXPROCS(0), n/batchChunkMin))
		onCores(chunks, func(c int) {
			from, to := c*n/chunks, (c+1)*n/chunks
			batch := make([]lcrypto.Signed, to-from)
			for i := range batch {
				batch[i] = signed(from + i)
			}
			copy(ok[from:to], lcrypto.VerifyBatch(lcrypto.DomainMessage, batch))
		})
		return ok
	}
	workers := min(runtime.GOMAXPROCS(0), n/parallelVerifyMin+1)
	onCores(workers, func(w int) {
		for i := w; i < n; i += workers {
			s := signed(i)
			ok[i] = lcrypto.Verify(s.Key, lcrypto.DomainMessage, s.Msg, s.Sig)
		}
	})
	return ok
}

// onCores runs work(0) … work(k-1) at once and waits for them; one share
// runs on the calling goroutine (a live message starts no goroutine).
func onCores(k int, work func(int)) {
	var wg sync.WaitGroup
	for i := 1; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(i)
		}()
	}
	work(0)
	wg.Wait()
}
