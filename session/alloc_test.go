package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/flynn/noise"
	"github.com/lanchat/lanchat/session/sessiontest"
)

// allocated returns the bytes f allocates: the least of three runs, so that
// a stray allocation elsewhere in the process cannot fail the test.
func allocated(f func()) uint64 {
	least := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// TestReadAllocationBound feeds hostile streams to a link's receiving
// direction: whatever length the peer claims, nothing is allocated beyond
// one Noise message and the bound for that frame type.
func TestReadAllocationBound(t *testing.T) {
	const maxFrame = 1 << 20
	const slack = 4 << 10 // error values and their messages
	key := [32]byte{7}
	suite := newSuite(nil)
	seal := func(plain []byte) []byte {
		cs := noise.UnsafeNewCipherState(suite, key, 0)
		ct, err := cs.Encrypt(nil, nil, plain)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte{byte(len(ct) >> 8), byte(len(ct))}, ct...)
	}
	tests := []struct {
		name   string
		stream []byte
		bound  uint64
	}{
		// The message buffer grows to the claimed length, never past MaxNoiseMessage.
		{"length 65535 and garbage", append([]byte{0xff, 0xff}, bytes.Repeat([]byte{0x5a}, 65535)...), MaxNoiseMessage + slack},
		{"frame claiming 4 GiB", seal([]byte{byte(appFrame), 0xff, 0xff, 0xff, 0xff}), slack},
		{"ping claiming 64 KiB", seal([]byte{byte(framePing), 0, 1, 0, 0}), slack},
		// The body has room for the last chunk's tag, which large allocations
		// round up to one more 8 KiB page.
		{"frame claiming MaxFrameSize, then nothing", seal(append([]byte{byte(appFrame), 0, 0x10, 0, 0}, make([]byte, firstChunkMax)...)), MaxNoiseMessage + maxFrame + 8<<10 + slack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dirs []*recvDir
			for range 3 {
				r := bufio.NewReaderSize(bytes.NewReader(tt.stream), readBufferSize)
				dirs = append(dirs, newRecvDir(noise.UnsafeNewCipherState(suite, key, 0), nil, r))
			}
			var err error
			i := 0
			got := allocated(func() {
				_, err = dirs[i].readFrame(maxFrame)
				i++
			})
			if err == nil {
				t.Fatal("hostile stream accepted")
			}
			t.Logf("allocated %d bytes (bound %d)", got, tt.bound)
			if got > tt.bound {
				t.Fatalf("allocated %d bytes, bound %d", got, tt.bound)
			}
		})
	}
}

// TestHandshakeAllocationBound: a 65535 length prefix where message 1 should
// be is refused before its body is read, without allocating for it.
func TestHandshakeAllocationBound(t *testing.T) {
	cfg := testConfig(sessiontest.Identity(t, 2))
	stream := append([]byte{0xff, 0xff}, bytes.Repeat([]byte{0x5a}, 65535)...)
	var err error
	got := allocated(func() { _, err = Accept(context.Background(), newScriptConn(stream), cfg) })
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("accept: %v", err)
	}
	// The read buffer and the handshake state, far below the claimed length.
	t.Logf("allocated %d bytes", got)
	if bound := uint64(readBufferSize + 16<<10); got > bound {
		t.Fatalf("allocated %d bytes, bound %d", got, bound)
	}
}
