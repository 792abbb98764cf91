//go:build unix

package files

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU seconds per GB moved since start: on a shared
// machine, a steadier figure than the wall time.
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	b.ReportMetric((cpuTime(b)-start).Seconds()/(float64(bytes)/1e9), "cpu-s/GB")
}

// benchFile writes a file of chunks default-size chunks and builds it.
func benchFile(b *testing.B, chunks int) (string, *Built) {
	path := filepath.Join(b.TempDir(), "payload.bin")
	buf := make([]byte, chunks*DefaultChunkSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		b.Fatal(err)
	}
	built, err := Build(context.Background(), path, DefaultChunkSize)
	if err != nil {
		b.Fatal(err)
	}
	return path, built
}

// BenchmarkSourceReadChunk: what a sender spends per chunk it serves, by
// its stamp (a read and an fstat) and by hashing it again (the read and
// SHA-256), from the page cache.
func BenchmarkSourceReadChunk(b *testing.B) {
	path, built := benchFile(b, 64)
	for _, c := range []struct {
		name   string
		stamps []Stamp
	}{{"stamp", built.Stamps}, {"hash", nil}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := NewSource(path, false, built.Manifest, c.stamps)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			buf := make([]byte, DefaultChunkSize)
			b.SetBytes(DefaultChunkSize)
			start := cpuTime(b)
			for i := 0; b.Loop(); i++ {
				if _, err := s.ReadChunk(i%built.Manifest.Chunks(), buf); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, int64(b.N)*DefaultChunkSize)
		})
	}
}

// BenchmarkPartialWrite: what a receiver spends per chunk it keeps, hashed
// (SHA-256 against the manifest) and written in place (pwrite into the page
// cache), each round into a new partial; "hash" and "write" are the two
// halves apart.
func BenchmarkPartialWrite(b *testing.B) {
	const chunks = 64
	path, built := benchFile(b, chunks)
	content, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	enc := built.Manifest.Encode()
	o := &Offer{Name: "payload.bin", Size: uint64(len(content)), Files: 1, ChunkSize: DefaultChunkSize,
		ManifestSize: uint32(len(enc)), Root: Root(enc)}
	m := built.Manifest
	chunk := func(i int) []byte { return content[i*DefaultChunkSize:][:DefaultChunkSize] }
	for _, mode := range []string{"hash+write", "hash", "write"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(DefaultChunkSize)
			var p *Partial
			open := func() {
				if p != nil {
					p.Remove()
				}
				var err error
				if p, err = OpenPartial(b.TempDir(), o, m); err != nil {
					b.Fatal(err)
				}
			}
			open()
			start := cpuTime(b)
			for i := 0; b.Loop(); i++ {
				k := i % chunks
				if k == 0 && i > 0 {
					b.StopTimer()
					open()
					b.StartTimer()
				}
				var err error
				switch mode {
				case "hash":
					if sha256.Sum256(chunk(k)) != m.Hashes[k] {
						b.Fatal("the chunk does not match")
					}
				case "write":
					err = p.WriteHashed(k, chunk(k), m.Hashes[k])
				default:
					err = p.Write(k, chunk(k))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start, int64(b.N)*DefaultChunkSize)
			p.Remove()
		})
	}
}
