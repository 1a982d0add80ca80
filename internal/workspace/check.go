package workspace

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/hooks"
	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// Scope says what a check looks at: the roots and files at or under
// Paths, or the roots reading Files (the hooks, the pull-request bot), or
// everything.
type Scope struct {
	// Paths are repository-relative; "." is the whole repository.
	Paths []string
	All   bool
	// Files, when set, selects the roots that read one of them and checks
	// these files (the pre-commit hooks' staged files, a change's files).
	Files []string
	// RenderAll renders every root for Files too: the reference the
	// change's own render (renderTouched) is held to in tests.
	RenderAll bool
	// Shard, unless whole, checks one part of the scope (shardPart).
	Shard render.Shard
}

// Settings are the check's own options.
type Settings struct {
	// KubernetesVersion is the cluster's; .gitops.yaml's when empty.
	KubernetesVersion string
	// CRDPaths are files or directories on disk holding
	// CustomResourceDefinitions, beyond .gitops.yaml's.
	CRDPaths []string
	// Rules, when set, are the only rules run.
	Rules []string
}

// Check renders what the scope needs of tree (most from the cache) and
// runs the rules over the scope.
func (w *Workspace) Check(ctx context.Context, tree repo.Tree, scope Scope, s Settings) (*validate.Report, error) {
	cfg, err := validate.LoadConfig(tree)
	if err != nil {
		return nil, err
	}
	kv := s.KubernetesVersion
	if kv == "" {
		kv = cfg.KubernetesVersion
	}
	eng, err := w.EngineWith(tree, func(opts *render.Options) {
		opts.Origins = true
		if kv != "" {
			opts.KubeVersion = kv
		}
	})
	if err != nil {
		return nil, err
	}
	// Built while the roots render: a root checked afresh needs it, and the
	// second core is idle once the cached roots are looked up.
	schemas := validate.PrepareSchemas(kv)
	if scope.Files != nil && scope.Shard.Whole() {
		eng.Prebuild(ctx, scope.Files)
	}
	disc, err := w.Discover(ctx, eng)
	if err != nil {
		return nil, err
	}
	var results []*render.Result
	var part *shardPart
	parsed := &validate.Parsed{}
	switch {
	case !scope.Shard.Whole():
		part = scope.part(disc)
		results, err = renderFor(ctx, eng, disc, tree, part.render, part.files, w.openAnswers(), parsed)
	case scope.Files != nil && !scope.RenderAll:
		results, err = renderTouched(ctx, eng, disc, tree, scope.Files, w.openAnswers(), parsed)
	default:
		// What is set aside in a folder the scope names too.
		results, err = eng.Render(ctx, disc, slices.Concat(disc.Roots, disc.SetAsideUnder(scope.Paths)))
	}
	if err != nil {
		return nil, err
	}
	foreign, missing, err := w.RenderForeign(ctx, cfg.FluxRepositories)
	if err != nil {
		return nil, err
	}
	in := validate.Input{Tree: tree, Repository: disc, Results: results, Foreign: foreign, MissingFluxRepositories: missing, Parsed: parsed}
	switch {
	case part != nil:
		in.Files, in.Roots, in.Partial = part.files, part.roots, true
		if scope.Files != nil || !scope.everything() {
			_, scoped := scope.resolve(disc, results)
			in.Roots = slices.DeleteFunc(scoped, func(r render.Root) bool { return !part.taken[r.Key()] })
		}
	case scope.Files != nil || !scope.everything():
		in.Files, in.Roots = scope.resolve(disc, results)
	}
	crds, err := LoadCRDs(tree, cfg.CRDs, s.CRDPaths)
	if err != nil {
		return nil, err
	}
	report, err := validate.Run(ctx, in, validate.Options{
		Config:            cfg,
		KubernetesVersion: kv,
		CRDs:              crds,
		Rules:             s.Rules,
		Cache:             eng.Cache(),
		Salt:              version.CacheSalt(),
		RepoKey:           w.Repo.Root,
		Schemas:           schemas,
	})
	eng.Trim()
	return report, err
}

