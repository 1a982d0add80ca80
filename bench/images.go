package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// images fills the loopback registry with a repository of b.tags tags for
// every ImagePolicy of the corpus and times `kubectl gitops images list`
// resolving them all, counting the registry requests.
func (b *bench) images(ctx context.Context) error {
	for i := 0; i < b.copies; i++ {
		tags := make([]string, b.tags)
		for n := range tags {
			tags[n] = benchgen.Tag(n + 1)
		}
		if _, err := b.reg.Push(benchgen.Image(i), tags...); err != nil {
			return err
		}
	}
	env := b.cacheEnv("images")
	args := []string{"images", "list", "-o", "json"}
	// The first run renders the repository into the cache; the registry
	// is asked again on every run.
	m, err := b.exec(ctx, env, nil, b.gitops, args...)
	if err != nil {
		return err
	}
	if err := b.checkLatest(m.stdout); err != nil {
		return err
	}
	listings, total := b.hits.Count("GET", "*/tags/list"), b.hits.Total()
	wall, _, err := b.timed(ctx, b.runs, nil, env, nil, b.gitops, args...)
	if err != nil {
		return err
	}
	listings = (b.hits.Count("GET", "*/tags/list") - listings) / b.runs
	total = (b.hits.Total() - total) / b.runs
	pages := (b.tags + registry.DefaultPageSize - 1) / registry.DefaultPageSize
	fmt.Fprintf(b.out, "images (%d ImagePolicies, %d tags in each repository, loopback registry)\n", b.copies, b.tags)
	b.check(fmt.Sprintf("kubectl gitops images list (median of %d)", b.runs), secs(wall), "", "under 1.5 s", wall < 1500*time.Millisecond)
	b.check("tag listings per run", fmt.Sprint(listings), fmt.Sprintf("%d requests", total),
		fmt.Sprintf("%d (%d per repository)", b.copies*pages, pages), listings == b.copies*pages)
	fmt.Fprintln(b.out)
	return nil
}

// checkLatest makes sure every tag marker resolved to the newest build.
func (b *bench) checkLatest(out []byte) error {
	var list struct {
		Markers []struct {
			File, Policy, Field, Latest, Error string
		} `json:"markers"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return fmt.Errorf("images list -o json: %w", err)
	}
	tags := 0
	for _, m := range list.Markers {
		if m.Error != "" {
			return fmt.Errorf("%s: %s: %s", m.File, m.Policy, m.Error)
		}
		if m.Field == "tag" {
			tags++
			if m.Latest != benchgen.Tag(b.tags) {
				return fmt.Errorf("%s: %s selected %q, want %q", m.File, m.Policy, m.Latest, benchgen.Tag(b.tags))
			}
		}
	}
	if tags != b.copies {
		return fmt.Errorf("images list showed %d tag markers, want %d", tags, b.copies)
	}
	return nil
}
