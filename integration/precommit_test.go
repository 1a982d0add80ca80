package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// TestPreCommitHooks runs this repository's .pre-commit-hooks.yaml with the
// real pre-commit (`pre-commit try-repo`, which builds kubectl-gitops with
// the system's Go) against a scratch copy of the bundled example: a clean
// commit passes, a commit breaking a marker fails with the finding.
func TestPreCommitHooks(t *testing.T) {
	preCommit, err := exec.LookPath("pre-commit")
	if err != nil {
		testenv.Missing(t, "pre-commit is not installed: run hack/apt.sh")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	project, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := sockShop(t)
	env := []string{
		"PATH=" + filepath.Dir(goBin) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + t.TempDir(),
		// pre-commit's environments (it builds the hook once per revision)
		// and Go's caches are kept between runs.
		"PRE_COMMIT_HOME=" + filepath.Join(filepath.Dir(testenv.BinDir()), "pre-commit"),
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"),
		"GOCACHE=" + goEnv(t, "GOCACHE"),
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	}
	tryRepo := func(hook string) (int, string) {
		t.Helper()
		cmd := exec.Command(preCommit, "try-repo", project, hook, "--verbose")
		cmd.Dir, cmd.Env = app.Dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	stage := func(file, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(app.Dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		wt, err := app.Git.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(file); err != nil {
			t.Fatal(err)
		}
	}
	overlay := devOverlay + "/kustomization.yaml"
	data, err := os.ReadFile(filepath.Join(app.Dir, overlay))
	if err != nil {
		t.Fatal(err)
	}

	stage(overlay, strings.Replace(string(data), "main-d480788-24", "main-1f49071-25", 1))
	if code, out := tryRepo("gitops-validate"); code != 0 {
		t.Fatalf("a clean change failed the hook (exit %d):\n%s", code, out)
	}

	stage(overlay, strings.Replace(string(data), `"sock-shop:sock-shop-front-end:tag"`, `"sock-shop:sock-shop-frontend:tag"`, 1))
	code, out := tryRepo("gitops-markers")
	if code != 1 || !strings.Contains(out, "marker names ImagePolicy sock-shop/sock-shop-frontend, which is not defined") ||
		!strings.Contains(out, overlay) {
		t.Errorf("a broken marker: exit %d, output:\n%s", code, out)
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
