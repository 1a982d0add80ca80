package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
)

// validate times, for every root, `kustomize build | kubeconform -strict`
// against schemas made from the API server's OpenAPI document, and
// `kubectl gitops validate --all` cold and warm.
func (b *bench) validate(ctx context.Context) error {
	kustomize, err := tool(ctx, "kustomize")
	if err != nil {
		return err
	}
	kubeconform, err := tool(ctx, "kubeconform")
	if err != nil {
		return err
	}
	schemas, err := kubeconformSchemas(ctx)
	if err != nil {
		return err
	}
	location := filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json")
	roots := b.roots()
	start := time.Now()
	for _, root := range roots {
		if err := pipeline(ctx,
			exec.CommandContext(ctx, kustomize, "build", root),
			exec.CommandContext(ctx, kubeconform, "-strict", "-summary", "-schema-location", location, "-")); err != nil {
			return fmt.Errorf("%s: %w", root, err)
		}
	}
	peer := time.Since(start)

	var cold []time.Duration
	for i := 0; i < b.coldRuns; i++ {
		m, err := b.exec(ctx, b.cacheEnv(fmt.Sprintf("validate-%d", i)), nil, b.gitops, "validate", "--all")
		if err != nil {
			return err
		}
		cold = append(cold, m.wall)
	}
	warm, _, err := b.timed(ctx, b.runs, nil, b.cacheEnv("validate-0"), nil, b.gitops, "validate", "--all")
	if err != nil {
		return err
	}
	// A CI fleet sharing its cache through a registry: the first runner
	// fills it, each next one starts with an empty local cache.
	shared := "--cache-repo=" + b.reg.Host() + "/cache/render"
	fill, err := b.exec(ctx, b.cacheEnv("validate-shared-fill"), nil, b.gitops, "validate", "--all", shared)
	if err != nil {
		return err
	}
	var fromRemote []time.Duration
	for i := 0; i < b.coldRuns; i++ {
		m, err := b.exec(ctx, b.cacheEnv(fmt.Sprintf("validate-shared-%d", i)), nil, b.gitops, "validate", "--all", shared)
		if err != nil {
			return err
		}
		fromRemote = append(fromRemote, m.wall)
	}
	c := median(cold)
	fmt.Fprintf(b.out, "validate (%d roots, every object against its schema)\n", len(roots))
	b.figure("kustomize build | kubeconform -strict, every root", secs(peer))
	b.check(fmt.Sprintf("kubectl gitops validate --all, cold (median of %d)", b.coldRuns), secs(c),
		fmt.Sprintf("%.1fx faster", ratio(peer, c)), "at least 4x", ratio(peer, c) >= 4)
	b.check(fmt.Sprintf("kubectl gitops validate --all, warm (median of %d)", b.runs), secs(warm),
		"", "under 0.4 s", warm < 400*time.Millisecond)
	b.figure("validate --all --cache-repo, empty registry (fills it)", secs(fill.wall))
	fr := median(fromRemote)
	b.check(fmt.Sprintf("validate --all --cache-repo, empty local cache (median of %d)", b.coldRuns), secs(fr),
		fmt.Sprintf("%.1fx faster than cold", ratio(c, fr)), "under 1.5 s", fr < 1500*time.Millisecond)
	fmt.Fprintln(b.out)
	return nil
}

// hook times the gitops-validate pre-commit hook on one changed overlay
// file, its cache warm from the run before the change.
func (b *bench) hook(ctx context.Context) error {
	env := b.cacheEnv("validate-0")
	if _, err := b.exec(ctx, env, nil, b.gitops, "validate", "--all"); err != nil {
		return err
	}
	file := filepath.Join("apps", "app-000", "overlays", "prod", "kustomization.yaml")
	restore, err := b.edit(file)
	if err != nil {
		return err
	}
	defer func() {
		restore()
		_ = b.stage(file)
	}()
	// The hook checks what is staged: a staged change that breaks the
	// build must fail it, or the figure would time nothing.
	if err := b.setCount(file, "many"); err != nil {
		return err
	}
	if err := b.stage(file); err != nil {
		return err
	}
	if m, err := b.exec(ctx, env, []int{1}, b.gitops, "hook", "gitops-validate", file); err != nil || m.code != 1 {
		return fmt.Errorf("the hook passed a staged change that does not build (exit %d, %v)", m.code, err)
	}
	change := func(i int) error {
		if err := b.setReplicas(file, 10+i); err != nil {
			return err
		}
		return b.stage(file)
	}
	wall, _, err := b.timed(ctx, b.runs, change, env, nil, b.gitops, "hook", "gitops-validate", file)
	if err != nil {
		return err
	}
	fmt.Fprintln(b.out, "pre-commit hook (one staged overlay file, the rest of the cache warm)")
	b.check(fmt.Sprintf("kubectl gitops hook gitops-validate FILE (median of %d)", b.runs), secs(wall),
		"", "under 0.15 s", wall < 150*time.Millisecond)
	fmt.Fprintln(b.out)
	return nil
}

// stage adds file to Git's index, as `git add` does before a commit.
func (b *bench) stage(file string) error {
	r, err := git.PlainOpen(b.repo)
	if err != nil {
		return err
	}
	wt, err := r.Worktree()
	if err != nil {
		return err
	}
	_, err = wt.Add(filepath.ToSlash(file))
	return err
}

// edit returns a function that puts file back as it is now.
func (b *bench) edit(file string) (func(), error) { return editIn(b.repo, file) }

// editIn is edit in the repository at repo.
func editIn(repo, file string) (func(), error) {
	p := filepath.Join(repo, file)
	orig, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return func() { _ = os.WriteFile(p, orig, 0o644) }, nil
}

// setReplicas changes the front-end's replica count in an overlay's
// kustomization file: a change that renders one object differently.
func (b *bench) setReplicas(file string, n int) error { return b.setCount(file, strconv.Itoa(n)) }

// setCount writes value, as it is, as the replica count of the overlay's
// kustomization file.
func (b *bench) setCount(file, value string) error { return setCountIn(b.repo, file, value) }

// setCountIn is setCount in the repository at repo.
func setCountIn(repo, file, value string) error {
	p := filepath.Join(repo, file)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var out []string
	replaced := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "    count: ") && !replaced {
			l, replaced = "    count: "+value, true
		}
		out = append(out, l)
	}
	if !replaced {
		return fmt.Errorf("%s: no replica count to change", file)
	}
	return os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644)
}

// pipeline runs from | to, and fails when either fails.
func pipeline(ctx context.Context, from, to *exec.Cmd) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	var fromErr, toOut bytes.Buffer
	from.Stdout, from.Stderr = w, &fromErr
	to.Stdin, to.Stdout, to.Stderr = r, &toOut, &toOut
	if err := from.Start(); err != nil {
		return err
	}
	if err := to.Start(); err != nil {
		_ = from.Process.Kill()
		return err
	}
	w.Close()
	r.Close()
	errFrom, errTo := from.Wait(), to.Wait()
	if errFrom != nil {
		return fmt.Errorf("%s: %v\n%s", filepath.Base(from.Path), errFrom, fromErr.Bytes())
	}
	if errTo != nil {
		return fmt.Errorf("%s: %v\n%s", filepath.Base(to.Path), errTo, toOut.Bytes())
	}
	return nil
}
