package discovery

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// sender is the state of the send loop; only Run's goroutine touches it.
type sender struct {
	s         *Service
	conns     conns
	seq       uint64
	sent      int       // beacons sent so far (for the start burst)
	lastEarly time.Time // last early announcement
	lastErr   time.Time // last send error logged
}

// sendLoop sends the start burst, then a beacon every interval (minus up to
// 10% jitter, so beacons are never further apart than the interval) and
// early beacons on request, until ctx is done.
func (s *Service) sendLoop(ctx context.Context, c conns) *sender {
	snd := &sender{s: s, conns: c}
	snd.send(false)
	next, early := s.now().Add(snd.delay()), false
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return snd
		case <-s.announce:
			if at := snd.earlyAt(s.now()); at.Before(next) {
				next, early = at, true
				timer.Reset(time.Until(next))
			}
			continue
		case <-timer.C:
		}
		now := s.now()
		s.sweep(now)
		snd.send(false)
		if early {
			snd.lastEarly = now
		}
		next, early = now.Add(snd.delay()), false
		timer.Reset(next.Sub(now))
	}
}

// earlyAt is the earliest time an early beacon may go out.
func (snd *sender) earlyAt(now time.Time) time.Time {
	gap := min(earlyGap, snd.s.cfg.Interval/2)
	if at := snd.lastEarly.Add(gap); at.After(now) {
		return at
	}
	return now
}

// delay is the time from one scheduled beacon to the next.
func (snd *sender) delay() time.Duration {
	if snd.sent < burstCount {
		return min(burstSpacing, snd.s.cfg.Interval/2)
	}
	iv := snd.s.cfg.Interval
	return iv - time.Duration(rand.Int64N(int64(iv/10)+1))
}

// sendByes sends the bye beacon a few times, a little apart, so one lost
// datagram does not leave peers waiting for the expiry.
func (s *Service) sendByes(snd *sender) {
	for i := range byeCount {
		if i > 0 {
			time.Sleep(byeSpacing)
		}
		snd.send(true)
	}
}

// send signs one beacon and sends it to every target.
func (snd *sender) send(bye bool) {
	s := snd.s
	snd.sent++
	p, err := snd.beacon(bye).Encode(s.cfg.Identity)
	if err != nil {
		s.cfg.Logf("discovery: encoding beacon: %v", err)
		return
	}
	targets := s.targets()
	if len(targets) == 0 {
		snd.logSendError("discovery: no interface to send beacons on (check --discovery-iface)")
	}
	for _, t := range targets {
		snd.sendTo(p, t)
	}
}

// beacon returns the next beacon of this run.
func (snd *sender) beacon(bye bool) Beacon {
	s := snd.s
	snd.seq++
	b := Beacon{Bye: bye, TCPPort: s.cfg.TCPPort, Interval: s.cfg.Interval.Truncate(time.Millisecond),
		Instance: s.instance, Seq: snd.seq}
	if s.cfg.AnnounceNickname {
		b.Nickname = s.cfg.Nickname
	}
	return b
}

func (snd *sender) sendTo(p []byte, t netip.AddrPort) {
	s := snd.s
	c := snd.conns.v4
	if t.Addr().Is6() {
		c = snd.conns.v6
	}
	if c == nil {
		return
	}
	if _, err := c.WriteToUDPAddrPort(p, t); err != nil {
		s.st.sendErrors.Add(1)
		snd.logSendError(fmt.Sprintf("discovery: sending beacon to %v: %v", t, err))
		return
	}
	s.st.sent.Add(1)
}

// logSendError logs msg unless a send problem was logged in the last ten
// intervals: a vanished interface must not flood the log.
func (snd *sender) logSendError(msg string) {
	if now := snd.s.now(); now.Sub(snd.lastErr) >= snd.s.cfg.Interval*10 {
		snd.lastErr = now
		snd.s.cfg.Logf("%s", msg)
	}
}

// targets lists the destinations of the next beacon, reading the
// interfaces again each time so new and vanished ones are noticed.
func (s *Service) targets() []netip.AddrPort {
	port := uint16(s.cfg.Port)
	if s.pinAddr.IsValid() {
		return targets(nil, "", s.pinAddr, port)
	}
	ifs, err := systemInterfaces()
	if err != nil {
		s.cfg.Logf("discovery: %v", err)
		return nil
	}
	return targets(ifs, s.cfg.Iface, netip.Addr{}, port)
}
