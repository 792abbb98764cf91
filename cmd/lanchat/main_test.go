package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	lcrypto "github.com/lanchat/lanchat/crypto"
	"github.com/lanchat/lanchat/internal/webdriver"
)

// lanchatBin is the binary under test, built once by TestMain.
var lanchatBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lanchat-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lanchatBin = filepath.Join(dir, "lanchat")
	code := 1
	if out, err := exec.Command("go", "build", "-o", lanchatBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building lanchat: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	webdriver.CloseShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the built binary in a clean environment: HOME is a temporary
// directory, LANCHAT_KDF=fast, plus env ("K=V").
type cli struct {
	t   *testing.T
	env []string
}

func newCLI(t *testing.T, env ...string) *cli {
	t.Helper()
	// LANCHAT_DISCOVERY_ADDR keeps any command that forgets its discovery
	// flags on loopback: no test may send beacons onto the real network.
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TZ=UTC", envKDF + "=fast",
		envDiscoveryAddr + "=127.255.255.255", envWebAddr + "=127.0.0.1:0"}
	return &cli{t: t, env: append(base, env...)}
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(lanchatBin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("lanchat %v: %v", args, err)
	}
	return r
}

// must runs the command and fails the test unless it exits with want.
func (c *cli) must(want int, args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != want {
		c.t.Fatalf("lanchat %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

var fingerprintLine = regexp.MustCompile(`(?m)^Fingerprint: (\S+)$`)

// initNode runs lanchat init in a new data dir and returns the dir and the
// printed fingerprint.
func (c *cli) initNode(name string, extra ...string) (dir string, fp lcrypto.Fingerprint) {
	c.t.Helper()
	dir = filepath.Join(c.t.TempDir(), "lanchat")
	args := append([]string{"init", "--data-dir", dir, "--name", name}, extra...)
	r := c.must(0, args...)
	m := fingerprintLine.FindStringSubmatch(r.stdout)
	if m == nil {
		c.t.Fatalf("init printed no fingerprint:\n%s", r.stdout)
	}
	fp, err := lcrypto.ParseFingerprint(m[1])
	if err != nil {
		c.t.Fatalf("init printed a bad fingerprint %q: %v", m[1], err)
	}
	return dir, fp
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// passFile writes a passphrase file and returns its path.
func passFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
