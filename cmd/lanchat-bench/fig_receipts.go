//go:build unix

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lanchat/lanchat/chat"
)

// receiptSizes: the rooms of the receipts figure, 8 and 32 members, each
// measured with messages sent one per pace (a live chat) and back to back
// (a burst), with every member marking each message read as it arrives.
var receiptSizes = []struct {
	nodes, paced, burst int
	pace                time.Duration
}{
	{nodes: 8, paced: 100, burst: 300, pace: 50 * time.Millisecond},
	{nodes: 32, paced: 40, burst: 100, pace: 100 * time.Millisecond},
}

// receiptResult is what one run sent for receipts, per message.
type receiptResult struct {
	storedFrames, storedBytes float64 // stored frames (0x1c) of all members, per message
	readFrames, readBytes     float64 // read frames (0x1d) of all members, per message
	msgFrames, msgBytes       float64 // the message itself: one chat frame to each other member
}

// runReceipts measures the receipts' cost on the wire (PROTOCOL.md 5.11)
// against the bytes of the messages themselves.
func runReceipts(ctx context.Context, b *bench) ([]row, error) {
	b.note("# receipts: in-process nodes on 127.0.0.1, frames and bytes counted by chat.Node.Stats (see cmd/lanchat-bench/fig_receipts.go)")
	var rows []row
	for _, rs := range receiptSizes {
		for _, paced := range []bool{true, false} {
			n := rs.burst
			how := "back to back"
			if paced {
				n, how = rs.paced, fmt.Sprintf("1 per %v", rs.pace)
			}
			if b.opts.quick {
				n = max(n/4, 10)
			}
			r, err := receiptsRun(ctx, b, rs.nodes, n, paced, rs.pace)
			if err != nil {
				return rows, fmt.Errorf("%d nodes: %w", rs.nodes, err)
			}
			name := fmt.Sprintf("receipts, %d members, %d msgs %s, every member reads each", rs.nodes, n, how)
			msg := fmt.Sprintf("the message: %d chat frames", rs.nodes-1)
			rows = append(rows,
				compared(name+": stored frames per message", measure{r.storedFrames, "frames", ""},
					measure{r.msgFrames, "frames", msg}, fmt.Sprintf("≤ %d (no n² acks)", rs.nodes-1),
					func(l, _ float64) bool { return l <= float64(rs.nodes-1) }),
				compared(name+": stored bytes per message", measure{r.storedBytes, "B", ""},
					measure{r.msgBytes, "B", "the message's frames"}, "—", nil),
				compared(name+": read frames per message", measure{r.readFrames, "frames", ""},
					measure{r.msgFrames, "frames", msg}, fmt.Sprintf("≤ %d (no n² markers)", rs.nodes-1),
					func(l, _ float64) bool { return l <= float64(rs.nodes-1) }),
				compared(name+": read bytes per message", measure{r.readBytes, "B", ""},
					measure{r.msgBytes, "B", "the message's frames"}, "—", nil))
		}
	}
	return rows, nil
}

// receiptsRun sends n messages from node 0 in a room of nodes members,
// every other member marking each read as it shows it, and counts the
// receipt frames every node sent until all of them are stored and read.
func receiptsRun(ctx context.Context, b *bench, nodes, n int, paced bool, pace time.Duration) (receiptResult, error) {
	var res receiptResult
	cluster, err := startCluster(ctx, b, fanoutSize{nodes: nodes, burst: n, linkWithin: 90 * time.Second})
	defer func() {
		if err := stopAll(cluster); err != nil {
			b.logf("stopping the cluster: %v", err)
		}
	}()
	if err != nil {
		return res, err
	}
	if err := quietReceipts(ctx, cluster); err != nil {
		return res, err
	}
	before := receiptStats(cluster)
	readers := startReaders(cluster[1:], cluster[0].id.Public().Fingerprint().String())
	defer readers()
	sender := cluster[0].node
	var last *chat.MessageView
	var tick *time.Ticker
	if paced {
		tick = time.NewTicker(pace)
		defer tick.Stop()
	}
	msgBytes := 0
	for i := range n {
		if tick != nil {
			<-tick.C
		}
		v, _, err := sender.Send(ctx, chat.DefaultRoom, fanBody(i))
		if err != nil {
			return res, fmt.Errorf("send %d: %w", i, err)
		}
		last = v
		msgBytes = chatMessageSize(v.Room, v.Body)
	}
	err = waitUntil(ctx, 3*time.Minute, 20*time.Millisecond, "the last message stored and read by every member", func() bool {
		r, err := sender.Receipt(last.Room, cluster[0].id.Public(), last.Seq)
		return err == nil && r.Stored == nodes-1 && r.Read == nodes-1
	})
	if err != nil {
		return res, err
	}
	if err := quietReceipts(ctx, cluster); err != nil {
		return res, err
	}
	after := receiptStats(cluster)
	per := float64(n)
	res.storedFrames = float64(after.storedFrames-before.storedFrames) / per
	res.storedBytes = float64(after.storedBytes-before.storedBytes) / per
	res.readFrames = float64(after.readFrames-before.readFrames) / per
	res.readBytes = float64(after.readBytes-before.readBytes) / per
	res.msgFrames = float64(nodes - 1)
	res.msgBytes = float64((nodes - 1) * (msgBytes + frameOverhead))
	b.logf("   receipts, %d members, %d msgs: %.2f stored + %.2f read frames per message", nodes, n, res.storedFrames, res.readFrames)
	return res, nil
}

// frameOverhead is a frame's cost besides its body (Noise length, type,
// body length, tag; PROTOCOL.md 4).
const frameOverhead = 2 + 1 + 4 + 16

type receiptCount struct{ storedFrames, storedBytes, readFrames, readBytes uint64 }

func receiptStats(nodes []*benchNode) receiptCount {
	var c receiptCount
	for _, n := range nodes {
		st := n.node.Stats()
		c.storedFrames += st.StoredFramesSent
		c.storedBytes += st.StoredBytesSent
		c.readFrames += st.ReadFramesSent
		c.readBytes += st.ReadBytesSent
	}
	return c
}

// quietReceipts waits until no node sent a receipt frame for a while
// (what the cluster's start set off is over).
func quietReceipts(ctx context.Context, nodes []*benchNode) error {
	prev, quietSince := receiptStats(nodes), time.Now()
	return waitUntil(ctx, time.Minute, 100*time.Millisecond, "receipts to settle", func() bool {
		cur := receiptStats(nodes)
		if cur != prev {
			prev, quietSince = cur, time.Now()
		}
		return time.Since(quietSince) >= time.Second
	})
}

// startReaders makes every receiver mark each message of author read as
// it arrives, as a chat window on the room would; the returned function
// stops them.
func startReaders(receivers []*benchNode, author string) func() {
	done := make(chan struct{})
	var stops []func()
	finished := make(chan struct{}, len(receivers))
	for _, r := range receivers {
		events, stop := r.node.Subscribe()
		stops = append(stops, stop)
		go func(node *chat.Node) {
			defer func() { finished <- struct{}{} }()
			for {
				select {
				case ev, ok := <-events:
					if !ok {
						return
					}
					if ev.Kind == chat.EventMessage && ev.Message.Author == author {
						_, _ = node.MarkRead(ev.Message.Room, ev.Message.ID)
					}
				case <-done:
					return
				}
			}
		}(r.node)
	}
	return func() {
		close(done)
		for _, s := range stops {
			s()
		}
		for range receivers {
			<-finished
		}
	}
}
