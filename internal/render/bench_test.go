package render

import (
	"context"
	"os"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// BenchmarkRenderCold renders the generated corpus with no cache, one root
// per CPU at a time. `make bench` compares the whole command with the
// kustomize CLI; this is the in-process half, for profiling.
func BenchmarkRenderCold(b *testing.B) {
	dir := b.TempDir()
	demo, err := os.ReadFile("../../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if err := benchgen.Write(dir, demo, benchgen.Options{Copies: 20}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tree := repo.NewWorkTree(dir)
		r, err := Discover(tree, Checkout{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := New(tree, dir, Options{}).Render(context.Background(), r, r.Roots)
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range res {
			if x.Err != nil {
				b.Fatal(x.Err)
			}
		}
	}
}

// BenchmarkRenderWarm renders the generated corpus again with a warm cache:
// discovery, checking every root's observations, and reading the cached
// output.
func BenchmarkRenderWarm(b *testing.B) {
	dir := b.TempDir()
	demo, err := os.ReadFile("../../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/base/complete-demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if err := benchgen.Write(dir, demo, benchgen.Options{Copies: 100}); err != nil {
		b.Fatal(err)
	}
	c, err := cache.Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	run := func() {
		tree := repo.NewWorkTree(dir)
		r, err := Discover(tree, Checkout{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := New(tree, dir, Options{Cache: c}).Render(context.Background(), r, r.Roots)
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range res {
			if x.Err != nil {
				b.Fatal(x.Err)
			}
		}
	}
	run()
	for b.Loop() {
		run()
	}
}

// BenchmarkRenderHelm renders a repository of 100 HelmReleases of one
// chart from a loopback registry, with no cache: the in-process half of
// `make bench`'s helm figures, for profiling.
func BenchmarkRenderHelm(b *testing.B) {
	srv, err := chartserve.Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	archive, err := chartserve.PackageDir("../../testdata/charts/podinfo-lite", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Push("charts", archive); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := benchgen.WriteHelm(dir, srv.Registry+"/charts/podinfo-lite", 100); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tree := repo.NewWorkTree(dir)
		r, err := Discover(tree, Checkout{})
		if err != nil {
			b.Fatal(err)
		}
		charts := helm.NewFetcher(helm.FetcherOptions{Registry: registry.New(registry.Options{})})
		eng := New(tree, dir, Options{Charts: charts})
		if err := eng.Expand(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		res, err := eng.Render(context.Background(), r, r.Roots)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, x := range res {
			for _, rel := range x.Releases {
				if !rel.Rendered() {
					b.Fatalf("%s: %v %s", rel.ID(), rel.Err, rel.Unchecked)
				}
				n++
			}
		}
		if n != 100 {
			b.Fatalf("%d releases rendered, want 100", n)
		}
	}
}
