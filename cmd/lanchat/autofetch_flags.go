package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lanchat/lanchat/control"
	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/spf13/pflag"
)

// autoFetchFlags are the flags of the auto-fetch policy (up and chat).
type autoFetchFlags struct {
	dir  string
	max  string
	from []string
}

// addAutoFetchFlags registers them on fs and returns them.
func addAutoFetchFlags(fs *pflag.FlagSet) *autoFetchFlags {
	f := &autoFetchFlags{}
	fs.StringVar(&f.dir, "auto-fetch", "", "fetch file offers of trusted authors into `DIR` without asking (default: nothing is fetched until you run fetch)")
	fs.StringVar(&f.max, "auto-fetch-max", "64MiB", "with --auto-fetch: only offers up to this `SIZE` (e.g. 500KiB, 10MB, 2GiB)")
	fs.StringArrayVar(&f.from, "auto-fetch-from", nil, "with --auto-fetch: only offers of this `FINGERPRINT` (repeatable; default: every trusted author)")
	return f
}

// apply sets the policy in cfg.
func (f *autoFetchFlags) apply(cfg *control.NodeConfig) error {
	if f.dir == "" {
		if len(f.from) > 0 {
			return usageErrorf("add --auto-fetch DIR", "--auto-fetch-from needs --auto-fetch")
		}
		return nil
	}
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	max, err := parseSize(f.max)
	if err != nil {
		return usageErrorf("e.g. --auto-fetch-max 100MiB", "--auto-fetch-max: %v", err)
	}
	cfg.AutoFetch.Dir, cfg.AutoFetch.MaxBytes = dir, max
	for _, s := range f.from {
		fp, err := lcrypto.ParseFingerprint(s)
		if err != nil {
			return usageErrorf("give a fingerprint from lanchat trusted", "--auto-fetch-from: %v", err)
		}
		cfg.AutoFetch.From = append(cfg.AutoFetch.From, fp)
	}
	return nil
}

// parseSize reads 123, 500KiB, 10MB, 2GiB, 1.5G (K, M, G, T: powers of 1024
// with or without "i"; "KB", "MB", ...: powers of 1000).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GIB": 1 << 30,
		"T": 1 << 40, "TIB": 1 << 40, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s, unit)
	}
	if v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return uint64(v * mult), nil
}
