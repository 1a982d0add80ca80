// Command bench times kubectl gitops against its peer tools on the same
// generated repository in the same run, and prints the figures, the ratios
// and whether each target of the project's issues is met.
//
//	go run ./bench [-copies 100] [-runs 5] [-only render,validate,hook,diff,images,helm,scale]
//
// `make bench` builds the peers (hack/tools.sh) and the API server whose
// OpenAPI document gives kubeconform its schemas (hack/cluster/build.sh),
// then runs this. The exit code is 1 when a target is missed. With
// `-only= -keep` it writes the corpus and stops, for profiling on it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

var sections = []string{"render", "validate", "hook", "diff", "images", "helm", "scale"}

func main() {
	if len(os.Args) > 2 && os.Args[1] == measureArg {
		os.Exit(runMeasured(os.Args[2:]))
	}
	b := &bench{out: os.Stdout}
	flag.IntVar(&b.copies, "copies", 100, "copies of the sock-shop application in the generated repository (3 roots each)")
	flag.IntVar(&b.runs, "runs", 5, "runs of each timed warm command; the median is reported")
	flag.IntVar(&b.coldRuns, "cold-runs", 3, "runs of each timed cold command; the median is reported")
	flag.IntVar(&b.tags, "tags", 1000, "tags in each of the images benchmark's repositories")
	only := flag.String("only", strings.Join(sections, ","), "the benchmarks to run, comma-separated")
	flag.StringVar(&b.gitops, "gitops", "", "the kubectl-gitops binary (default: built from this checkout)")
	flag.BoolVar(&b.keep, "keep", false, "keep the scratch folder (corpus, caches) for profiling, instead of removing it")
	flag.Parse()
	var chosen []string // none: only write the corpus (with -keep, to profile on it)
	if *only != "" {
		chosen = strings.Split(*only, ",")
	}
	for _, s := range chosen {
		if !slices.Contains(sections, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown benchmark %q (known: %s)\n", s, strings.Join(sections, ", "))
			os.Exit(2)
		}
	}
	ctx := context.Background()
	if err := b.run(ctx, chosen); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if b.missed > 0 {
		fmt.Fprintf(b.out, "%d target(s) missed\n", b.missed)
		os.Exit(1)
	}
}

type bench struct {
	copies, runs, coldRuns, tags int
	out                          io.Writer

	gitops string
	keep   bool
	work   string // scratch folder, removed at the end
	repo   string // the generated repository
	reg    *registrytest.Registry
	hits   *registrytest.Counter
	missed int
}

func (b *bench) run(ctx context.Context, only []string) error {
	work, err := os.MkdirTemp("", "gitops-bench-")
	if err != nil {
		return err
	}
	if b.keep {
		defer fmt.Fprintln(b.out, "kept", work)
	} else {
		defer os.RemoveAll(work)
	}
	b.work = work
	if b.gitops == "" {
		b.gitops = filepath.Join(work, "kubectl-gitops")
		// As hack/dist.sh builds the release krew installs: without cgo,
		// a static binary. With cgo, kustomize's Go plugin loader makes
		// the linker export every symbol and keep every exported method,
		// and the dynamic loader runs first: some 7 ms more of every start.
		build := exec.CommandContext(ctx, "go", "build", "-o", b.gitops, "./cmd/kubectl-gitops")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building kubectl-gitops: %v\n%s", err, out)
		}
	}
	// The corpus's ImageRepositories name this registry; the images
	// benchmark fills it.
	b.hits = &registrytest.Counter{}
	b.reg = registrytest.New(func(h http.Handler) http.Handler { return b.hits.Wrap(registrytest.Paginate(h)) })
	defer b.reg.Close()
	b.repo = filepath.Join(work, "repo")
	if err := b.corpus(); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "corpus: %d copies of sock-shop, %d render roots, %d ImagePolicies, in %s\n", b.copies, benchgen.Roots(b.copies), b.copies, b.repo)
	fmt.Fprintf(b.out, "machine: %d CPUs, %s\n\n", numCPU(), loadAverage())
	steps := map[string]func(context.Context) error{
		"render":   b.render,
		"validate": b.validate,
		"hook":     b.hook,
		"diff":     b.diff,
		"images":   b.images,
		"helm":     b.helm,
		"scale":    b.scale,
	}
	for _, s := range sections {
		if slices.Contains(only, s) {
			if err := steps[s](ctx); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
	}
	return nil
}

