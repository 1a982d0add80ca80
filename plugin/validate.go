package plugin

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/hooks"
	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// ValidateOptions are the options of `kubectl gitops validate`.
type ValidateOptions struct {
	genericiooptions.IOStreams
	repoOptions
	shardOptions

	Paths             []string
	All               bool
	Ref               string
	Output            string
	KubernetesVersion string
	CRDs              []string
	Color             string
	Rules             []string

	paths []string // repository-relative
}

// NewCmdValidate returns the validate command.
func NewCmdValidate(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValidateOptions{IOStreams: streams}
	var ids []string
	for _, r := range validate.Rules() {
		ids = append(ids, fmt.Sprintf("  %-20s %-8s %s", r.ID, r.Severity, r.Description))
	}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check overlays, Flux objects and image markers before they merge",
		Long: `Render the roots at or under each PATH (the current directory by default,
the whole repository with --all) and check what they render and the files
they read. Every finding names the file and line to fix.

Rules (set to off, warning or error in .gitops.yaml under "rules:", or on one
object with the annotation ` + validate.RulesAnnotation + `: "rule=off,rule=warning"):
` + strings.Join(ids, "\n") + `

Exit status: 0 no error, 1 findings of error severity, 2 could not run.`,
		Example: examples(`  # Check the whole repository
  %[1]s validate --all

  # Check one overlay against Kubernetes 1.33, with extra CRDs
  %[1]s validate deploy/kubernetes/overlays/prod --kubernetes-version v1.33 --crds ./crds

  # Annotate a pull request in GitHub Actions
  %[1]s validate --all -o github`),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			defer o.finish()
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", false, "check every root and file of the repository, wherever the command runs")
	f.StringVar(&o.Ref, "ref", "", "check the repository at this Git revision instead of the working tree")
	f.StringVarP(&o.Output, "output", "o", validate.FormatText, "output format: "+strings.Join(validate.Formats(), ", "))
	f.StringVar(&o.KubernetesVersion, "kubernetes-version", "", "the cluster's Kubernetes version, for schemas and API removals (default: .gitops.yaml's, else the built-in schemas' newest)")
	f.StringSliceVar(&o.CRDs, "crds", nil, "a directory or file of CustomResourceDefinitions to validate custom resources against (repeatable)")
	f.StringVar(&o.Color, "color", "auto", "colour the text output: auto, always or never")
	f.StringSliceVar(&o.Rules, "rule", nil, "run only these rules (repeatable)")
	o.addShardFlag(f)
	return cmd
}

// Complete opens the repository and resolves the paths.
func (o *ValidateOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	paths, err := o.relPaths(args, o.cwd)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	o.Paths, o.paths = args, paths
	if o.All {
		o.paths = []string{"."}
	}
	return nil
}

// Validate checks the flags.
func (o *ValidateOptions) Validate() error {
	if !slices.Contains(validate.Formats(), o.Output) {
		return withCode(ExitFailure, fmt.Errorf("--output must be one of %s, got %q", strings.Join(validate.Formats(), ", "), o.Output))
	}
	if o.Color != "auto" && o.Color != "always" && o.Color != "never" {
		return withCode(ExitFailure, fmt.Errorf("--color must be auto, always or never, got %q", o.Color))
	}
	known := map[string]bool{}
	for _, r := range validate.Rules() {
		known[r.ID] = true
	}
	for _, id := range o.Rules {
		if !known[id] {
			return withCode(ExitFailure, fmt.Errorf("--rule: unknown rule %q", id))
		}
	}
	if err := o.parseShard(); err != nil {
		return withCode(ExitFailure, err)
	}
	return withCodeIf(ExitFailure, o.validate())
}

// Run renders, checks and prints.
func (o *ValidateOptions) Run(ctx context.Context) error {
	stop := o.showProgress(o.ErrOut, "validating")
	report, err := o.check(ctx)
	stop()
	if err != nil {
		return withCode(ExitFailure, err)
	}
	err = validate.Write(o.Out, report, o.Output, validate.WriteOptions{Color: o.useColor(), Version: version.Get().Version})
	if err != nil {
		return withCode(ExitFailure, err)
	}
	if report.Failed() {
		return withCode(ExitFindings, nil)
	}
	return nil
}

