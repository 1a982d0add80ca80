package render

import (
	"context"
	"encoding/json"
	"path"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// prebuild is a kustomize build Prebuild started.
type prebuild struct {
	root Root // Path, and the Kustomization (spec only) of a Flux root
	done chan struct{}
	fsys *kfs.FS
	m    resourceSet
	err  error
	// taken is set when the render took it.
	taken bool

	// asked are the paths the build asked a source's ignore rules about,
	// none of them hidden: the build is taken when the root's source
	// hides none of them either.
	askedMu sync.Mutex
	asked   []hiddenQuery
}

type hiddenQuery struct {
	rel string
	dir bool
}

// Prebuild starts building, while discovery runs, the roots a check of
// the edited files needs first: a hook knows the files a commit edits
// before discovery tells which roots read them. For each file it is the
// root the last discovery of this repository found nearest above it (its
// roots memo), built as that discovery found it (a Flux root with its
// Kustomization's spec); without one, the directory of an edited
// kustomization file, as a plain root. The render takes a build for the
// root discovery then finds there when it is the same build: the same
// spec, and nothing the build looked at hidden by the root's source. A
// plain build is the build of a plain root found there (kustomize-
// controller's reach only lets more builds succeed), and a failed one is
// left to the render. A guess that turns out wrong costs a build on a
// core discovery leaves idle. A build kustomize would print a warning in
// (a deprecated field) stops before it prints and is left to the render.
// Nothing is prebuilt with remote bases allowed, nor for more roots than
// the jobs discovery leaves (Jobs less one, at least one): a change that
// wide is no edit a hook waits on.
func (e *Engine) Prebuild(ctx context.Context, files []string) {
	if !e.prebuilds() {
		return
	}
	roots := e.rootsAbove(files)
	if len(roots) > e.prebuildBound() {
		return
	}
	for _, root := range roots {
		e.prebuild(ctx, root)
	}
}

// prebuildUnknown starts the build of the root above file, one discovery
// found new (not in its memo), while discovery goes on: a diff learns
// which file was edited only as it reads the working tree. Within the
// bound of Prebuild, with the builds it started.
func (e *Engine) prebuildUnknown(ctx context.Context, file string) {
	if !e.prebuilds() || e.prebuildsFull() {
		return // after a pull, most files are new: no guess for each
	}
	for _, root := range e.rootsAbove([]string{file}) {
		e.prebuild(ctx, root)
	}
}

// prebuilds tells whether the engine builds roots ahead: not with remote
// bases allowed, nor in the tests' reference mode.
func (e *Engine) prebuilds() bool { return !e.opts.AllowRemote && !e.kustomizeOrigins }

// prebuildBound is how many builds ahead an engine starts: the jobs
// discovery leaves, at least one.
func (e *Engine) prebuildBound() int { return max(1, e.opts.Jobs-1) }

// prebuildsFull tells whether the engine started all the builds ahead
// its bound allows.
func (e *Engine) prebuildsFull() bool {
	e.prebuiltMu.Lock()
	defer e.prebuiltMu.Unlock()
	return e.prebuildsStarted >= e.prebuildBound()
}

// prebuild starts building root, unless it was or the bound is reached.
func (e *Engine) prebuild(ctx context.Context, root Root) {
	e.prebuiltMu.Lock()
	defer e.prebuiltMu.Unlock()
	if _, ok := e.prebuilt[root.Path]; ok || e.prebuildsStarted >= e.prebuildBound() {
		return
	}
	if e.prebuilt == nil {
		e.prebuilt = map[string]*prebuild{}
	}
	e.prebuildsStarted++
	p := &prebuild{root: root, done: make(chan struct{}), fsys: e.newFS(ctx)}
	p.fsys.Quiet() // a build not taken would print kustomize's warnings twice
	p.fsys.SetHidden(p.ask)
	e.prebuilt[root.Path] = p
	go func() {
		defer close(p.done)
		p.m, _, p.err = e.kustomize(root, p.fsys, false)
	}()
}

// ask records a question to the source's ignore rules, answering that
// nothing is hidden.
func (p *prebuild) ask(rel string, dir bool) bool {
	p.askedMu.Lock()
	p.asked = append(p.asked, hiddenQuery{rel, dir})
	p.askedMu.Unlock()
	return false
}

// rootsAbove returns the roots to prebuild for the edited files, one per
// directory, in the order of the files.
func (e *Engine) rootsAbove(files []string) []Root {
	memo := e.rootsMemo()
	var roots []Root
	seen := map[string]bool{}
	add := func(root Root) {
		if !seen[root.Path] {
			seen[root.Path] = true
			roots = append(roots, root)
		}
	}
	for _, f := range files {
		root, ok := rootAbove(memo, path.Dir(f))
		switch {
		case ok:
			add(root)
		case kfs.IsKustomizationFile(f):
			add(Root{Path: path.Dir(f)})
		}
	}
	return roots
}

// rootAbove returns the root memo holds at dir or nearest above it.
func rootAbove(memo *cache.Memo[string], dir string) (Root, bool) {
	for {
		if spec, ok := memo.Get(dir); ok {
			root := Root{Path: dir}
			if spec != "" {
				k := &Kustomization{Object: &manifest.Object{}, SpecJSON: []byte(spec)}
				if json.Unmarshal(k.SpecJSON, &k.Spec) != nil {
					return Root{}, false
				}
				root.Kustomization = k
			}
			return root, true
		}
		if dir == "." {
			return Root{}, false
		}
		dir = path.Dir(dir)
	}
}

// takePrebuilt returns the build Prebuild started for root, when it is
// root's build: the same path and spec, built from the revision being
// rendered, successfully, with nothing refused, and nothing it looked at
// hidden by the root's source (filter). Each is taken once.
func (e *Engine) takePrebuilt(ctx context.Context, root Root, filter *sourceFilter) *prebuild {
	if root.File || root.At != nil {
		return nil
	}
	e.prebuiltMu.Lock()
	p := e.prebuilt[root.Path]
	if p == nil || !sameBuild(p.root, root) {
		e.prebuiltMu.Unlock()
		return nil
	}
	delete(e.prebuilt, root.Path)
	e.prebuiltMu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil
	}
	if p.err != nil || p.fsys.Refused() != nil {
		return nil // the render builds it, and says why it fails
	}
	if filter != nil {
		for _, q := range p.asked {
			if filter.hidden(q.rel, q.dir) {
				return nil
			}
		}
	}
	p.taken = true
	return p
}