// corpus writes the generated repository and commits it.
func (b *bench) corpus() error { return b.corpusIn(b.repo, b.copies) }

// corpusIn writes a generated repository of copies apps at dir and
// commits it.
func (b *bench) corpusIn(dir string, copies int) error {
	demo, err := os.ReadFile("testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := benchgen.Write(dir, demo, benchgen.Options{Copies: copies, Registry: b.reg.Host(), Insecure: true}); err != nil {
		return err
	}
	return commit(dir)
}

// commit makes the folder a Git repository of one commit, packed as a
// clone's objects are.
func commit(dir string) error {
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

// roots are the generated repository's render roots, as folders.
func (b *bench) roots() []string {
	var out []string
	for i := 0; i < b.copies; i++ {
		for _, env := range benchgen.Envs() {
			out = append(out, filepath.Join(b.repo, "apps", benchgen.App(i), "overlays", env))
		}
	}
	return out
}

// tool returns a peer tool's path, built by hack/tools.sh when missing.
func tool(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "hack/tools.sh", "--path", name).Output()
	if err != nil {
		return "", fmt.Errorf("building %s with hack/tools.sh: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// check prints one figure against its target.
func (b *bench) check(what, figure, ratio, target string, ok bool) {
	verdict := "ok"
	if !ok {
		verdict = "MISSED"
		b.missed++
	}
	fmt.Fprintf(b.out, "  %-56s %9s  %-16s target %-22s %s\n", what, figure, ratio, target, verdict)
}

// figure prints a measurement with no target: the peer's.
func (b *bench) figure(what, figure string) {
	fmt.Fprintf(b.out, "  %-56s %9s\n", what, figure)
}

type measure struct {
	wall   time.Duration
	maxRSS int64 // bytes
	stdout []byte
	code   int
}

// exec runs a command in the generated repository and measures it. Exit
// codes in ok are not failures (diff exits 1 when something differs).
func (b *bench) exec(ctx context.Context, env []string, ok []int, name string, args ...string) (measure, error) {
	return b.execIn(ctx, b.repo, env, ok, name, args...)
}

// execIn runs a command in dir and measures it.
func (b *bench) execIn(ctx context.Context, dir string, env []string, ok []int, name string, args ...string) (measure, error) {
	self, err := os.Executable()
	if err != nil {
		return measure{}, err
	}
	f, err := os.CreateTemp(b.work, "measure-*")
	if err != nil {
		return measure{}, err
	}
	file := f.Name()
	f.Close()
	defer os.Remove(file)
	cmd := exec.CommandContext(ctx, self, append([]string{measureArg, name}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), measureFileEnv+"="+file)
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	m := measure{stdout: stdout.buf}
	var merr error
	if m.wall, m.maxRSS, merr = readMeasure(file); merr != nil && err == nil {
		err = merr
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && slices.Contains(ok, exit.ExitCode()) {
			m.code = exit.ExitCode()
			return m, nil
		}
		return m, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.buf, stderr.buf)
	}
	return m, nil
}

// timed runs a command n times and returns the median wall time and the
// largest peak memory; prepare, when set, runs before each run, untimed.
func (b *bench) timed(ctx context.Context, n int, prepare func(i int) error, env []string, ok []int, name string, args ...string) (time.Duration, int64, error) {
	var walls []time.Duration
	var peak int64
	for i := 0; i < n; i++ {
		if prepare != nil {
			if err := prepare(i); err != nil {
				return 0, 0, err
			}
		}
		m, err := b.exec(ctx, env, ok, name, args...)
		if err != nil {
			return 0, 0, err
		}
		walls = append(walls, m.wall)
		peak = max(peak, m.maxRSS)
	}
	return median(walls), peak, nil
}

// cacheEnv points kubectl gitops at its own cache folder under the scratch
// folder.
func (b *bench) cacheEnv(name string) []string {
	return []string{"GITOPS_CACHE_DIR=" + filepath.Join(b.work, "cache-"+name)}
}

type limitedBuffer struct{ buf []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.buf) < 4<<20 {
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

func ratio(peer, ours time.Duration) float64 { return peer.Seconds() / ours.Seconds() }

func numCPU() int { return runtime.NumCPU() }

// loadAverage is the machine's load when the run starts, for reading the
// figures: a busy machine slows every tool alike, but not by the same
// factor.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "load unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}
