package render

import (
	"context"
	"os"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/benchgen"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
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
