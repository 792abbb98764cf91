//go:build unix

package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
)

// roomNames returns n room names, lobby first.
func roomNames(n int) []string {
	rooms := []string{chat.DefaultRoom}
	for i := 1; len(rooms) < n; i++ {
		rooms = append(rooms, fmt.Sprintf("room-%04d", i))
	}
	return rooms
}

// runRooms: one node in 1,000 rooms (issue 19; chat.MaxRooms is 1,024,
// the hello names 64 and the rest go in rooms-more frames, PROTOCOL.md
// 5.15). In process: time to join the rooms one by one; time from link up until
// a peer's missed message in every room is stored, with the bytes and
// Noise messages (≈ frames) both ways. The real binary (`lanchat chat`) in
// those rooms with roomLinks idle links: CPU seconds over an idle window,
// and RSS against the target.
func runRooms(ctx context.Context, b *bench) ([]row, error) {
	rooms := roomNames(min(1000, chat.MaxRooms))
	join, err := b.roomsJoin(ctx, rooms)
	if err != nil {
		return nil, fmt.Errorf("joining: %w", err)
	}
	synced, err := b.roomsSync(ctx, rooms)
	if err != nil {
		return nil, fmt.Errorf("sync on link-up: %w", err)
	}
	idle, err := b.roomsIdle(ctx, rooms)
	if err != nil {
		return nil, fmt.Errorf("idle node: %w", err)
	}
	res, err := b.runGoBench(ctx, "./chat/", "^BenchmarkManyRoomsLinkMemory$", "1x", "")
	if err != nil {
		return nil, err
	}
	perRoom, err := metric(res, "BenchmarkManyRoomsLinkMemory", "B/link-end-room")
	if err != nil {
		return nil, err
	}
	n := len(rooms)
	what := fmt.Sprintf("%d rooms", n)
	rss := float64(idle.rss) * 1024
	return []row{
		alone(fmt.Sprintf("rooms: join %s one by one, in process", what), measure{ms(join), "ms", ""}, "—", nil),
		alone(fmt.Sprintf("rooms: link up → a missed message of each of %d rooms stored", n), measure{ms(synced.took), "ms", ""}, "—", nil),
		alone(fmt.Sprintf("rooms: that sync's bytes on the wire, both ways (handshake included; %d Noise messages ≈ frames)", synced.msgs),
			measure{float64(synced.bytes), "B", ""}, "—", nil),
		alone("rooms: in process, what an idle link end holds per room it shares (8 links, 1,000 shared rooms; heap + stacks)",
			measure{perRoom, "B", ""}, "—", nil),
		alone(fmt.Sprintf("rooms: lanchat rooms --json in %d rooms, no node running, whole process", n), measure{ms(idle.list), "ms", ""}, "—", nil),
		alone(fmt.Sprintf("rooms: lanchat chat in %d rooms with %d idle links, CPU over %v idle", n, idle.links, b.size.roomsIdle),
			measure{idle.cpu.Seconds(), "s", ""}, "≈ 0", nil),
		alone(fmt.Sprintf("rooms: RSS of lanchat chat in %d rooms with %d idle links (peak %s MiB)", n, idle.links, sig3(float64(idle.hwm)/1024)),
			measure{float64(idle.rss) / 1024, "MiB", ""}, "≤ 32 MB with 1,000 rooms", func(float64, float64) bool { return rss <= 32e6 && n >= 1000 }),
	}, nil
}

// roomsJoin times Join of every room but the first on a fresh node (each
// join is stored: the rooms are remembered across restarts).
func (b *bench) roomsJoin(ctx context.Context, rooms []string) (time.Duration, error) {
	dir, err := b.dir("rooms-join")
	if err != nil {
		return 0, err
	}
	id, err := newIdentity()
	if err != nil {
		return 0, err
	}
	store, err := openStore(dir, "joiner")
	if err != nil {
		return 0, err
	}
	cfg := loopbackConfig(id, store, 0, 1)
	cfg.Rooms = rooms[:1]
	bn, err := startNode(ctx, cfg)
	if err != nil {
		store.Close()
		return 0, err
	}
	defer bn.stop()
	start := time.Now()
	for _, r := range rooms[1:] {
		if _, err := bn.node.Join(r); err != nil {
			return 0, fmt.Errorf("join %s: %w", r, err)
		}
	}
	return time.Since(start), nil
}

type roomsSyncResult struct {
	took        time.Duration
	bytes, msgs int64
}

