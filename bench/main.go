// Command bench times kubectl gitops against its peer tools on the same
// generated repository in the same run, and prints the figures, the ratios
// and whether each target of the project's issues is met.
//
//	go run ./bench [-copies 100] [-kustomize PATH] [-gitops PATH]
//
// `make bench` builds the peers with hack/tools.sh and runs this.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
)

func main() {
	copies := flag.Int("copies", 100, "copies of the sock-shop application in the generated repository (3 roots each)")
	kustomize := flag.String("kustomize", "", "the kustomize CLI (default: built by hack/tools.sh)")
	gitops := flag.String("gitops", "", "the kubectl-gitops binary (default: built from this checkout)")
	runs := flag.Int("runs", 5, "runs of each timed kubectl gitops command; the median is reported")
	flag.Parse()
	b := &bench{copies: *copies, runs: *runs, out: os.Stdout}
	if err := b.run(context.Background(), *kustomize, *gitops); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if b.missed > 0 {
		os.Exit(1)
	}
}

type bench struct {
	copies, runs int
	out          io.Writer
	work         string
	missed       int
}

func (b *bench) run(ctx context.Context, kustomize, gitops string) error {
	work, err := os.MkdirTemp("", "gitops-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.work = work
	if gitops == "" {
		gitops = filepath.Join(work, "kubectl-gitops")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", gitops, "./cmd/kubectl-gitops").CombinedOutput(); err != nil {
			return fmt.Errorf("building kubectl-gitops: %v\n%s", err, out)
		}
	}
	if kustomize == "" {
		out, err := exec.CommandContext(ctx, "hack/tools.sh", "--path", "kustomize").Output()
		if err != nil {
			return fmt.Errorf("building kustomize with hack/tools.sh: %w", err)
		}
		kustomize = string(out[:len(out)-1])
	}
	repoDir := filepath.Join(work, "repo")
	if err := b.corpus(repoDir); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "corpus: %d copies of sock-shop, %d render roots, in %s\n\n", b.copies, benchgen.Roots(b.copies), repoDir)
	return b.render(ctx, repoDir, kustomize, gitops)
}

// corpus writes the generated repository and commits it.
func (b *bench) corpus(dir string) error {
	demo, err := os.ReadFile("testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := benchgen.Write(dir, demo, benchgen.Options{Copies: b.copies}); err != nil {
		return err
	}
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return err
	}
	wt, err := r.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	sig := &object.Signature{Name: "bench", Email: "bench@example.com", When: time.Unix(0, 0)}
	if _, err = wt.Commit("corpus", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return err
	}
	// Packed, as a clone is: commits are read from a packfile, not from
	// thousands of loose objects.
	return r.RepackObjects(&git.RepackConfig{})
}

// render times `kustomize build` of every root, one after the other, and
// `kubectl gitops render --all` cold (empty cache) and warm.
func (b *bench) render(ctx context.Context, dir, kustomize, gitops string) error {
	var roots []string
	for i := 0; i < b.copies; i++ {
		for _, env := range benchgen.Envs() {
			roots = append(roots, filepath.Join(dir, "apps", fmt.Sprintf("app-%03d", i), "overlays", env))
		}
	}
	start := time.Now()
	for _, root := range roots {
		if _, err := b.exec(ctx, dir, nil, kustomize, "build", root); err != nil {
			return err
		}
	}
	serial := time.Since(start)

	var cold, warm []time.Duration
	var peak int64
	for i := 0; i < b.runs; i++ {
		env := []string{"GITOPS_CACHE_DIR=" + filepath.Join(b.work, fmt.Sprintf("cache-%d", i))}
		m, err := b.exec(ctx, dir, env, gitops, "render", "--all")
		if err != nil {
			return err
		}
		cold = append(cold, m.wall)
		peak = max(peak, m.maxRSS)
		m, err = b.exec(ctx, dir, env, gitops, "render", "--all")
		if err != nil {
			return err
		}
		warm = append(warm, m.wall)
	}
	c, w := median(cold), median(warm)
	fmt.Fprintf(b.out, "render (%d roots)\n", len(roots))
	fmt.Fprintf(b.out, "  %-52s %9s\n", "kustomize build of every root, serially", secs(serial))
	b.check(fmt.Sprintf("kubectl gitops render --all, cold (median of %d)", b.runs), secs(c),
		fmt.Sprintf("%.1fx faster", serial.Seconds()/c.Seconds()), "at least 3x", serial.Seconds()/c.Seconds() >= 3)
	b.check(fmt.Sprintf("kubectl gitops render --all, warm (median of %d)", b.runs), secs(w),
		"", "under 0.4 s", w < 400*time.Millisecond)
	b.check("peak memory of a cold render", fmt.Sprintf("%d MB", peak>>20), "", "under 500 MB", peak < 500<<20)
	fmt.Fprintln(b.out)
	return nil
}

func (b *bench) check(what, figure, ratio, target string, ok bool) {
	verdict := "ok"
	if !ok {
		verdict = "MISSED"
		b.missed++
	}
	fmt.Fprintf(b.out, "  %-52s %9s  %-14s target %-12s %s\n", what, figure, ratio, target, verdict)
}

type measure struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

// exec runs a command with its output discarded and measures it.
func (b *bench) exec(ctx context.Context, dir string, env []string, name string, args ...string) (measure, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start)}
	if err != nil {
		return m, fmt.Errorf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.buf)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss << 10
	}
	return m, nil
}

type limitedBuffer struct{ buf []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.buf) < 64<<10 {
		l.buf = append(l.buf, p...)
	}
	return len(p), nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
