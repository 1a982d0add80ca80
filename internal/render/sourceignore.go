package render

import (
	"bytes"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Filters keeps the source filters of a run's engines by their rules, so
// that the two sides of a diff ask each path once (Options.Filters).
type Filters struct{ m sync.Map }

// sourceFilter hides what a Flux source leaves out of its artifact: the
// defaults, every .sourceignore file of the repository, and a
// GitRepository's spec.ignore.
type sourceFilter struct {
	matcher gitignore.Matcher
	digest  string
	// seen keeps each path's answer, a directory's with a slash after
	// it: a build asks of a file as it lists its folder and again as it
	// reads it, and the matcher tries every pattern on every part.
	seen sync.Map
}

func (f *sourceFilter) hidden(rel string, dir bool) bool {
	key := rel
	if dir {
		key += "/"
	}
	if v, ok := f.seen.Load(key); ok {
		return v.(bool)
	}
	h := f.matcher.Match(strings.Split(rel, "/"), dir)
	f.seen.Store(key, h)
	return h
}

// sourceFilter returns the filter of the source a Flux root builds from, or
// nil for a plain root.
func (e *Engine) sourceFilter(r *Repository, root Root) *sourceFilter {
	k := root.Kustomization
	if k == nil {
		return nil
	}
	src := r.sourceOf(root)
	id := k.SourceID()
	if src != nil {
		id += "\x00" + src.Object.File
	}
	e.ignoreMu.Lock()
	defer e.ignoreMu.Unlock()
	if f, ok := e.ignores[id]; ok {
		return f
	}
	f := newSourceFilter(e.tree, r.SourceIgnores, src)
	if shared := e.opts.Filters; shared != nil {
		// The same rules in another engine of the run: its answers too.
		v, _ := shared.m.LoadOrStore(f.digest, f)
		f = v.(*sourceFilter)
	}
	e.ignores[id] = f
	return f
}

// sourceOf is the source a Flux root builds from: of the sources the
// repository writes with its sourceRef's name, the one written under its
// cluster's entry point, where each cluster of a repository writes its own
// flux-system (with its own spec.ignore); for a Kustomization no cluster's
// walk reached, the one written nearest to it, the last of those as near
// (samip5/k8s-cluster's k8s/media and k8s/nebula each write a flux-system
// that leaves the other folder out).
func (r *Repository) sourceOf(root Root) *Source {
	id := root.Kustomization.SourceID()
	written := r.written[id]
	if len(written) < 2 {
		return r.Sources[id]
	}
	if c := root.Cluster; c != nil {
		for _, s := range written {
			if under(s.Object.File, c.Entry.Path()) {
				return s
			}
		}
		return r.Sources[id]
	}
	near, shared := r.Sources[id], -1
	for _, s := range written {
		if n := sharedDirs(s.Object.File, root.Kustomization.Object.File); n >= shared && !placeholder(s.URL) {
			near, shared = s, n
		}
	}
	return near
}

// sharedDirs counts the folders two files' paths start with alike.
func sharedDirs(a, b string) int {
	da, db := strings.Split(path.Dir(a), "/"), strings.Split(path.Dir(b), "/")
	n := 0
	for n < len(da) && n < len(db) && da[n] == db[n] && da[n] != "." {
		n++
	}
	return n
}

// newSourceFilter builds the filter with source-controller's own library
// (fluxcd/pkg/sourceignore) as source-controller archives a source: the
// patterns of the .sourceignore files, then spec.ignore, after the version
// control files; only when those give no pattern, its defaults (version
// control files, images and archives, CI configuration, tool files). A
// repository with a .sourceignore of its own keeps its images.
func newSourceFilter(tree repo.Tree, files []string, src *Source) *sourceFilter {
	var ps []gitignore.Pattern
	digest := []string{"sourceignore/3"}
	files = append([]string(nil), files...)
	sort.Slice(files, func(i, j int) bool { return preorderLess(path.Dir(files[i]), path.Dir(files[j])) })
	for _, f := range files {
		data, err := tree.ReadFile(f)
		if err != nil {
			continue
		}
		var domain []string
		if d := path.Dir(f); d != "." {
			domain = strings.Split(d, "/")
		}
		ps = append(ps, sourceignore.ReadPatterns(bytes.NewReader(data), domain)...)
		digest = append(digest, f, cache.Digest(data))
	}
	if src != nil && src.Ignore != nil {
		ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(*src.Ignore), nil)...)
		digest = append(digest, "spec.ignore", *src.Ignore)
	}
	if len(ps) == 0 {
		return &sourceFilter{matcher: sourceignore.NewDefaultMatcher(nil, nil), digest: cache.Key(digest...)}
	}
	return &sourceFilter{matcher: sourceignore.NewMatcher(append(sourceignore.VCSPatterns(nil), ps...)), digest: cache.Key(digest...)}
}

// preorderLess orders directories as a depth-first walk meets them, the
// order source-controller reads .sourceignore files in.
func preorderLess(a, b string) bool {
	if a == "." {
		return b != "."
	}
	if b == "." {
		return false
	}
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}
