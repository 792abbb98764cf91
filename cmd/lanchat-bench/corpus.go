//go:build unix

package main

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// corpusAuthors is how many people wrote the stored rooms' messages.
const corpusAuthors = 4

// corpus is the room history the history and catch-up figures store: message
// i is by author i mod 4, with that author's next sequence number, Lamport
// clock i+1, a 100-byte body, and a real signature (signed once, 47 µs each,
// on every core).
type corpus struct {
	authors []*lcrypto.Identity
	base    time.Time

	mu     sync.Mutex
	cached []storage.StoredMessage // the first messages, kept for catch-up
}

func newCorpus() (*corpus, error) {
	ids, err := newIdentities(corpusAuthors)
	if err != nil {
		return nil, err
	}
	return &corpus{authors: ids, base: time.Now().Add(-24 * time.Hour).Truncate(time.Millisecond)}, nil
}

// getCorpus returns the run's corpus, made on first use.
func (b *bench) getCorpus() (*corpus, error) {
	b.corpusOnce.Do(func() { b.corpus, b.corpusErr = newCorpus() })
	return b.corpus, b.corpusErr
}

func corpusBody(i int) string {
	s := fmt.Sprintf("stored message %07d ", i)
	return s + strings.Repeat("y", 100-len(s))
}

// messages returns messages [from, to), from the cache when it holds them.
func (c *corpus) messages(from, to int) []storage.StoredMessage {
	c.mu.Lock()
	if to <= len(c.cached) {
		out := c.cached[from:to]
		c.mu.Unlock()
		return out
	}
	c.mu.Unlock()
	out := make([]storage.StoredMessage, to-from)
	workers := runtime.NumCPU()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(out); k += workers {
				out[k] = c.sign(from + k)
			}
		}()
	}
	wg.Wait()
	return out
}

// keep caches messages [from, to) if they extend the cache up to limit.
func (c *corpus) keep(msgs []storage.StoredMessage, from, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from != len(c.cached) || from >= limit {
		return
	}
	c.cached = append(c.cached, msgs[:min(len(msgs), limit-from)]...)
}

func (c *corpus) sign(i int) storage.StoredMessage {
	author := c.authors[i%len(c.authors)]
	m := chat.Message{
		Room:  chat.DefaultRoom,
		Seq:   uint64(i/len(c.authors) + 1),
		Clock: uint64(i + 1),
		Time:  c.base.Add(time.Duration(i) * 50 * time.Millisecond),
		Body:  corpusBody(i),
	}
	m.Sign(author)
	return storage.StoredMessage{Room: m.Room, Author: m.Author, Seq: m.Seq, Clock: m.Clock, Raw: m.Encode()}
}

// fillChunk is how many messages go into one transaction while filling.
const fillChunk = 10_000

// fill writes the first counts[k] messages of the corpus into stores[k],
// signing each message once for all of them, and keeps the first keepN in
// memory for later figures.
func (b *bench) fill(c *corpus, stores []*storage.DB, counts []int, keepN int) error {
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	start := time.Now()
	for from := 0; from < most; from += fillChunk {
		to := min(from+fillChunk, most)
		msgs := c.messages(from, to)
		c.keep(msgs, from, keepN)
		for k, db := range stores {
			if counts[k] <= from {
				continue
			}
			if _, err := db.AddMessages(msgs[:min(to, counts[k])-from]); err != nil {
				return err
			}
		}
		if to%200_000 == 0 {
			b.logf("   %d of %d messages signed and stored (%v)", to, most, time.Since(start).Round(time.Second))
		}
	}
	return nil
}
