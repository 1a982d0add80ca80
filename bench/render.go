package main

import (
	"context"
	"fmt"
	"time"
)

// render times `kustomize build` of every root, one after the other, and
// `kubectl gitops render --all` cold (empty cache) and warm.
func (b *bench) render(ctx context.Context) error {
	kustomize, err := tool(ctx, "kustomize")
	if err != nil {
		return err
	}
	roots := b.roots()
	var serial time.Duration
	for _, root := range roots {
		m, err := b.exec(ctx, nil, nil, kustomize, "build", root)
		if err != nil {
			return err
		}
		serial += m.wall
	}

	c, peak, err := b.coldRender(ctx, b.repo, b.coldRuns, "render")
	if err != nil {
		return err
	}
	env := b.cacheEnv("render-0")
	w, _, err := b.timed(ctx, b.runs, nil, env, nil, b.gitops, "render", "--all")
	if err != nil {
		return err
	}
	// JSON, warm: the first run keeps each root's JSON in the cache.
	if _, err := b.exec(ctx, env, nil, b.gitops, "render", "--all", "-o", "json"); err != nil {
		return err
	}
	wj, _, err := b.timed(ctx, b.runs, nil, env, nil, b.gitops, "render", "--all", "-o", "json")
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "render (%d roots)\n", len(roots))
	b.figure("kustomize build of every root, serially", secs(serial))
	b.check(fmt.Sprintf("kubectl gitops render --all, cold (median of %d)", b.coldRuns), secs(c),
		fmt.Sprintf("%.1fx faster", ratio(serial, c)), "at least 3x", ratio(serial, c) >= 3)
	b.check(fmt.Sprintf("kubectl gitops render --all, warm (median of %d)", b.runs), secs(w),
		"", "under 0.4 s", w < 400*time.Millisecond)
	b.check(fmt.Sprintf("kubectl gitops render --all -o json, warm (median of %d)", b.runs), secs(wj),
		"", "under 0.3 s", wj < 300*time.Millisecond)
	b.check("peak memory of a cold render", fmt.Sprintf("%d MB", peak>>20), "", "under 500 MB", peak < 500<<20)
	fmt.Fprintln(b.out)
	return nil
}
