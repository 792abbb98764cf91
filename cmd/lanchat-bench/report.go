//go:build unix

package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// measure is one number of the table.
type measure struct {
	v    float64
	unit string // "msgs/s", "ms", "s", "MB/s", "KiB", "MB", "hs/s"
	what string // for a baseline: what was measured
}

func (m measure) String() string {
	s := formatValue(m.v, m.unit)
	if m.what != "" {
		s += " (" + m.what + ")"
	}
	return s
}

// row is one line of the table. The ratio is always lanchat ÷ baseline in
// the row's unit: above 1 is faster for a rate, slower for a time.
type row struct {
	figure   string
	lanchat  string
	baseline string
	ratio    string
	target   string
	met      string
}

// check says whether a figure meets its target, from the lanchat value and
// the baseline value (0 when there is none).
type check func(lanchat, baseline float64) bool

// compared is a row with a baseline.
func compared(figure string, l, b measure, target string, ok check) row {
	r := row{figure: figure, lanchat: l.String(), baseline: b.String(), target: target, met: "—"}
	if b.v > 0 {
		r.ratio = sig3(l.v/b.v) + "×"
	}
	if ok != nil {
		r.met = yesNo(ok(l.v, b.v))
	}
	return r
}

// alone is a row without a baseline.
func alone(figure string, l measure, target string, ok check) row {
	r := row{figure: figure, lanchat: l.String(), baseline: "—", ratio: "—", target: target, met: "—"}
	if ok != nil {
		r.met = yesNo(ok(l.v, 0))
	}
	return r
}

func failedRow(figure string, err error) row {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return row{figure: figure, lanchat: "failed: " + msg, baseline: "—", ratio: "—", target: "—", met: "—"}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func (r row) cells() []string {
	return []string{r.figure, r.lanchat, r.baseline, r.ratio, r.target, r.met}
}

func (r row) oneLine() string {
	return fmt.Sprintf("%s: %s | baseline %s | %s | target %s: %s", r.figure, r.lanchat, r.baseline, r.ratio, r.target, r.met)
}

var tableHeader = []string{"figure", "lanchat", "baseline (same run)", "ratio", "target", "met?"}

// textTable lays the rows out in aligned columns for a terminal.
func textTable(rows []row) string {
	all := [][]string{tableHeader}
	for _, r := range rows {
		all = append(all, r.cells())
	}
	width := make([]int, len(tableHeader))
	for _, cells := range all {
		for i, c := range cells {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var sb strings.Builder
	for n, cells := range all {
		for i, c := range cells {
			sb.WriteString(c)
			if i < len(cells)-1 {
				sb.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		sb.WriteString("\n")
		if n == 0 {
			for i := range width {
				sb.WriteString(strings.Repeat("-", width[i]))
				if i < len(width)-1 {
					sb.WriteString("  ")
				}
			}
			sb.WriteString("\n")
		}
	}
	return strings.ReplaceAll(sb.String(), "**", "")
}

// markdownTable is the table for BENCHMARKS.md.
func markdownTable(rows []row) string {
	var sb strings.Builder
	sb.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	sb.WriteString(strings.Repeat("| --- ", len(tableHeader)) + "|\n")
	for _, r := range rows {
		cells := r.cells()
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		sb.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return sb.String()
}

// formatValue prints v in unit with as many digits as a reader needs.
func formatValue(v float64, unit string) string {
	switch unit {
	case "ms", "s", "µs":
		return fmt.Sprintf("%s %s", sig3(v), unit)
	case "MB/s", "MB", "KiB", "MiB", "frames", "B", "×", "allocs/frame":
		return fmt.Sprintf("%s %s", sig3(v), unit)
	}
	return fmt.Sprintf("%s %s", thousands(v), unit)
}

// sig3 prints v with three significant digits (no exponent).
func sig3(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	digits := 2 - int(math.Floor(math.Log10(math.Abs(v))))
	if digits < 0 {
		return thousands(v)
	}
	return fmt.Sprintf("%.*f", digits, v)
}

// thousands prints v rounded, with commas between groups of three digits.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var sb strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			sb.WriteByte(',')
		}
		sb.WriteRune(c)
	}
	if neg {
		return "-" + sb.String()
	}
	return sb.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
