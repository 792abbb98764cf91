package discovery

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadConfig(t *testing.T) {
	good := DefaultConfig()
	good.Identity = testIdentity(t, 1)
	tests := map[string]func(*Config){
		"no identity":             func(c *Config) { c.Identity = nil },
		"port too high":           func(c *Config) { c.Port = 70000 },
		"negative port":           func(c *Config) { c.Port = -1 },
		"interval too short":      func(c *Config) { c.Interval = 10 * time.Millisecond },
		"interval too long":       func(c *Config) { c.Interval = time.Hour },
		"bad address":             func(c *Config) { c.Addr = "lanchat.example" },
		"nickname opt-in, empty":  func(c *Config) { c.AnnounceNickname = true },
		"nickname with escape":    func(c *Config) { c.AnnounceNickname, c.Nickname = true, "\x1b]0;pwned\a" },
		"nickname too long":       func(c *Config) { c.AnnounceNickname, c.Nickname = true, strings.Repeat("é", 40) },
		"negative table size":     func(c *Config) { c.MaxPeers = -1 },
		"negative event capacity": func(c *Config) { c.EventBuffer = -5 },
	}
	for name, mod := range tests {
		cfg := good
		mod(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New err = %v, want ErrConfig", name, err)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatalf("default config refused: %v", err)
	}
}

func TestDefaultConfigIsFreshAndNewDoesNotMutate(t *testing.T) {
	a := DefaultConfig()
	a.Port, a.Interval = 1, time.Minute
	b := DefaultConfig()
	if b.Port != DefaultPort || b.Interval != DefaultInterval || b.Rand == nil || b.AnnounceNickname {
		t.Fatalf("DefaultConfig shares state or has unexpected defaults: %+v", b)
	}
	cfg := Config{Identity: testIdentity(t, 1)} // zero fields get defaults in the copy only
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 0 || cfg.Interval != 0 || cfg.Rand != nil || cfg.Logf != nil {
		t.Fatalf("New modified the caller's config: %+v", cfg)
	}
	if s.cfg.Port != DefaultPort || s.cfg.Interval != DefaultInterval {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
}

// Without the opt-in, beacons carry no nickname even if one is set.
func TestNicknameOnlyWithOptIn(t *testing.T) {
	for _, optIn := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Identity = testIdentity(t, 1)
		cfg.Nickname, cfg.AnnounceNickname = "alice", optIn
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		snd := &sender{s: s}
		p, err := snd.beacon(false).Encode(cfg.Identity)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		if has := b.Nickname == "alice"; has != optIn || strings.Contains(string(p), "alice") != optIn {
			t.Errorf("opt-in %v: beacon nickname %q", optIn, b.Nickname)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestNewRefusesARandomSourceOfZeros(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Identity, cfg.Rand = testIdentity(t, 1), zeroReader{}
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted an all-zero instance id")
	}
}
