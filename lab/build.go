//go:build linux

package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds "go build" of lanchat.
const buildTimeout = 5 * time.Minute

// build is the lanchat binary built for this test process.
var build struct {
	sync.Mutex
	dir  string // temporary directory holding it
	path string
	err  error
}

// EnvBinary names an environment variable: a lanchat binary to run instead
// of building one (e.g. a release build).
const EnvBinary = "LANCHAT_LAB_BIN"

// Lanchat returns the path of the lanchat binary: $LANCHAT_LAB_BIN, else
// one built from this module the first time it is asked for (with -race when
// the tests run with -race, so a data race in a lab node fails the test).
// Main removes the build at the end.
func Lanchat(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	build.Lock()
	defer build.Unlock()
	if build.path == "" && build.err == nil {
		build.path, build.err = buildLanchat()
	}
	if build.err != nil {
		t.Fatalf("lab: building lanchat: %v", build.err)
	}
	return build.path
}

func buildLanchat() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", Prefix+"bin-")
	if err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	build.dir = dir
	out := filepath.Join(dir, "lanchat")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), append(args, "./cmd/lanchat")...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// removeBuild deletes the built binary.
func removeBuild() {
	build.Lock()
	defer build.Unlock()
	if build.dir != "" {
		os.RemoveAll(build.dir)
		build.dir, build.path = "", ""
	}
}

// moduleRoot is the directory of the go.mod that holds this package.
func moduleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := string(bytes.TrimSpace(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the lanchat module")
	}
	return filepath.Dir(mod), nil
}

// goTool is the go command: from PATH, else where the project installs Go.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
