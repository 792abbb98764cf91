//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Raw-link framing: what a lanchat link does at its floor. Plaintexts of at
// most rawMaxPlain bytes, each sealed with ChaCha20-Poly1305 under a counter
// nonce and sent behind a 2-byte big-endian length (the Noise transport
// message limit and framing).
const (
	rawMaxPlain = 65535 - chacha20poly1305.Overhead
	// rawBatchMsgs and rawBatchBytes cut the messages into batches the way
	// a catch-up sync response does (256 messages or 256 KiB).
	rawBatchMsgs  = 256
	rawBatchBytes = 256 << 10
)

// rawLinkTransfer sends msgs over one loopback TCP connection with the raw
// framing, in sync-sized batches (each message behind a 2-byte length), and
// returns the time until the receiver has opened every byte.
func rawLinkTransfer(ctx context.Context, msgs [][]byte) (time.Duration, error) {
	return rawTransfer(ctx, rawBatches(msgs))
}

// rawTransfer sends payload (plaintexts of at most one Noise message each)
// over one loopback TCP connection, each sealed with ChaCha20-Poly1305
// behind a 2-byte length, and returns the time until the receiver has
// opened every byte.
func rawTransfer(ctx context.Context, payload [][]byte) (time.Duration, error) {
	total := 0
	for _, p := range payload {
		total += len(p)
	}
	return rawRun(ctx, rawEnds{total: total, next: func([]byte) ([]byte, error) {
		if len(payload) == 0 {
			return nil, io.EOF
		}
		p := payload[0]
		payload = payload[1:]
		return p, nil
	}})
}

// rawEnds are what a raw transfer carries: total bytes, which next gives
// the sender piece by piece (it may fill buf; io.EOF after the last, and
// the sender flushes after each piece, as a link does after a frame);
// sink, if set, takes what the receiver opened at its offset; finish, if
// set, runs on the receiver after the last byte, inside the time.
type rawEnds struct {
	total  int
	next   func(buf []byte) ([]byte, error)
	sink   func(off int, p []byte) error
	finish func() error
}

// rawRun carries e over one loopback TCP connection with the raw framing
// and returns the time from the first byte sent until the receiver has
// opened, sunk and finished every byte.
func rawRun(ctx context.Context, e rawEnds) (time.Duration, error) {
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	got := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer conn.Close()
		err = rawReceive(conn, key, e.total, e.sink)
		if err == nil && e.finish != nil {
			err = e.finish()
		}
		got <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	start := time.Now()
	if err := rawSend(conn, key, e.next); err != nil {
		return 0, err
	}
	select {
	case err := <-got:
		if err != nil {
			return 0, fmt.Errorf("receiving: %w", err)
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return time.Since(start), nil
}

// rawBatches encodes msgs into batches of at most rawBatchMsgs messages and
// rawBatchBytes bytes, each message behind its 2-byte length.
func rawBatches(msgs [][]byte) [][]byte {
	var out [][]byte
	var cur []byte
	n := 0
	for _, m := range msgs {
		if n == rawBatchMsgs || len(cur)+2+len(m) > rawBatchBytes {
			out, cur, n = append(out, cur), nil, 0
		}
		cur = binary.BigEndian.AppendUint16(cur, uint16(len(m)))
		cur = append(cur, m...)
		n++
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func rawSend(conn net.Conn, key []byte, next func(buf []byte) ([]byte, error)) error {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	buf := make([]byte, 0, 2+65535)
	piece := make([]byte, 256<<10)
	var nonce [chacha20poly1305.NonceSize]byte
	var counter uint64
	for {
		p, err := next(piece)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for len(p) > 0 {
			chunk := p[:min(len(p), rawMaxPlain)]
			p = p[len(chunk):]
			binary.LittleEndian.PutUint64(nonce[4:], counter)
			counter++
			msg := aead.Seal(buf[:2], nonce[:], chunk, nil)
			binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
			if _, err := w.Write(msg); err != nil {
				return fmt.Errorf("sending: %w", err)
			}
		}
		// A sync response or a file chunk is one frame: flush it as a
		// link would.
		if err := w.Flush(); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
	}
}

func rawReceive(conn net.Conn, key []byte, total int, sink func(off int, p []byte) error) error {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return err
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	buf := make([]byte, 65535)
	var nonce [chacha20poly1305.NonceSize]byte
	for counter, have := uint64(0), 0; have < total; counter++ {
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		ct := buf[:binary.BigEndian.Uint16(hdr[:])]
		if _, err := io.ReadFull(r, ct); err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(nonce[4:], counter)
		plain, err := aead.Open(ct[:0], nonce[:], ct, nil)
		if err != nil {
			return err
		}
		if sink != nil {
			if err := sink(have, plain); err != nil {
				return err
			}
		}
		have += len(plain)
	}
	return nil
}
