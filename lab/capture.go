//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Capture limits.
const (
	maxFrame        = 1 << 17  // large enough for a GSO segment on a veth
	maxCaptureBytes = 64 << 20 // frames beyond this are counted, not kept
	captureRcvBuf   = 16 << 20 // socket buffer: no frame is dropped under a test's load
)

// A Capture records every frame that passes the lab's switch, as tcpdump on
// the bridges would, through an AF_PACKET socket opened in the switch
// namespace. Each frame is kept once, as it enters the switch.
type Capture struct {
	lab  *Lab
	f    *os.File
	done chan struct{}

	stopOnce sync.Once
	stopErr  error

	mu      sync.Mutex
	frames  []Frame
	kept    int
	dropped int
	err     error
}

// A Frame is one captured Ethernet frame.
type Frame struct {
	Port  string // the switch port it came in on: Iface.Port of the sender, or a bridge
	Data  []byte // the frame, Ethernet header first
	index int
}

// Capture starts recording the frames through the switch (all bridges),
// until Stop or the end of the test.
func (l *Lab) Capture() (*Capture, error) {
	var fd int
	err := inNetns(l.sw, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: capture socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureRcvBuf); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lab: capture buffer: %w", err)
	}
	c := &Capture{lab: l, f: os.NewFile(uintptr(fd), "capture"), done: make(chan struct{})}
	go c.loop()
	l.t.Cleanup(func() { _ = c.Stop() })
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// loop reads frames until Stop's read deadline, then reads what is still
// queued (a read past the deadline fails before it looks at the socket).
func (c *Capture) loop() {
	defer close(c.done)
	rc, err := c.f.SyscallConn()
	if err != nil {
		c.setErr(err)
		return
	}
	buf := make([]byte, maxFrame)
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err != nil { // Stop's deadline
			c.drain(rc, buf)
			return
		}
		if rerr != nil {
			c.setErr(rerr)
			return
		}
		c.record(from, buf[:n])
	}
}

// drain records every frame still queued on the socket.
func (c *Capture) drain(rc syscall.RawConn, buf []byte) {
	err := rc.Control(func(fd uintptr) {
		for {
			n, from, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if err != nil {
				if !errors.Is(err, unix.EAGAIN) {
					c.setErr(err)
				}
				return
			}
			c.record(from, buf[:n])
		}
	})
	if err != nil {
		c.setErr(err)
	}
}

// record keeps a frame as it came into the switch: a frame going out of a
// port is the same frame seen coming in on another.
func (c *Capture) record(from unix.Sockaddr, frame []byte) {
	ll, ok := from.(*unix.SockaddrLinklayer)
	if !ok || ll.Pkttype == unix.PACKET_OUTGOING {
		return
	}
	c.keep(ll.Ifindex, frame)
}

func (c *Capture) keep(index int, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept+len(frame) > maxCaptureBytes {
		c.dropped++
		return
	}
	c.frames = append(c.frames, Frame{Data: bytes.Clone(frame), index: index})
	c.kept += len(frame)
}

func (c *Capture) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = fmt.Errorf("lab: capture: %w", err)
}

// Stop ends the capture once every frame already queued is read, names the
// port of each frame, and returns an error if any frame was lost (so that a
// check over the frames cannot pass on an incomplete capture). Read the
// frames after Stop. Stop may be called more than once.
func (c *Capture) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Capture) stop() error {
	if err := c.f.SetReadDeadline(time.Now()); err != nil {
		c.f.Close()
		return fmt.Errorf("lab: capture: %w", err)
	}
	<-c.done
	lost, serr := c.kernelDrops()
	c.f.Close()
	names, nerr := c.lab.switchPorts()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.frames {
		c.frames[i].Port = names[c.frames[i].index]
	}
	if c.dropped > 0 {
		return fmt.Errorf("lab: capture: %d frames over the %d-byte cap were not kept", c.dropped, maxCaptureBytes)
	}
	if lost > 0 {
		return fmt.Errorf("lab: capture: the kernel dropped %d frames", lost)
	}
	return errors.Join(c.err, serr, nerr)
}

// kernelDrops returns how many frames the socket lost for want of buffer.
func (c *Capture) kernelDrops() (uint32, error) {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var st *unix.TpacketStats
	var serr error
	if err := rc.Control(func(fd uintptr) {
		st, serr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, fmt.Errorf("lab: capture statistics: %w", serr)
	}
	return st.Drops, nil
}

// Frames returns the frames recorded, in arrival order.
func (c *Capture) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}

// Count returns how many recorded frames match.
func (c *Capture) Count(match func(Frame) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		if match(f) {
			n++
		}
	}
	return n
}

// Contains reports whether any recorded frame contains needle.
func (c *Capture) Contains(needle []byte) bool {
	return c.Count(func(f Frame) bool { return bytes.Contains(f.Data, needle) }) > 0
}

// switchPorts maps the interface indexes of the switch namespace to names.
func (l *Lab) switchPorts() (map[int]string, error) {
	names := map[int]string{}
	err := inNetns(l.sw, func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names[i.Index] = i.Name
		}
		return err
	})
	return names, err
}
