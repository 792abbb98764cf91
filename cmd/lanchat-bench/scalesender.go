//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lanchat/lanchat/chat"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/storage"
)

// childScaleSender runs the scale figure's sender: a chat node in a process
// of its own, so that its CPU time is its own (getrusage). It is driven by
// lines on stdin and answers one line each on stdout.
const childScaleSender = "scale-sender"

// envSenderProfile, when set, makes the sender write a CPU profile of
// itself to that file (the driver's -cpuprofile does not see the child).
const envSenderProfile = "LANCHAT_BENCH_SENDER_CPUPROFILE"

// The sender's commands (one line each, one answer line each):
//
//	relay N      SetRelay with FloodUpTo N (negative: flood) → "ok"
//	send I       send fanBody(I) to the default room → "ok"
//	stats        → "stats CPU_NS CHAT_FRAMES CHAT_BYTES LINK_FRAMES"
//	(end of input) stop the node and exit

// scaleSenderMain: args are the store's path, the identity secret's path
// and the room size (for the accept limits).
func scaleSenderMain(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 3 {
		return errors.New("usage: STORE SECRET NODES")
	}
	secret, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	id, err := lcrypto.IdentityFromSecret(secret)
	if err != nil {
		return err
	}
	nodes, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	if path := os.Getenv(envSenderProfile); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	store, err := storage.Open(args[0], storage.DefaultOptions())
	if err != nil {
		return err
	}
	cfg := loopbackConfig(id, store, 0, nodes)
	ctx := context.Background()
	bn, err := startNode(ctx, cfg)
	if err != nil {
		store.Close()
		return err
	}
	defer bn.stop()
	out := bufio.NewWriter(stdout)
	say := func(format string, a ...any) {
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
	}
	say("addr %s", bn.addr)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "relay":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return err
			}
			r := chat.DefaultRelayConfig()
			r.FloodUpTo = n
			bn.node.SetRelay(r)
			say("ok")
		case "send":
			i, err := strconv.Atoi(arg)
			if err != nil {
				return err
			}
			if _, _, err := bn.node.Send(ctx, chat.DefaultRoom, fanBody(i)); err != nil {
				return err
			}
			say("ok")
		case "stats":
			st := bn.node.Stats()
			say("stats %d %d %d %d", cpuTime(), st.ChatFramesSent, st.ChatBytesSent, st.LinkFramesSent)
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return sc.Err()
}

// scaleSender is the driver's handle on a running sender child.
type scaleSender struct {
	key   lcrypto.IdentityKey
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	done  chan error
}

// startScaleSender writes id's secret next to the store at storePath
// (closed) and starts the sender on them.
func startScaleSender(dir, storePath string, id *lcrypto.Identity, nodes int) (*scaleSender, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the bench binary: %w", err)
	}
	secretPath := storePath + ".secret"
	if err := os.WriteFile(secretPath, id.MarshalSecret(), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(self, storePath, secretPath, strconv.Itoa(nodes))
	cmd.Env = append(os.Environ(), envChild+"="+childScaleSender)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sender: %w", err)
	}
	s := &scaleSender{key: id.Public(), cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), done: make(chan error, 1)}
	line, err := s.read()
	if err != nil {
		s.stop()
		return nil, err
	}
	addr, ok := strings.CutPrefix(line, "addr ")
	if !ok {
		s.stop()
		return nil, fmt.Errorf("the sender said %q, want its address", line)
	}
	s.addr = addr
	return s, nil
}

func (s *scaleSender) read() (string, error) {
	if !s.out.Scan() {
		if err := s.out.Err(); err != nil {
			return "", fmt.Errorf("reading the sender: %w", err)
		}
		return "", errors.New("the sender exited")
	}
	return s.out.Text(), nil
}

// do sends one command and returns the answer line.
func (s *scaleSender) do(format string, a ...any) (string, error) {
	if _, err := fmt.Fprintf(s.stdin, format+"\n", a...); err != nil {
		return "", fmt.Errorf("to the sender: %w", err)
	}
	return s.read()
}

func (s *scaleSender) must(format string, a ...any) error {
	line, err := s.do(format, a...)
	if err == nil && line != "ok" {
		err = fmt.Errorf("the sender answered %q to %q", line, fmt.Sprintf(format, a...))
	}
	return err
}

// senderStats is what the sender counted so far.
type senderStats struct {
	cpu                               time.Duration
	chatFrames, chatBytes, linkFrames uint64
}

func (s *scaleSender) stats() (senderStats, error) {
	line, err := s.do("stats")
	if err != nil {
		return senderStats{}, err
	}
	var st senderStats
	var cpu int64
	if _, err := fmt.Sscanf(line, "stats %d %d %d %d", &cpu, &st.chatFrames, &st.chatBytes, &st.linkFrames); err != nil {
		return st, fmt.Errorf("the sender's stats %q: %w", line, err)
	}
	st.cpu = time.Duration(cpu)
	return st, nil
}

// stop ends the input (the sender stops its node and exits) and waits for
// it; one that does not exit within 30 s is killed.
func (s *scaleSender) stop() error {
	s.stdin.Close()
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		<-s.done
		return errors.New("the sender did not exit within 30 s")
	}
}
