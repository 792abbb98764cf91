package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"123", 123, true}, {"500KiB", 500 << 10, true}, {"10MB", 10e6, true}, {"2GiB", 2 << 30, true},
		{"1.5G", 3 << 29, true}, {"64mib", 64 << 20, true}, {" 7 k", 7 << 10, true},
		{"", 0, false}, {"ten", 0, false}, {"5XB", 0, false}, {"-1", 0, false}, {"99999999999T", 0, false},
	} {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