// roomsSync: holder has one message in each room that fresh lacks; fresh
// dials holder through a counting proxy; the time runs from fresh's
// peer_up to its last missed message stored.
func (b *bench) roomsSync(ctx context.Context, rooms []string) (roomsSyncResult, error) {
	dir, err := b.dir("rooms-sync")
	if err != nil {
		return roomsSyncResult{}, err
	}
	ids, err := newIdentities(2)
	if err != nil {
		return roomsSyncResult{}, err
	}
	holderStore, err := openStore(dir, "holder", ids[1].Public())
	if err != nil {
		return roomsSyncResult{}, err
	}
	cfg := loopbackConfig(ids[0], holderStore, 0, 1)
	cfg.Rooms = rooms
	holder, err := startNode(ctx, cfg)
	if err != nil {
		holderStore.Close()
		return roomsSyncResult{}, err
	}
	defer holder.stop()
	for _, r := range rooms {
		if _, _, err := holder.node.Send(ctx, r, "missed in "+r); err != nil {
			return roomsSyncResult{}, err
		}
	}
	proxy, err := newCountingProxy(holder.addr)
	if err != nil {
		return roomsSyncResult{}, err
	}
	defer proxy.close()
	freshStore, err := openStore(dir, "fresh", ids[0].Public())
	if err != nil {
		return roomsSyncResult{}, err
	}
	cfg = loopbackConfig(ids[1], freshStore, 0, 1)
	cfg.Rooms = rooms
	cfg.StaticPeers = []string{proxy.addr()}
	fresh, err := startNode(ctx, cfg)
	if err != nil {
		freshStore.Close()
		return roomsSyncResult{}, err
	}
	defer fresh.stop()
	if _, err := fresh.waitEvent(ctx, 30*time.Second, "link up", peerEvent(chat.EventPeerUp, ids[0].Public())); err != nil {
		return roomsSyncResult{}, err
	}
	start := time.Now()
	got := map[string]bool{}
	_, err = fresh.waitEvent(ctx, 60*time.Second, "every room's missed message", func(ev chat.Event) bool {
		if ev.Kind == chat.EventMessage && ev.Message != nil {
			got[ev.Room] = true
		}
		return len(got) == len(rooms)
	})
	if err != nil {
		return roomsSyncResult{}, err
	}
	took := time.Since(start)
	return roomsSyncResult{took: took, bytes: proxy.bytes.Load(), msgs: proxy.msgs.Load()}, nil
}

type roomsIdleResult struct {
	links    int
	rss, hwm int // KiB
	cpu      time.Duration
	list     time.Duration // `lanchat rooms --json` with no node running
}

// roomsIdle runs the real binary in rooms with roomLinks peers (in-process
// nodes in the same rooms) and reads its CPU time over an idle window and
// its RSS.
func (b *bench) roomsIdle(ctx context.Context, rooms []string) (roomsIdleResult, error) {
	links := b.size.roomLinks
	id, err := newIdentity()
	if err != nil {
		return roomsIdleResult{}, err
	}
	peers, err := startPeers(ctx, b, id.Public(), links, rooms)
	defer func() {
		if err := stopAll(peers); err != nil {
			b.logf("stopping the peers: %v", err)
		}
	}()
	if err != nil {
		return roomsIdleResult{}, err
	}
	home, err := b.dir("rooms-idle")
	if err != nil {
		return roomsIdleResult{}, err
	}
	var keys []lcrypto.IdentityKey
	for _, p := range peers {
		keys = append(keys, p.id.Public())
	}
	db, err := makeDataDir(home, id, keys...)
	if err != nil {
		return roomsIdleResult{}, err
	}
	err = db.SetJoinedRooms(rooms)
	if err := errors.Join(err, db.Close()); err != nil {
		return roomsIdleResult{}, err
	}
	list, err := b.roomsList(ctx, home, len(rooms))
	if err != nil {
		return roomsIdleResult{}, err
	}
	b.note(fmt.Sprintf("lanchat chat ... --peer ADDR (x%d), in %d rooms   # CPU from /proc/PID/stat over %v idle, then VmRSS", links, len(rooms), b.size.roomsIdle))
	rss, hwm, cpu, err := b.childRSS(ctx, home, peers, id, b.size.roomsIdle)
	if err != nil {
		return roomsIdleResult{}, err
	}
	return roomsIdleResult{links: links, rss: rss, hwm: hwm, cpu: cpu, list: list}, nil
}

// roomsList times `lanchat rooms --json` on home (no node running: it
// reads the file) and checks that it lists every room.
func (b *bench) roomsList(ctx context.Context, home string, rooms int) (time.Duration, error) {
	b.note(fmt.Sprintf("LANCHAT_HOME=DIR lanchat rooms --json   # DIR in %d rooms, no node running", rooms))
	cmd := exec.CommandContext(ctx, b.binary, "rooms", "--json")
	cmd.Env = childEnv(home)
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("lanchat rooms: %w", err)
	}
	var listed []json.RawMessage
	if err := json.Unmarshal(out, &listed); err != nil || len(listed) != rooms {
		return 0, fmt.Errorf("lanchat rooms listed %d rooms of %d (%v)", len(listed), rooms, err)
	}
	return took, nil
}

// procCPU is a process's CPU time, user and system, from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("process %d: malformed /proc stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: /proc stat: %w", pid, err)
		}
		ticks += v
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// countingProxy forwards TCP connections to a target and counts the bytes
// and the 2-byte-length-prefixed Noise messages going either way.
type countingProxy struct {
	ln         net.Listener
	target     string
	bytes      atomic.Int64
	msgs       atomic.Int64
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      []net.Conn
	closedOnce sync.Once
}

func newCountingProxy(target string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &countingProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

func (p *countingProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		t, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, t)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(t, c)
		go p.pipe(c, t)
	}
}

// pipe copies src to dst, counting, until either fails.
func (p *countingProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		n := int64(binary.BigEndian.Uint16(hdr[:]))
		if _, err := dst.Write(hdr[:]); err != nil {
			return
		}
		if _, err := io.CopyN(dst, src, n); err != nil {
			return
		}
		p.bytes.Add(2 + n)
		p.msgs.Add(1)
	}
}

func (p *countingProxy) close() {
	p.closedOnce.Do(func() {
		p.ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}