// sameBuild tells whether kustomize builds a and b alike: both plain, or
// Flux roots of one spec, at one path.
func sameBuild(a, b Root) bool {
	if a.Path != b.Path || (a.Kustomization == nil) != (b.Kustomization == nil) {
		return false
	}
	return a.Kustomization == nil || string(a.Kustomization.SpecJSON) == string(b.Kustomization.SpecJSON)
}

// rootsHeader names the record of the roots memo: per root directory,
// the spec of the Flux Kustomization that renders it, as canonical JSON,
// or nothing for a plain root (or for several that disagree).
const rootsHeader = "roots/1"

// rootsMemo is the roots the last discovery of the repository found, by
// directory: what Prebuild guesses from. Unlike other memos its keys do
// not name all a value depends on; a guess is checked before a build is
// taken. Nil without a cache.
func (e *Engine) rootsMemo() *cache.Memo[string] {
	e.rootsOnce.Do(func() {
		if e.opts.Cache != nil {
			e.roots = cache.OpenMemo(e.opts.Cache, cache.Key(rootsHeader, e.opts.Salt, e.abs), rootsHeader,
				func(w *cache.Writer, v string) { w.String(v) }, func(r *cache.Reader) string { return r.Field() })
		}
	})
	return e.roots
}

// RememberRoots keeps the roots of r in the roots memo, for Prebuild's
// guesses, saving it when one changed. Discover calls it; the engines of
// a diff are left to say which side a next run most likely shows.
func (e *Engine) RememberRoots(r *Repository) {
	memo := e.rootsMemo()
	if memo == nil {
		return
	}
	specs := map[string]string{}
	for _, root := range r.Roots {
		if root.File || root.At != nil {
			continue
		}
		spec := ""
		if k := root.Kustomization; k != nil {
			spec = string(k.SpecJSON)
		}
		if prev, ok := specs[root.Path]; ok && prev != spec {
			spec = "" // no one guess
		}
		specs[root.Path] = spec
	}
	for dir, spec := range specs {
		if old, ok := memo.Get(dir); !ok || old != spec {
			memo.Put(dir, spec)
		}
	}
	memo.Save()
}
