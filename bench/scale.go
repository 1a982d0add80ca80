package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
)

// scale measures how cost grows with the repository: a cold render of a
// corpus ten times the size, against the corpus's own in the same run,
// and a cold diff of one changed overlay there against flate's.
func (b *bench) scale(ctx context.Context) error {
	big := filepath.Join(b.work, "repo-10x")
	if err := b.corpusIn(big, 10*b.copies); err != nil {
		return err
	}
	// The two corpora take turns, the smaller first and last: the
	// machine's speed drifts by a tenth and more over the minutes a
	// larger run takes, and weighs on both alike. Each run starts once
	// the files written before it are on disk: the kernel writing a
	// fresh corpus, or the cache a larger run filled, back while a run
	// renders had it take up to a third longer.
	var smalls, larges []time.Duration
	var peak int64
	for i := 0; ; i++ {
		syscall.Sync()
		s, _, err := b.coldRender(ctx, b.repo, 1, fmt.Sprintf("scale-1x-%d", i))
		if err != nil {
			return err
		}
		smalls = append(smalls, s)
		if len(larges) == b.coldRuns {
			break
		}
		syscall.Sync()
		l, p, err := b.coldRender(ctx, big, 1, fmt.Sprintf("scale-10x-%d", i))
		if err != nil {
			return err
		}
		larges, peak = append(larges, l), max(peak, p)
	}
	small, large := median(smalls), median(larges)
	orig := filepath.Join(b.work, "head-10x")
	if err := os.CopyFS(orig, os.DirFS(big)); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(orig, ".git")); err != nil {
		return err
	}
	ours, peer, diffPeak, err := b.diffRuns(ctx, big, orig, b.coldRuns, false)
	if err != nil {
		return err
	}
	growth := large.Seconds() / small.Seconds()
	fmt.Fprintf(b.out, "scale (%d roots against %d, fresh caches)\n", benchgen.Roots(10*b.copies), benchgen.Roots(b.copies))
	b.figure(fmt.Sprintf("kubectl gitops render --all, %d roots (median of %d)", benchgen.Roots(b.copies), len(smalls)), secs(small))
	b.check(fmt.Sprintf("kubectl gitops render --all, %d roots (median of %d, between them)", benchgen.Roots(10*b.copies), len(larges)), secs(large),
		fmt.Sprintf("%.1fx the time", growth), "within 10.5x", growth <= 10.5)
	b.check("peak memory of that render", fmt.Sprintf("%d MB", peak>>20), "", "under 1 GB", peak < 1<<30)
	b.figure(fmt.Sprintf("flate diff ks, one overlay changed, empty cache (median of %d)", b.coldRuns), secs(peer))
	b.check(fmt.Sprintf("kubectl gitops diff --base HEAD, empty cache (median of %d)", b.coldRuns), secs(ours),
		fmt.Sprintf("%.1fx faster", ratio(peer, ours)), "30x", ratio(peer, ours) >= 30)
	b.figure("peak memory of that diff", fmt.Sprintf("%d MB", diffPeak>>20))
	fmt.Fprintln(b.out)
	return nil
}

// coldRender times `kubectl gitops render --all` in repo with an empty
// cache folder per run, and returns the median and the peak memory.
func (b *bench) coldRender(ctx context.Context, repo string, runs int, name string) (time.Duration, int64, error) {
	var walls []time.Duration
	var peak int64
	for i := 0; i < runs; i++ {
		env := []string{"GITOPS_CACHE_DIR=" + filepath.Join(b.work, fmt.Sprintf("cache-%s-%d", name, i))}
		m, err := b.execIn(ctx, repo, env, nil, b.gitops, "render", "--all")
		if err != nil {
			return 0, 0, err
		}
		walls = append(walls, m.wall)
		peak = max(peak, m.maxRSS)
	}
	return median(walls), peak, nil
}