// everything tells whether the scope is the whole repository.
func (s Scope) everything() bool {
	return s.Files == nil && (s.All || slices.Contains(s.Paths, "."))
}

// shardPart is what one shard of a check covers.
type shardPart struct {
	// taken are the keys of the roots of the scope the shard takes.
	taken map[string]bool
	// roots are those roots; files are the files of the scope whose
	// first reader it takes, or that no root reads and hash to it.
	roots []render.Root
	files []string
	// render are the roots to render: the shard's, and every root that
	// may read one of its files (the unapplied rule asks them all).
	render []render.Root
}

// part splits the scope, told without rendering: the roots that may read
// its files (or are at or under its paths), balanced by the files each
// may read.
func (s Scope) part(disc *render.Repository) *shardPart {
	var files []string
	var cands []render.Root
	switch {
	case s.Files != nil:
		files, cands = s.Files, disc.Touching(s.Files)
	case s.everything():
		files, cands = disc.Files, disc.Roots
	default:
		for _, f := range disc.Files {
			if under(f, s.Paths) {
				files = append(files, f)
			}
		}
		cands = disc.Touching(files)
		seen := map[string]bool{}
		for _, r := range cands {
			seen[r.Key()] = true
		}
		for _, r := range disc.Roots {
			if !seen[r.Key()] && under(r.Path, s.Paths) {
				cands = append(cands, r)
			}
		}
	}
	p := &shardPart{taken: s.Shard.Take(disc.Weights(cands)), roots: []render.Root{}}
	p.files = s.Shard.FilesOf(files, disc.Holders(cands, files), p.taken)
	for _, r := range cands {
		if p.taken[r.Key()] {
			p.roots = append(p.roots, r)
		}
	}
	p.render = p.roots
	seen := maps.Clone(p.taken)
	for _, r := range disc.Touching(p.files) {
		if !seen[r.Key()] {
			seen[r.Key()] = true
			p.render = append(p.render, r)
		}
	}
	return p
}

// under tells whether p lies under one of dirs.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || d == "." || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// renderTouched renders what checking a change of files needs, told
// without rendering the rest: the roots the files may change
// (Repository.Touching), then the roots that may render what the rules
// look up from those (validate.Lookups: the objects their Flux objects
// refer to, the ImagePolicies the files' markers name, the definitions
// of their custom resources, the Kustomizations of the same clusters that
// may apply what those apply), then with everything the engine rendered
// on the way (the parents of each cluster's walk, the roots a
// substitution read from). The objects of the roots touched are left in
// parsed for the checks.
func renderTouched(ctx context.Context, eng *render.Engine, disc *render.Repository, tree repo.Tree, files []string, answers *cache.Memo[bool], parsed *validate.Parsed) ([]*render.Result, error) {
	return renderFor(ctx, eng, disc, tree, disc.Touching(files), files, answers, parsed)
}

