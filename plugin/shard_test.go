package plugin

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want render.Shard
		err  string
	}{
		{in: "1/1", want: render.Shard{I: 1, N: 1}},
		{in: "2/4", want: render.Shard{I: 2, N: 4}},
		{in: "4/4", want: render.Shard{I: 4, N: 4}},
		{in: "3/2", err: "from 1 to 2"},
		{in: "0/4", err: "from 1 to 4"},
		{in: "1/0", err: "at least one"},
		{in: "2", err: "must be i/n"},
		{in: "a/b", err: "must be i/n"},
		{in: "1/2/3", err: "must be i/n"},
		{in: "-1/2", err: "from 1 to 2"},
	} {
		got, err := render.ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestShardedDiff edits a generated repository (an overlay, a base, a
// cluster's Kustomization) and compares the whole diff with the shards'.
func TestShardedDiff(t *testing.T) {
	demo, err := os.ReadFile("../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := benchgen.Write(dir, demo, benchgen.Options{Copies: 8}); err != nil {
		t.Fatal(err)
	}
	g := gittest.Init(t, dir)
	g.CommitFiles(t, "import", gittest.CopyTree(t, dir))
	edit := func(f, from, to string) {
		p := filepath.Join(dir, filepath.FromSlash(f))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), from) {
			t.Fatalf("%q is not in %s", from, f)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(data), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("apps/app-001/overlays/prod/kustomization.yaml", "prod", "production")
	edit("apps/app-004/base/complete-demo.yaml", "replicas: 1", "replicas: 2")
	edit("clusters/test/app-006.yaml", "prune: true", "prune: false")
	run := func(s render.Shard) []diff.RootDiff {
		o := &DiffOptions{Base: "HEAD", dirs: []string{"."}}
		o.addFlags(pflag.NewFlagSet("diff", pflag.ContinueOnError)) // the flags' defaults
		o.Open.Dir, o.Open.Jobs, o.Open.Offline, o.Open.NoCache = dir, 2, true, true
		o.shard = s
		if err := o.complete(io.Discard); err != nil {
			t.Fatal(err)
		}
		diffs, broken, err := o.revisions(context.Background())
		if err != nil || len(broken) > 0 {
			t.Fatal(err, broken)
		}
		return diffs
	}
	whole := run(render.Shard{})
	if len(whole) < 3 {
		t.Fatalf("the edits change %d roots, want at least 3", len(whole))
	}
	key := func(d diff.RootDiff) string { data, _ := json.Marshal(d); return string(data) }
	want := slices.Sorted(slices.Values(mapSlice(whole, key)))
	for _, n := range []int{2, 3, 5} {
		var got []string
		for i := 1; i <= n; i++ {
			got = append(got, mapSlice(run(render.Shard{I: i, N: n}), key)...)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%d shards diff\n%s\nthe whole\n%s", n, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
