package chatui

import (
	"io"
	"strings"
	"sync"
)

// LogSwitch is where the node's diagnostics go: to W, until a terminal
// chat shows each line as a notice instead (raw writes would tear its
// screen). Safe for concurrent use.
type LogSwitch struct {
	mu      sync.Mutex
	w       io.Writer
	display func(string) // nil: write to w
	partial []byte
}

// NewLogSwitch writes to w until a terminal chat takes the lines.
func NewLogSwitch(w io.Writer) *LogSwitch { return &LogSwitch{w: w} }

// maxLogLine bounds a diagnostic line kept while waiting for its end.
const maxLogLine = 4096

func (l *LogSwitch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.display == nil {
		return l.w.Write(p)
	}
	l.partial = append(l.partial, p...)
	for {
		line, rest, ok := strings.Cut(string(l.partial), "\n")
		if !ok {
			break
		}
		l.display(line)
		l.partial = []byte(rest)
	}
	if len(l.partial) > maxLogLine {
		l.display(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

// show sends each line to display, or with nil, to W again. display must
// not block.
func (l *LogSwitch) show(display func(string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.display = display
	l.partial = nil
}
