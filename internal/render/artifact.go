package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// GeneratorGroup is the API group of Flux's ArtifactGenerator (Flux 2.7's
// source-watcher), which makes ExternalArtifacts from its sources' files.
const GeneratorGroup = "source.extensions.fluxcd.io"

// generator is an ArtifactGenerator: the sources it reads, by alias, and
// the artifacts it makes of their files.
type generator struct {
	Object    *manifest.Object
	Namespace string
	Spec      struct {
		Sources   []generatorSource   `json:"sources"`
		Artifacts []generatorArtifact `json:"artifacts"`
	}
}

// generatorSource is a source an ArtifactGenerator reads, by alias.
type generatorSource struct {
	Alias     string `json:"alias"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// generatorArtifact is an artifact an ArtifactGenerator makes.
type generatorArtifact struct {
	Name string   `json:"name"`
	Copy []copyOp `json:"copy"`
}

// copyOp is one copy of an artifact: files of a source, by alias, into the
// artifact, with cp's semantics.
type copyOp struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Exclude  []string `json:"exclude"`
	Strategy string   `json:"strategy"`
}

// generatorOf reads an ArtifactGenerator from its spec as JSON.
func generatorOf(o *manifest.Object, ns string, spec json.RawMessage) (*generator, bool) {
	g := &generator{Object: o, Namespace: ns}
	if json.Unmarshal(spec, &g.Spec) != nil {
		return nil, false
	}
	return g, true
}

// ID names the generator as namespace/name.
func (g *generator) ID() string { return g.Namespace + "/" + g.Object.Name }

// externalArtifact finds the artifact an ExternalArtifact sourceRef names,
// among the generators of its namespace, and builds it from this
// repository's files: a Revision whose tree maps each of the artifact's
// files to the file it copies. A source that is not this repository, or a
// copy strategy other than Overwrite, leaves it unbuilt, with why.
func (r *Repository) externalArtifact(k *Kustomization, generators map[string]*generator, local func(*Source) (*Revision, repo.Tree, bool)) (*Revision, string) {
	ns := k.Spec.SourceRef.Namespace
	if ns == "" {
		ns = k.Namespace()
	}
	name := k.Spec.SourceRef.Name
	for _, id := range slices.Sorted(maps.Keys(generators)) {
		g := generators[id]
		if g.Namespace != ns {
			continue
		}
		for _, a := range g.Spec.Artifacts {
			if a.Name != name {
				continue
			}
			return r.buildArtifact(g, a.Name, a.Copy, local)
		}
	}
	return nil, fmt.Sprintf("its source ExternalArtifact %s/%s is made by no ArtifactGenerator of this repository", ns, name)
}

// buildArtifact makes one artifact of a generator from its copies.
func (r *Repository) buildArtifact(g *generator, name string, ops []copyOp, local func(*Source) (*Revision, repo.Tree, bool)) (*Revision, string) {
	var base repo.Tree
	var baseRev *Revision
	var all []string
	files := map[string]string{}
	for _, op := range ops {
		if op.Strategy != "" && op.Strategy != "Overwrite" {
			return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s copies with the %s strategy, which kubectl gitops does not build yet", name, g.ID(), op.Strategy)
		}
		alias, pattern, ok := strings.Cut(strings.TrimPrefix(op.From, "@"), "/")
		if !strings.HasPrefix(op.From, "@") || !ok && pattern == "" {
			alias, pattern = strings.TrimPrefix(op.From, "@"), ""
		}
		src, reason := g.source(alias, r)
		if src == nil {
			return nil, reason
		}
		at, tree, ok := local(src)
		if !ok {
			return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s copies from %s, another repository (%s)", name, g.ID(), alias, src.URL)
		}
		if base != nil && tree.Revision() != base.Revision() {
			return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s copies from two revisions, which kubectl gitops does not build yet", name, g.ID())
		}
		if base == nil {
			// Every copy reads this one revision: its files are listed once.
			base, baseRev = tree, at
			w, err := walk(tree, ".", nil)
			if err != nil {
				return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s: %v", name, g.ID(), err)
			}
			all = w.files
		}
		// An artifact pushed from a folder holds that folder's files.
		root := r.pushedFolder(src)
		view, copied := all, files
		if root != "" {
			view, copied = filesIn(all, root), map[string]string{}
		}
		if err := copyFiles(copied, view, pattern, strings.TrimPrefix(op.To, "@artifact"), op.Exclude); err != nil {
			return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s: %v", name, g.ID(), err)
		}
		if root != "" {
			for to, from := range copied {
				files[to] = path.Join(root, from)
			}
		}
	}
	if base == nil {
		return nil, fmt.Sprintf("its artifact %s of ArtifactGenerator %s copies nothing", name, g.ID())
	}
	parts := []string{"artifact", g.ID(), name, base.Revision()}
	for _, to := range slices.Sorted(maps.Keys(files)) {
		parts = append(parts, to, files[to])
	}
	what := fmt.Sprintf("artifact %s of ArtifactGenerator %s", name, g.ID())
	if baseRev != nil {
		what += ", " + baseRev.What
	}
	return &Revision{Tree: repo.Mapped(base, files, cache.Key(parts...)), What: what, Copies: baseRev == nil}, ""
}

// filesIn returns the files of all under dir, relative to it.
func filesIn(all []string, dir string) []string {
	var out []string
	for _, f := range all {
		if rel, ok := strings.CutPrefix(f, dir+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}

// source finds the source a generator's alias names.
func (g *generator) source(alias string, r *Repository) (*Source, string) {
	for _, s := range g.Spec.Sources {
		if s.Alias != alias {
			continue
		}
		ns := s.Namespace
		if ns == "" {
			ns = g.Namespace
		}
		src, ok := r.Sources[s.Kind+"/"+ns+"/"+s.Name]
		if !ok {
			return nil, fmt.Sprintf("ArtifactGenerator %s reads %s %s/%s, which is not defined in this repository", g.ID(), s.Kind, ns, s.Name)
		}
		return src, ""
	}
	return nil, fmt.Sprintf("ArtifactGenerator %s has no source aliased %q", g.ID(), alias)
}

// copyFiles adds to files (artifact path -> source path) what one copy
// takes of the source's files all, as source-watcher copies: pattern is
// the part of `from` after the alias, to the part of `to` after @artifact.
// `dir/**` copies dir's contents, `dir/` the directory itself, a glob the
// files it matches, a file the file (renamed unless to ends with a slash).
// Later copies overwrite earlier ones.
func copyFiles(files map[string]string, all []string, pattern, to string, excludes []string) error {
	exclude := compileExcludes(excludes)
	intoDir := to == "" || to == "/" || strings.HasSuffix(to, "/")
	to = strings.Trim(to, "/")
	put := func(rel, src string) {
		files[path.Clean(path.Join(".", to, rel))] = src
	}
	switch {
	case pattern == "" || pattern == "**" || strings.HasSuffix(pattern, "/**"):
		prefix := strings.TrimSuffix(strings.TrimSuffix(pattern, "**"), "/")
		for _, f := range filesUnder(all, prefix) {
			rel := strings.TrimPrefix(f, prefix+"/")
			if prefix == "" {
				rel = f
			}
			if !excluded(rel, exclude) {
				put(rel, f)
			}
		}
	case strings.HasSuffix(pattern, "/"):
		dir := strings.TrimSuffix(pattern, "/")
		for _, f := range filesUnder(all, dir) {
			rel := strings.TrimPrefix(f, dir+"/")
			if !excluded(rel, exclude) {
				put(path.Join(path.Base(dir), rel), f)
			}
		}
	case strings.ContainsAny(pattern, "*?["):
		prefix := globPrefix(pattern)
		re, err := globRegexp(pattern)
		if err != nil {
			return fmt.Errorf("from %q: %v", pattern, err)
		}
		for _, f := range all {
			if !re.MatchString(f) {
				continue
			}
			rel := strings.TrimPrefix(f, prefix)
			if !strings.Contains(pattern, "**") {
				rel = path.Base(f)
			}
			if !excluded(strings.TrimPrefix(f, prefix), exclude) {
				put(rel, f)
			}
		}
	default:
		inside := filesUnder(all, pattern)
		if len(inside) == 0 {
			found := false
			for _, f := range all {
				found = found || f == pattern
			}
			if !found {
				return fmt.Errorf("from %q: no such file or directory in the source", pattern)
			}
			if intoDir {
				put(path.Base(pattern), pattern)
			} else {
				files[path.Clean(to)] = pattern
			}
			return nil
		}
		for _, f := range inside { // a directory, as cp -r copies it
			rel := strings.TrimPrefix(f, pattern+"/")
			if !excluded(rel, exclude) {
				if intoDir {
					rel = path.Join(path.Base(pattern), rel)
				}
				put(rel, f)
			}
		}
	}
	return nil
}

// filesUnder returns the files of all at or under dir ("" for every one).
func filesUnder(all []string, dir string) []string {
	if dir == "" || dir == "." {
		return all
	}
	var out []string
	for _, f := range all {
		if strings.HasPrefix(f, dir+"/") {
			out = append(out, f)
		}
	}
	return out
}

// excludeGlob is a copy's exclude pattern, compiled: one without a slash
// matches a file's name at any depth.
type excludeGlob struct {
	re     *regexp.Regexp
	byName bool
}

// compileExcludes compiles a copy's exclude patterns once for all its
// files; a pattern that does not compile excludes nothing.
func compileExcludes(patterns []string) []excludeGlob {
	var out []excludeGlob
	for _, p := range patterns {
		if re, err := globRegexp(p); err == nil {
			out = append(out, excludeGlob{re: re, byName: !strings.Contains(p, "/")})
		}
	}
	return out
}

// excluded tells whether a file, relative to the copy's prefix, matches an
// exclude pattern.
func excluded(rel string, patterns []excludeGlob) bool {
	for _, p := range patterns {
		target := rel
		if p.byName {
			target = path.Base(rel)
		}
		if p.re.MatchString(target) {
			return true
		}
	}
	return false
}

// globPrefix is the part of a glob before its first pattern character, up
// to a slash.
func globPrefix(pattern string) string {
	i := strings.IndexAny(pattern, "*?[")
	return pattern[:strings.LastIndexByte(pattern[:i], '/')+1]
}

// globRegexp compiles a glob: ** matches any path, * and ? within a name.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(glob[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [ in %q", glob)
			}
			b.WriteString(glob[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