func (o *ValidateOptions) check(ctx context.Context) (*validate.Report, error) {
	tree, err := o.tree(o.Ref)
	if err != nil {
		return nil, err
	}
	return checkTree(ctx, &o.repoOptions, tree, checkScope{paths: o.paths, all: o.All, shard: o.shard}, validateSettings{
		kubernetesVersion: o.KubernetesVersion,
		crdPaths:          o.CRDs,
		rules:             o.Rules,
	})
}

// checkScope says what a check looks at: the roots and files at or under
// paths, or roots reading files (hooks), or everything.
type checkScope struct {
	paths []string
	all   bool
	// files, when set, selects the roots that read one of them and checks
	// these files (the pre-commit hooks' staged files).
	files []string
	// renderAll renders every root for files too: the reference the
	// change's own render (renderTouched) is held to in tests.
	renderAll bool
	// shard, unless whole, checks one part of the scope (shardPart).
	shard render.Shard
}

type validateSettings struct {
	kubernetesVersion string
	crdPaths          []string
	rules             []string
}

// checkTree renders every root of tree (most from the cache) and runs the
// rules over the scope.
func checkTree(ctx context.Context, ro *repoOptions, tree repo.Tree, scope checkScope, s validateSettings) (*validate.Report, error) {
	cfg, err := validate.LoadConfig(tree)
	if err != nil {
		return nil, err
	}
	kv := s.kubernetesVersion
	if kv == "" {
		kv = cfg.KubernetesVersion
	}
	eng, err := ro.engineWith(tree, func(opts *render.Options) {
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
	disc, err := ro.discover(ctx, eng)
	if err != nil {
		return nil, err
	}
	var results []*render.Result
	var part *shardPart
	switch {
	case !scope.shard.Whole():
		part = scope.part(disc)
		results, err = renderFor(ctx, eng, disc, tree, part.render, part.files)
	case scope.files != nil && !scope.renderAll:
		results, err = renderTouched(ctx, eng, disc, tree, scope.files)
	default:
		results, err = eng.Render(ctx, disc, disc.Roots)
	}
	if err != nil {
		return nil, err
	}
	foreign, missing, err := renderForeign(ctx, ro, cfg.FluxRepositories)
	if err != nil {
		return nil, err
	}
	in := validate.Input{Tree: tree, Repository: disc, Results: results, Foreign: foreign, MissingFluxRepositories: missing}
	switch {
	case part != nil:
		in.Files, in.Roots = part.files, part.roots
		if scope.files != nil || !scope.everything() {
			_, scoped := scope.resolve(disc, results)
			in.Roots = slices.DeleteFunc(scoped, func(r render.Root) bool { return !part.taken[r.Key()] })
		}
	case scope.files != nil || !scope.everything():
		in.Files, in.Roots = scope.resolve(disc, results)
	}
	crds, err := loadCRDs(tree, cfg.CRDs, s.crdPaths)
	if err != nil {
		return nil, err
	}
	report, err := validate.Run(ctx, in, validate.Options{
		Config:            cfg,
		KubernetesVersion: kv,
		CRDs:              crds,
		Rules:             s.rules,
		Cache:             eng.Cache(),
		Salt:              version.CacheSalt(),
		RepoKey:           ro.repo.Root,
		Schemas:           schemas,
	})
	eng.Trim()
	return report, err
}

// everything tells whether the scope is the whole repository.
func (s checkScope) everything() bool {
	return s.files == nil && (s.all || slices.Contains(s.paths, "."))
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
func (s checkScope) part(disc *render.Repository) *shardPart {
	var files []string
	var cands []render.Root
	switch {
	case s.files != nil:
		files, cands = s.files, disc.Touching(s.files)
	case s.everything():
		files, cands = disc.Files, disc.Roots
	default:
		for _, f := range disc.Files {
			if under(f, s.paths) {
				files = append(files, f)
			}
		}
		cands = disc.Touching(files)
		seen := map[string]bool{}
		for _, r := range cands {
			seen[r.Key()] = true
		}
		for _, r := range disc.Roots {
			if !seen[r.Key()] && under(r.Path, s.paths) {
				cands = append(cands, r)
			}
		}
	}
	p := &shardPart{taken: s.shard.Take(disc.Weights(cands)), roots: []render.Root{}}
	p.files = s.shard.FilesOf(files, disc.Holders(cands, files), p.taken)
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
// of their custom resources), then with everything the engine rendered
// on the way (the parents of each cluster's walk, the roots a
// substitution read from).
func renderTouched(ctx context.Context, eng *render.Engine, disc *render.Repository, tree repo.Tree, files []string) ([]*render.Result, error) {
	return renderFor(ctx, eng, disc, tree, disc.Touching(files), files)
}

// renderFor renders the roots touched and what the rules look up from
// them and from files.
func renderFor(ctx context.Context, eng *render.Engine, disc *render.Repository, tree repo.Tree, touched []render.Root, files []string) ([]*render.Result, error) {
	results, err := eng.Render(ctx, disc, touched)
	if err != nil {
		return nil, err
	}
	names, marked, custom, err := validate.Lookups(results, tree, files)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, r := range touched {
		done[r.Key()] = true
	}
	more := func(want func(render.Root) bool) error {
		var roots []render.Root
		for _, root := range disc.Roots {
			if !done[root.Key()] && want(root) {
				roots = append(roots, root)
				done[root.Key()] = true
			}
		}
		if len(roots) == 0 {
			return nil
		}
		rest, err := eng.Render(ctx, disc, roots)
		results = append(results, rest...)
		return err
	}
	if err := more(func(root render.Root) bool {
		return (len(names) > 0 && disc.MayProduce(root, names)) || (custom && disc.DefinesAPIs(root))
	}); err != nil {
		return nil, err
	}
	// A marker naming no ImagePolicy there is reads otherwise when the
	// repository defines none: whether it does is told by every root
	// that may.
	if marked && !definesPolicy(eng.WithRendered(results)) {
		if err := more(func(root render.Root) bool { return disc.MayProduce(root, []string{"ImagePolicy"}) }); err != nil {
			return nil, err
		}
	}
	return eng.WithRendered(results), nil
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
func (s checkScope) resolve(disc *render.Repository, results []*render.Result) ([]string, []render.Root) {
	if s.files != nil {
		// None affected checks none: a nil list would check every root.
		return s.files, append([]render.Root{}, hooks.Affected(results, s.files)...)
	}
	files := s.paths
	under := func(p string) bool {
		for _, f := range files {
			if p == f || strings.HasPrefix(p, f+"/") {
				return true
			}
		}
		return false
	}
	roots := []render.Root{}
	for _, res := range results {
		in := under(res.Root.Path)
		for _, input := range res.Inputs {
			in = in || under(input.Path)
		}
		if in {
			roots = append(roots, res.Root)
		}
	}
	return files, roots
}

// loadCRDs reads CustomResourceDefinitions from the configuration's paths
// (in the tree) and the command line's (on disk).
func loadCRDs(tree repo.Tree, fromConfig, fromFlags []string) ([]map[string]any, error) {
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

// useColor tells whether text output is coloured: on a terminal, unless
// NO_COLOR is set.
func (o *ValidateOptions) useColor() bool {
	switch o.Color {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(o.Out)
}

// isTerminal tells whether w is a terminal and colour is welcome there.
func isTerminal(w any) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// renderForeign renders the working trees of the other repositories the
// configuration names under fluxRepositories (paths relative to this
// repository's root), and lists those that are not there.
func renderForeign(ctx context.Context, ro *repoOptions, paths []string) (out []*render.Result, missing []string, err error) {
	for _, p := range paths {
		dir := p
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(ro.repo.Root, filepath.FromSlash(p))
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
		sub := *ro
		sub.repo = r
		eng, err := sub.engine(tree)
		if err != nil {
			return nil, nil, err
		}
		disc, err := sub.discover(ctx, eng)
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
