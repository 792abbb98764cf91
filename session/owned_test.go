package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/lanchat/lanchat/session/sessiontest"
)

// TestSendOwnedKeepsOrderAndNeverWritesBody: senders with and without the
// copy at once, on two links that are handed the same owned bodies. Every
// frame arrives whole and in its sender's order on both links, and the
// owned bodies are never written by the links: another goroutine reads
// them all the while (the race detector would see a write), and they hold
// their bytes at the end. Sizes cross the buffer edges and take two chunks.
func TestSendOwnedKeepsOrderAndNeverWritesBody(t *testing.T) {
	sessiontest.CheckGoroutines(t, linkGoroutines...)
	// Queues that hold everything, so SendOwned never finds them full.
	const copying, owning, each = 2, 2, 60
	dcfg, acfg := pairConfigs(t)
	dcfg.SendQueueBytes = 64 << 20
	d1, a1 := linkPair(t, dcfg, acfg)
	d2, a2 := linkPair(t, dcfg, acfg)
	sizes := []int{8, 100, 2 << 10, sendCarveMax, sendCarveMax + 1, writeBufferSize, firstChunkMax + 1, 3 * writeBufferSize}
	owned := make([][][]byte, owning) // [sender][i]
	want := make([][][]byte, owning)  // copies to compare with
	for s := range owned {
		for i := range each {
			b := numbered(copying+s, i, sizes[(i+s)%len(sizes)])
			owned[s] = append(owned[s], b)
			want[s] = append(want[s], bytes.Clone(b))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	stopReading := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopReading) }) }
	defer stop() // also when the test fails early
	readerDone := make(chan int, 1)
	go func() { // reads the owned bodies while the links seal them
		sum := 0
		for {
			for _, bs := range owned {
				for _, b := range bs {
					sum += int(b[len(b)-1])
				}
			}
			runtime.Gosched() // two cores are shared with the links' goroutines
			select {
			case <-stopReading:
				readerDone <- sum
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*(copying+owning))
	for _, d := range []*Link{d1, d2} {
		for s := range copying + owning {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					var err error
					switch {
					case s < copying:
						err = d.SendWait(ctx, appFrame, numbered(s, i, sizes[(i+s)%len(sizes)]))
					case i%2 == 0:
						err = d.SendWaitOwned(ctx, appFrame, owned[s-copying][i])
					default:
						err = d.SendOwned(appFrame, owned[s-copying][i])
					}
					if err != nil {
						errs <- fmt.Errorf("sender %d: %w", s, err)
						return
					}
				}
			}()
		}
	}
	for _, a := range []*Link{a1, a2} {
		next := make([]int, copying+owning)
		for got := 0; got < (copying+owning)*each; {
			f := recvWithin(t, a)
			s, i := int(binary.BigEndian.Uint32(f.Body)), int(binary.BigEndian.Uint32(f.Body[4:]))
			if s >= len(next) || i != next[s] {
				t.Fatalf("frame %d of sender %d, want %d", i, s, next[s])
			}
			if !bytes.Equal(f.Body, numbered(s, i, len(f.Body))) {
				t.Fatalf("sender %d frame %d (%d bytes) is corrupt", s, i, len(f.Body))
			}
			next[s]++
			got++
		}
	}
	wg.Wait()
	stop()
	<-readerDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for s := range owned {
		for i := range owned[s] {
			if !bytes.Equal(owned[s][i], want[s][i]) {
				t.Fatalf("owned body %d of sender %d was changed", i, s)
			}
		}
	}
}

// TestSendOwnedRefuses: the owned sends check frames as Send does.
func TestSendOwnedRefuses(t *testing.T) {
	d, _ := trustedPair(t)
	tests := []struct {
		name string
		typ  FrameType
		body []byte
		want error
	}{
		{"session frame type", framePing, make([]byte, pingSize), ErrFrameType},
		{"body above MaxFrameSize", appFrame, make([]byte, d.cfg.MaxFrameSize+1), ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.SendOwned(tt.typ, tt.body); !errors.Is(err, tt.want) {
				t.Errorf("SendOwned: %v, want %v", err, tt.want)
			}
			if err := d.SendWaitOwned(context.Background(), tt.typ, tt.body); !errors.Is(err, tt.want) {
				t.Errorf("SendWaitOwned: %v, want %v", err, tt.want)
			}
		})
	}
	d.Close("done")
	if err := d.SendOwned(appFrame, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("SendOwned after Close: %v, want ErrClosed", err)
	}
	if err := d.SendWaitOwned(context.Background(), appFrame, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("SendWaitOwned after Close: %v, want ErrClosed", err)
	}
}

// TestSendWaitOwnedSkipsTheCopy pins what the owned send saves: a body
// above sendCarveMax (a 256 KiB sync batch) is copied into an allocation of
// its own by SendWait, and not at all by SendWaitOwned. Both ends run here,
// so each run also allocates the received bodies; the difference is the
// copies (2 MiB here, 1.7 to 2.3 MiB measured).
func TestSendWaitOwnedSkipsTheCopy(t *testing.T) {
	d, a := trustedPair(t)
	const size, burst = 256 << 10, 8
	body := make([]byte, size)
	run := func(send func(*Link, context.Context, FrameType, []byte) error) func() {
		return func() {
			for range burst {
				if err := send(d, context.Background(), appFrame, body); err != nil {
					t.Fatal(err)
				}
				recvWithin(t, a)
			}
		}
	}
	copying := allocated(run((*Link).SendWait))
	owning := allocated(run((*Link).SendWaitOwned))
	t.Logf("%d frames of %d bytes: SendWait allocated %d bytes, SendWaitOwned %d", burst, size, copying, owning)
	// At least half the copies' bytes: the rest of both runs (pooled write
	// and read buffers, which sync.Pool may drop, above all under -race)
	// varies by a few hundred KiB.
	if copying < owning+burst*size/2 {
		t.Fatalf("SendWait allocated %d bytes, SendWaitOwned %d: want most of the %d bytes of copies fewer", copying, owning, burst*size)
	}
}
