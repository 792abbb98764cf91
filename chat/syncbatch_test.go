package chat

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/session"
)

// syncBatches asks the node over link for what follows head in lobby and
// returns the sync-response frame bodies until the one flagged done.
func syncBatches(t *testing.T, link *session.Link, author lcrypto.IdentityKey, head uint64) [][]byte {
	t.Helper()
	req := syncRequest{Room: "lobby", Heads: map[lcrypto.IdentityKey]uint64{author: head}}
	if err := link.Send(frameSyncRequest, req.encode()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out [][]byte
	for {
		f, err := link.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for sync batches: %v", err)
		}
		if f.Type != frameSyncResponse {
			continue // the node's own sync request, live messages
		}
		out = append(out, f.Body)
		resp, err := decodeSyncResponse(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Done {
			return out
		}
	}
}

// checkBatches checks the exact bound of PROTOCOL.md 5.5: a batch body is
// at most syncBatchBytes and syncBatchMessages, and every batch but the last
// is closed only because the next message would break one of them.
func checkBatches(t *testing.T, bodies [][]byte) []int {
	t.Helper()
	counts := make([]int, len(bodies))
	for i, b := range bodies {
		resp, err := decodeSyncResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		counts[i] = len(resp.Msgs)
		if len(b) > syncBatchBytes || len(resp.Msgs) > syncBatchMessages {
			t.Errorf("batch %d: %d bytes, %d messages; want at most %d bytes and %d messages",
				i, len(b), len(resp.Msgs), syncBatchBytes, syncBatchMessages)
		}
		if i == len(bodies)-1 {
			continue
		}
		next, err := decodeSyncResponse(bodies[i+1])
		if err != nil || len(next.Msgs) == 0 {
			t.Fatalf("batch %d is followed by an empty one (%v)", i, err)
		}
		if len(resp.Msgs) < syncBatchMessages && len(b)+2+len(next.Msgs[0]) <= syncBatchBytes {
			t.Errorf("batch %d (%d bytes, %d messages) was closed although the next message (%d bytes) fits",
				i, len(b), len(resp.Msgs), len(next.Msgs[0]))
		}
	}
	return counts
}

// Sync batches never exceed 262144 bytes of frame body or 256 messages,
// and are as full as those bounds allow. 63 messages of 4159 bytes are
// exactly 262143 bytes with their length prefixes: with the 9-byte batch
// header, one too many for a batch.
func TestSyncBatchBound(t *testing.T) {
	c := newCluster(t)
	alice := c.add("alice")
	mallory := newID(t)
	link := c.hostileMember(alice, mallory)
	send := func(from, to uint64, body string) {
		t.Helper()
		for seq := from; seq <= to; seq++ {
			m := Message{Room: "lobby", Seq: seq, Clock: seq, Time: time.UnixMilli(1e12), Body: body}
			m.Sign(mallory)
			if err := link.SendWait(context.Background(), frameChat, m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, fmt.Sprintf("alice to store %d messages", to), func() bool { return len(alice.history(t, "lobby")) == int(to) })
	}

	big := strings.Repeat("x", 4030) // a 4159-byte message in lobby
	if n := len((&Message{Room: "lobby", Body: big}).Encode()); n != 4159 {
		t.Fatalf("message is %d bytes, want 4159", n)
	}
	send(1, 130, big)
	if got := checkBatches(t, syncBatches(t, link, mallory.Public(), 0)); fmt.Sprint(got) != "[62 62 6]" {
		t.Errorf("batches of %v messages, want [62 62 6]", got)
	}

	send(131, 430, "tiny")
	if got := checkBatches(t, syncBatches(t, link, mallory.Public(), 130)); fmt.Sprint(got) != "[256 44]" {
		t.Errorf("batches of %v messages, want [256 44]", got)
	}
}
