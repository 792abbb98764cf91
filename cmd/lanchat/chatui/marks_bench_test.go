package chatui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lanchat/lanchat/control"
)

// countWriter counts the bytes written to the terminal.
type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// markBench is a terminal interpreter on a real node, with watched own
// lines on screen.
func markBench(b *testing.B, lines int) (*interp, *terminal, *countWriter) {
	tn := startNode(b, "alice", newIdentity(b), freeUDPPort(b), nil)
	out := &countWriter{}
	term := newTerminal(out, 120, lines+10, false)
	s := &interp{api: tn.api, mode: Terminal, r: term, now: time.Now}
	ctx := context.Background()
	if err := s.start(ctx, nil); err != nil {
		b.Fatal(err)
	}
	for i := range lines {
		res, err := tn.api.Send(ctx, control.SendParams{Room: "lobby", Body: fmt.Sprintf("message %d of the benchmark", i)})
		if err != nil {
			b.Fatal(err)
		}
		s.showMessage(ctx, res.Message, false)
	}
	if n := len(s.marks.rooms["lobby"]); n != lines {
		b.Fatalf("%d lines watched, want %d", n, lines)
	}
	return s, term, out
}

// BenchmarkMarkRefresh64 is one refresh of 64 own lines' marks after a
// receipt event in their room: 64 receipt lookups in the node, nothing
// changed to rewrite.
func BenchmarkMarkRefresh64(b *testing.B) {
	s, _, _ := markBench(b, 64)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		s.marks.dirty["lobby"] = true
		s.refreshMarks(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/refresh")
}

// BenchmarkMarkRewrite64 rewrites 64 marks in place (each changed), and
// BenchmarkShowOwnLine prints one own line: the terminal bytes of each.
func BenchmarkMarkRewrite64(b *testing.B) {
	s, term, out := markBench(b, 64)
	states := []markState{{members: 1, stored: 1}, {members: 1, stored: 1, read: 1}}
	ch := make([][]markChange, 2)
	for i, st := range states {
		for _, seq := range s.marks.rooms["lobby"] {
			ch[i] = append(ch[i], markChange{key: ownKey{"lobby", seq}, state: st})
		}
	}
	out.n = 0
	b.ResetTimer()
	for i := range b.N {
		term.marksChanged(ch[i%2])
	}
	b.ReportMetric(float64(out.n)/float64(b.N)/64, "B/mark")
}

func BenchmarkShowOwnLine(b *testing.B) {
	s, term, out := markBench(b, 1)
	v := &control.MessageView{Room: "lobby", Seq: 1, Own: true, Nick: "alice", AuthorShort: "K7QF3MX", Author: s.self.Fingerprint,
		Time: time.Now(), Body: "message 0 of the benchmark", Trusted: true, Conversation: control.KindRoom}
	l := messageLine(v, false, false, false)
	l.own = &ownRef{key: ownKey{"lobby", 1}}
	out.n = 0
	b.ResetTimer()
	for range b.N {
		term.show(l)
	}
	b.ReportMetric(float64(out.n)/float64(b.N), "B/line")
}
