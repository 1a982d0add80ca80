// Package integration runs the kubectl-gitops binary the way users and CI
// run it: built once, first on PATH, with a clean environment and a
// temporary HOME, checking exit codes, stdout and stderr against golden
// files (rewritten with go test ./integration -update).
package integration

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// binDir holds the binary built for this run.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "kubectl-gitops-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-gitops"), "../cmd/kubectl-gitops")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as released
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kubectl-gitops:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs kubectl-gitops in dir with a clean environment: the binary first
// on PATH, a new HOME and cache, nothing else of the caller's.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "kubectl-gitops"), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + binDir + string(os.PathListSeparator) + "/usr/bin:/bin",
		"HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
	}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// golden compares got with testdata/<name>, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./integration -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

// example copies a repository of the bundled example into a new Git
// repository with one commit.
func example(t *testing.T, name string) string {
	t.Helper()
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", gittest.CopyTree(t, filepath.Join("..", "testdata", "examples", "sock-shop", name)))
	return g.Dir
}

// scrub replaces a temporary directory in output with a fixed name.
func scrub(s, dir string) string {
	return strings.ReplaceAll(s, dir, "$REPO")
}
