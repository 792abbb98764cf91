//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// envChild makes this binary, re-executed, run one of the baseline
// processes instead of the driver.
const envChild = "LANCHAT_BENCH_CHILD"

// childBareHistory is the history-query baseline: open the file with bbolt
// read-only and print the newest messages with a bare cursor.
const childBareHistory = "bare-history"

// runChild runs a child mode and returns the exit code.
func runChild(mode string, args []string, stdout, stderr io.Writer) int {
	var err error
	switch mode {
	case childBareHistory:
		err = bareHistoryMain(args, stdout)
	case childScaleSender:
		err = scaleSenderMain(args, os.Stdin, stdout)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(stderr, "lanchat-bench child:", err)
		return 1
	}
	return 0
}

// bareHistoryMain: args are the database path and how many messages.
func bareHistoryMain(args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: PATH LIMIT")
	}
	limit, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	db, err := bbolt.Open(args[0], 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	w := bufio.NewWriter(stdout)
	n := 0
	err = db.View(func(tx *bbolt.Tx) error {
		msgs := tx.Bucket([]byte("messages"))
		if msgs == nil {
			return errors.New("no messages bucket")
		}
		room := msgs.Bucket([]byte("lobby"))
		if room == nil { // sealed stores name rooms by a keyed id: the stores hold one room
			if k, _ := msgs.Cursor().First(); k != nil {
				room = msgs.Bucket(k)
			}
		}
		if room == nil || room.Bucket([]byte("o")) == nil {
			return errors.New("no lobby room")
		}
		c := room.Bucket([]byte("o")).Cursor()
		for k, v := c.Last(); k != nil && n < limit; k, v = c.Prev() {
			w.Write(v)
			w.WriteByte('\n')
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != limit {
		return fmt.Errorf("read %d messages, want %d", n, limit)
	}
	return w.Flush()
}
