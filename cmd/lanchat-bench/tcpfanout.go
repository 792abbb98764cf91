//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpFanout is the fan-out baseline: one sender writes each message, behind
// a 2-byte length, to fs.nodes-1 plain TCP connections on loopback, with the
// same pacing as the lanchat run; receivers only read. msgs are the frames
// lanchat sent (their sizes).
func tcpFanout(ctx context.Context, fs fanoutSize, msgs [][]byte) (fanResult, error) {
	var res fanResult
	if len(msgs) != fs.burst+fs.paced {
		return res, fmt.Errorf("%d messages, want %d", len(msgs), fs.burst+fs.paced)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	rx := &tcpReceivers{arrivals: make([][]time.Time, fs.nodes-1)}
	defer rx.close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range fs.nodes - 1 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return res, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
		s, err := ln.Accept()
		if err != nil {
			return res, fmt.Errorf("accept: %w", err)
		}
		rx.start(s, i, len(msgs))
	}
	send := func(i int) error {
		frame := binary.BigEndian.AppendUint16(nil, uint16(len(msgs[i])))
		frame = append(frame, msgs[i]...)
		for _, c := range conns {
			if _, err := c.Write(frame); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		return nil
	}
	t0 := time.Now()
	for i := range fs.burst {
		if err := send(i); err != nil {
			return res, err
		}
	}
	if err := rx.wait(ctx, fs.burst); err != nil {
		return res, err
	}
	res.rate = float64(fs.burst) / rx.lastArrival(0, fs.burst).Sub(t0).Seconds()
	sentAt := make([]time.Time, fs.paced)
	tick := time.NewTicker(fs.pace)
	defer tick.Stop()
	for i := range fs.paced {
		<-tick.C
		sentAt[i] = time.Now()
		if err := send(fs.burst + i); err != nil {
			return res, err
		}
	}
	if err := rx.wait(ctx, len(msgs)); err != nil {
		return res, err
	}
	for i := range fs.paced {
		res.latency = append(res.latency, rx.lastArrival(fs.burst+i, fs.burst+i+1).Sub(sentAt[i]))
	}
	res.p50, res.p99 = percentile(res.latency, 0.50), percentile(res.latency, 0.99)
	return res, nil
}

// tcpReceivers read frames and note when each arrived.
type tcpReceivers struct {
	arrivals [][]time.Time
	got      atomic.Int64
	conns    []net.Conn
	wg       sync.WaitGroup
	errs     chan error
}

func (rx *tcpReceivers) start(c net.Conn, i, total int) {
	rx.conns = append(rx.conns, c)
	if rx.errs == nil {
		rx.errs = make(chan error, len(rx.arrivals))
	}
	rx.arrivals[i] = make([]time.Time, total)
	rx.wg.Add(1)
	go func(arr []time.Time) {
		defer rx.wg.Done()
		r := bufio.NewReader(c)
		buf := make([]byte, 65535)
		for k := range arr {
			var hdr [2]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				rx.errs <- err
				return
			}
			if _, err := io.ReadFull(r, buf[:binary.BigEndian.Uint16(hdr[:])]); err != nil {
				rx.errs <- err
				return
			}
			arr[k] = time.Now()
			rx.got.Add(1)
		}
	}(rx.arrivals[i])
}

func (rx *tcpReceivers) wait(ctx context.Context, n int) error {
	want := int64(n * len(rx.arrivals))
	var failed error
	err := waitUntil(ctx, time.Minute, 200*time.Microsecond, "TCP receivers", func() bool {
		select {
		case failed = <-rx.errs:
			return true
		default:
		}
		return rx.got.Load() >= want
	})
	if failed != nil {
		return fmt.Errorf("TCP receiver: %w", failed)
	}
	return err
}

// close cuts the connections and waits for the receivers (each has room in
// errs for its one error, so none blocks).
func (rx *tcpReceivers) close() {
	for _, c := range rx.conns {
		c.Close()
	}
	rx.wg.Wait()
}

func (rx *tcpReceivers) lastArrival(from, to int) time.Time {
	var last time.Time
	for _, arr := range rx.arrivals {
		for _, t := range arr[from:to] {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}