// renderFor renders the roots touched and what the rules look up from
// them and from files.
func renderFor(ctx context.Context, eng *render.Engine, disc *render.Repository, tree repo.Tree, touched []render.Root, files []string, answers *cache.Memo[bool], parsed *validate.Parsed) ([]*render.Result, error) {
	results, err := eng.Render(ctx, disc, touched)
	if err != nil {
		return nil, err
	}
	look, err := validate.Lookups(results, tree, files, parsed)
	if err != nil {
		return nil, err
	}
	clusters, anyCluster := fluxClusters(results)
	done := map[string]bool{}
	for _, r := range touched {
		done[r.Key()] = true
	}
	more := func(want func(render.Root) bool) error {
		roots := render.Select(disc.Roots, func(root render.Root) bool { return !done[root.Key()] && want(root) })
		for _, root := range roots {
			done[root.Key()] = true
		}
		if len(roots) == 0 {
			return nil
		}
		rest, err := eng.Render(ctx, disc, roots)
		results = append(results, rest...)
		return err
	}
	if err := more(func(root render.Root) bool {
		return (len(look.Names) > 0 && disc.MayProduce(root, look.Names)) || (look.CustomKinds && disc.DefinesAPIs(root))
	}); err != nil {
		return nil, err
	}
	// The Kustomizations of the touched roots' clusters that may apply an
	// object one of them applies: the duplicate-object rule compares them.
	if err := more(func(root render.Root) bool {
		if len(look.Applied) == 0 || root.Kustomization == nil {
			return false
		}
		sameCluster := anyCluster || root.Cluster == nil || clusters[root.Cluster.Name]
		return sameCluster && mayApply(answers, disc, root, look.Applied)
	}); err != nil {
		return nil, err
	}
	answers.Save()
	// A marker naming no ImagePolicy there is reads otherwise when the
	// repository defines none: whether it does is told by every root
	// that may.
	if look.Marked && !definesPolicy(eng.WithRendered(results)) {
		if err := more(func(root render.Root) bool { return disc.MayProduce(root, []string{"ImagePolicy"}) }); err != nil {
			return nil, err
		}
	}
	return eng.WithRendered(results), nil
}

// mayApply is disc.MayApply, its answer kept in answers: it reads every
// input file of each root of a cluster, the same answer on the next
// commit but for the roots the change touches.
func mayApply(answers *cache.Memo[bool], disc *render.Repository, root render.Root, objs []render.ObjectName) bool {
	key := disc.MayApplyKey(root, objs)
	if key == "" {
		return disc.MayApply(root, objs)
	}
	if may, ok := answers.Get(key); ok {
		return may
	}
	may := disc.MayApply(root, objs)
	answers.Put(key, may)
	return may
}

// answersHeader names the record of MayApply's answers: per key, the
// answer.
const answersHeader = "may-apply/1"

// openAnswers reads the answers MayApply gave earlier runs; nil without
// a cache.
func (w *Workspace) openAnswers() *cache.Memo[bool] {
	c, err := w.Cache()
	if err != nil || c == nil {
		return nil
	}
	return cache.OpenMemo(c, cache.Key(answersHeader, version.CacheSalt(), w.Repo.Root), answersHeader,
		func(w *cache.Writer, v bool) { w.Bool(v) }, func(r *cache.Reader) bool { return r.Bool() })
}

// fluxClusters names the clusters whose walk reached the Flux
// Kustomizations among results; anyCluster tells that one of them no walk
// reached, so its cluster is not known.
func fluxClusters(results []*render.Result) (names map[string]bool, anyCluster bool) {
	names = map[string]bool{}
	for _, res := range results {
		switch {
		case res.Root.Kustomization == nil:
		case res.Root.Cluster == nil:
			anyCluster = true
		default:
			names[res.Root.Cluster.Name] = true
		}
	}
	return names, anyCluster
}

// definesPolicy tells whether one of results renders an ImagePolicy.
func definesPolicy(results []*render.Result) bool {
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		objs, err := res.ObjectsOf(images.Group)
		if err != nil {
			return false
		}
		for _, o := range objs {
			if o.GetKind() == "ImagePolicy" {
				return true
			}
		}
	}
	return false
}

// resolve returns the files and roots a scope covers: the paths, the roots
// at or under them, and the roots that read a file under them; for hooks,
// the staged files and the roots they affect.
func (s Scope) resolve(disc *render.Repository, results []*render.Result) ([]string, []render.Root) {
	if s.Files != nil {
		// None affected checks none: a nil list would check every root.
		return s.Files, append([]render.Root{}, hooks.Affected(results, s.Files)...)
	}
	roots := []render.Root{}
	for _, res := range results {
		in := under(res.Root.Path, s.Paths)
		for _, input := range res.Inputs {
			in = in || under(input.Path, s.Paths)
		}
		if in {
			roots = append(roots, res.Root)
		}
	}
	return s.Paths, roots
}

