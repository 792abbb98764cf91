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
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return 0, err
	}
	total := 0
	for _, p := range payload {
		total += len(p)
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
		got <- rawReceive(conn, key, total)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	start := time.Now()
	if err := rawSend(conn, key, payload); err != nil {
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

func rawSend(conn net.Conn, key []byte, payload [][]byte) error {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	buf := make([]byte, 0, 2+65535)
	var nonce [chacha20poly1305.NonceSize]byte
	var counter uint64
	for _, p := range payload {
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
		// A sync response is one frame: flush it as a link would.
		if err := w.Flush(); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
	}
	return nil
}

func rawReceive(conn net.Conn, key []byte, total int) error {
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
		have += len(plain)
	}
	return nil
}
