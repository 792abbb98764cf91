//go:build linux

package lab

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// live holds the labs not yet closed, for the signal handler.
var live struct {
	sync.Mutex
	labs map[*Lab]struct{}
}

func register(l *Lab) {
	live.Lock()
	defer live.Unlock()
	if live.labs == nil {
		live.labs = map[*Lab]struct{}{}
	}
	live.labs[l] = struct{}{}
}

func unregister(l *Lab) {
	live.Lock()
	defer live.Unlock()
	delete(live.labs, l)
}

// closeAll closes every live lab (on a signal).
func closeAll() {
	live.Lock()
	labs := make([]*Lab, 0, len(live.labs))
	for l := range live.labs {
		labs = append(labs, l)
	}
	live.Unlock()
	for _, l := range labs {
		if err := l.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// Main runs the tests of a package that uses labs: it deletes leftovers of
// killed earlier runs, builds lanchat once (see Lanchat), tears the labs
// down if the tests are interrupted by SIGINT or SIGTERM, and returns the
// exit code for os.Exit.
func Main(m *testing.M) int {
	if Available() == nil {
		if gone, err := SweepLeftovers(); err != nil || len(gone) > 0 {
			fmt.Fprintf(os.Stderr, "lab: deleted leftover namespaces of dead runs %v (errors: %v)\n", gone, err)
		}
	}
	stop := onSignal()
	code := m.Run()
	stop()
	removeBuild()
	return code
}

// onSignal closes every lab on SIGINT or SIGTERM and exits; the returned
// function stops watching and waits for the watcher to end.
func onSignal() (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "lab: %v: deleting the lab namespaces\n", sig)
			closeAll()
			removeBuild()
			os.Exit(2)
		case <-quit:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(quit)
		<-done
	}
}
