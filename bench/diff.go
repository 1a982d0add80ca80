package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
)

// diff times what one changed overlay file does to the rendered
// repository: `kubectl gitops diff --base HEAD` against flate comparing
// the working tree with a copy of HEAD, with caches warm (the changed root
// rendered afresh, the rest from the cache) and with fresh ones.
func (b *bench) diff(ctx context.Context) error {
	orig := filepath.Join(b.work, "head")
	if err := os.CopyFS(orig, os.DirFS(b.repo)); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(orig, ".git")); err != nil {
		return err
	}
	ours, peer, _, err := b.diffRuns(ctx, b.repo, orig, b.runs, true)
	if err != nil {
		return err
	}
	fmt.Fprintln(b.out, "diff (one overlay file changed, caches warm)")
	b.figure(fmt.Sprintf("flate diff ks --path-orig <copy of HEAD> (median of %d)", b.runs), secs(peer))
	b.check(fmt.Sprintf("kubectl gitops diff --base HEAD (median of %d)", b.runs), secs(ours),
		fmt.Sprintf("%.1fx faster", ratio(peer, ours)), "under 0.15 s, 7x", ours < 150*time.Millisecond && ratio(peer, ours) >= 7)
	fmt.Fprintln(b.out)

	// Cold: what every CI runner starts with.
	ours, peer, peak, err := b.diffRuns(ctx, b.repo, orig, b.coldRuns, false)
	if err != nil {
		return err
	}
	// The target grows with the repository: flate renders every root it
	// cannot tell unchanged, kubectl gitops only those whose inputs changed.
	want := 10.0
	if b.copies >= 1000 {
		want = 30
	}
	fmt.Fprintf(b.out, "diff (one overlay file changed, fresh caches, %d roots)\n", benchgen.Roots(b.copies))
	b.figure(fmt.Sprintf("flate diff ks, empty cache (median of %d)", b.coldRuns), secs(peer))
	b.check(fmt.Sprintf("kubectl gitops diff --base HEAD, empty cache (median of %d)", b.coldRuns), secs(ours),
		fmt.Sprintf("%.1fx faster", ratio(peer, ours)), fmt.Sprintf("%gx", want), ratio(peer, ours) >= want)
	b.figure("peak memory of a cold diff", fmt.Sprintf("%d MB", peak>>20))

	// The pull-request bot on the same change, committed, fresh cache.
	restore, err := b.edit(diffFile)
	if err != nil {
		return err
	}
	defer restore()
	if err := b.setReplicas(diffFile, 99); err != nil {
		return err
	}
	git := func(args ...string) error {
		_, err := b.exec(ctx, nil, nil, "git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.com"}, args...)...)
		return err
	}
	if err := git("commit", "-q", "-am", "scale the front-end"); err != nil {
		return err
	}
	defer func() { _ = git("reset", "-q", "--soft", "HEAD~1") }()
	var bot []time.Duration
	for r := 0; r < b.coldRuns; r++ {
		env := []string{"GITOPS_CACHE_DIR=" + filepath.Join(b.work, fmt.Sprintf("cold-ci-%d", r))}
		m, err := b.exec(ctx, env, []int{1}, b.gitops, "ci", "comment", "--dry-run", "--base", "HEAD~1")
		if err != nil {
			return err
		}
		if !bytes.Contains(m.stdout, []byte("replicas")) {
			return fmt.Errorf("ci comment did not show the change:\n%s", m.stdout)
		}
		bot = append(bot, m.wall)
	}
	c := median(bot)
	b.check(fmt.Sprintf("kubectl gitops ci comment --dry-run, empty cache (median of %d)", b.coldRuns), secs(c),
		"", "under 1 s", c < time.Second)
	fmt.Fprintln(b.out)
	return nil
}

// diffFile is the overlay file the diff benchmarks change.
const diffFile = "apps/app-007/overlays/prod/kustomization.yaml"

// diffRuns times `kubectl gitops diff --base HEAD` and flate's `diff ks`
// against orig, a copy of HEAD, in repo, each run after a new edit of
// diffFile (undone at the end). Warm runs keep a cache folder per tool,
// filled by an untimed first run; cold runs each start with an empty one.
// It returns the medians and our peak memory.
func (b *bench) diffRuns(ctx context.Context, repo, orig string, runs int, warm bool) (ours, peer time.Duration, peak int64, err error) {
	flate, err := tool(ctx, "flate")
	if err != nil {
		return 0, 0, 0, err
	}
	restore, err := editIn(repo, diffFile)
	if err != nil {
		return 0, 0, 0, err
	}
	defer restore()
	type tool struct {
		name string
		ok   []int // exit codes that mean "it worked"
		args func(cache string) []string
		want string // in the output of every run
	}
	tools := []tool{
		{name: b.gitops, ok: []int{1}, args: func(string) []string { return []string{"diff", "--base", "HEAD"} }, want: "replicas: "},
		{name: flate, args: func(cache string) []string {
			return []string{"diff", "ks", "--path", ".", "--path-orig", orig, "--no-progress", "--cache-dir", cache}
		}, want: "spec.replicas"},
	}
	first := 0
	if warm {
		first = -1 // fills the cache
	}
	// The tools take turns, each run after a sync: the machine's speed
	// drifts, and the kernel writing back what an earlier run or the
	// corpus left would weigh on whichever ran first.
	walls := make([][]time.Duration, len(tools))
	edits := 0
	for r := first; r < runs; r++ {
		for i, t := range tools {
			edits++
			if err := setCountIn(repo, diffFile, strconv.Itoa(20+edits)); err != nil {
				return 0, 0, 0, err
			}
			cache := filepath.Join(b.work, fmt.Sprintf("diff-%s-%d", filepath.Base(repo), i))
			if !warm {
				cache += fmt.Sprintf("-cold-%d", r)
			}
			syscall.Sync()
			m, err := b.execIn(ctx, repo, []string{"GITOPS_CACHE_DIR=" + cache}, t.ok, t.name, t.args(cache)...)
			if err != nil {
				return 0, 0, 0, err
			}
			if !bytes.Contains(m.stdout, []byte(t.want)) {
				return 0, 0, 0, fmt.Errorf("%s did not show the change:\n%s", filepath.Base(t.name), m.stdout)
			}
			if r >= 0 {
				walls[i] = append(walls[i], m.wall)
			}
			if i == 0 {
				peak = max(peak, m.maxRSS)
			}
		}
	}
	medians := make([]time.Duration, len(tools))
	for i := range tools {
		medians[i] = median(walls[i])
	}
	return medians[0], medians[1], peak, nil
}