// LoadCRDs reads CustomResourceDefinitions from the configuration's paths
// (in the tree) and the command line's (on disk).
func LoadCRDs(tree repo.Tree, fromConfig, fromFlags []string) ([]map[string]any, error) {
	var out []map[string]any
	add := func(file string, data []byte) error {
		for _, d := range manifest.Split(data) {
			o, err := manifest.Decode(file, d)
			if err != nil {
				return err
			}
			if o.Kind != "CustomResourceDefinition" {
				continue
			}
			var m map[string]any
			if err := o.Node().Decode(&m); err != nil {
				return fmt.Errorf("%s:%d: %w", file, o.Line, err)
			}
			out = append(out, m)
		}
		return nil
	}
	for _, p := range fromConfig {
		if err := walkTree(tree, p, add); err != nil {
			return nil, fmt.Errorf(".gitops.yaml crds: %w", err)
		}
	}
	for _, p := range fromFlags {
		err := filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isYAMLName(f) {
				return err
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			return add(f, data)
		})
		if err != nil {
			return nil, fmt.Errorf("--crds: %w", err)
		}
	}
	return out, nil
}

func isYAMLName(p string) bool { return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") }

// walkTree calls fn for every YAML file at or under p in the tree. A
// directory is walked once however many symlinks lead to it, so a link to a
// directory above it ends.
func walkTree(tree repo.Tree, p string, fn func(string, []byte) error) error {
	return walkTreeOnce(tree, p, map[string]bool{}, fn)
}

func walkTreeOnce(tree repo.Tree, p string, seen map[string]bool, fn func(string, []byte) error) error {
	real, kind, err := tree.Resolve(p)
	if err != nil {
		return err
	}
	if kind == repo.File {
		data, err := tree.ReadFile(p)
		if err != nil {
			return err
		}
		return fn(p, data)
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	entries, err := tree.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := p + "/" + e.Name
		if e.Kind == repo.Dir || isYAMLName(e.Name) {
			if err := walkTreeOnce(tree, child, seen, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// RenderForeign renders the working trees of the other repositories the
// configuration names under fluxRepositories (paths relative to this
// repository's root), and lists those that are not there.
func (w *Workspace) RenderForeign(ctx context.Context, paths []string) (out []*render.Result, missing []string, err error) {
	for _, p := range paths {
		dir := p
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(w.Repo.Root, filepath.FromSlash(p))
		}
		if _, err := os.Stat(dir); err != nil {
			missing = append(missing, p)
			continue
		}
		r, err := repo.OpenAt(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: fluxRepositories: %w", validate.ConfigFile, err)
		}
		tree, err := r.Tree("")
		if err != nil {
			return nil, nil, err
		}
		sub := &Workspace{Repo: r, opts: w.opts, shared: w.shared}
		eng, err := sub.Engine(tree)
		if err != nil {
			return nil, nil, err
		}
		disc, err := sub.Discover(ctx, eng)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		results, err := eng.Render(ctx, disc, disc.Roots)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, results...)
	}
	return out, missing, nil
}

// CheckStaged checks files as the commit being made will hold them: the
// roots that read one of them, from the staged files of a Git repository
// (the working tree otherwise), running only rules when set.
func (w *Workspace) CheckStaged(ctx context.Context, files, rules []string) (*validate.Report, error) {
	// pre-commit stashes unstaged edits, but an untracked file would still
	// be seen in the working tree, and the commit would not carry it.
	tree, err := w.Repo.Tree("")
	if w.Repo.Git != nil {
		tree, err = w.Repo.IndexTree()
		w.Repo.Preload() // for the staged roots' renders
	}
	if err != nil {
		return nil, err
	}
	return w.Check(ctx, tree, Scope{Files: files}, Settings{Rules: rules})
}
