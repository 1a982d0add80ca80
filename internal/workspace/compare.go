package workspace

import (
	"context"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/ci"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// Comparison is what a change does to the roots it touches.
type Comparison struct {
	Diffs []diff.RootDiff
	// Broken are the roots that do not render on the head side.
	Broken []*diff.HeadError
	// Head is the head side's repository: its clusters and skipped
	// Kustomizations.
	Head *render.Repository
}

// Rev is the base of a comparison: a tree at hand, or a commit whose tree
// Compare lists while it discovers the head (a listing reads every tree
// object of the commit: a tenth of a cold diff of a large repository).
type Rev struct {
	Tree   repo.Tree
	Commit plumbing.Hash
}

// Compare renders the roots at or under dirs on both sides and compares
// them, rendering only the roots whose inputs may differ.
func (w *Workspace) Compare(ctx context.Context, base Rev, head repo.Tree, dirs []string, opts diff.Options) (*Comparison, error) {
	type listed struct {
		tree repo.Tree
		err  error
	}
	baseTree := make(chan listed, 1)
	go func() {
		if base.Tree != nil {
			baseTree <- listed{tree: base.Tree}
			return
		}
		t, err := w.CommitTree(base.Commit)
		baseTree <- listed{t, err}
	}()
	type discovered struct {
		side diff.Side
		err  error
	}
	baseSide := make(chan discovered, 1)
	started := false
	startBase := func() {
		if started {
			return
		}
		started = true
		go func() {
			bt := <-baseTree
			if bt.err != nil {
				baseSide <- discovered{err: bt.err}
				return
			}
			b, err := w.sideFiles(ctx, bt.tree, lazyParents, nil)
			if err == nil {
				err = b.Engine.Expand(ctx, b.Repository)
			}
			baseSide <- discovered{b, err}
		}()
	}
	// With a warm memo the two sides read their files at once. Without
	// one, the head's files are read first and the base, started as soon
	// as they are, finds the facts of every file the change leaves alone
	// in the memo while the head puts its own together. Either way the
	// base's clusters are walked while the head's are, each parent the two
	// render alike rendered once (Options.Flights).
	if w.memoWarm() {
		startBase()
	}
	h, err := w.sideFiles(ctx, head, lazyParents, startBase) // startBase runs on this goroutine
	if err != nil {
		if started {
			<-baseSide
		} else {
			<-baseTree
		}
		return nil, err
	}
	startBase() // already started, as discovery read the facts
	if err = h.Engine.Expand(ctx, h.Repository); err == nil {
		h.Engine.RememberRoots(h.Repository) // the tree a next run most likely shows
	}
	bs := <-baseSide
	if err != nil {
		return nil, err
	}
	if bs.err != nil {
		return nil, bs.err
	}
	diffs, broken, err := diff.Revisions(ctx, bs.side, h, dirs, opts)
	h.Engine.Trim()
	if err != nil {
		return nil, err
	}
	return &Comparison{Diffs: diffs, Broken: broken, Head: h.Repository}, nil
}

// side builds an engine over tree and discovers its roots and clusters.
func (w *Workspace) side(ctx context.Context, tree repo.Tree) (diff.Side, error) {
	s, err := w.sideFiles(ctx, tree, nil, nil)
	if err != nil {
		return diff.Side{}, err
	}
	return s, s.Engine.Expand(ctx, s.Repository)
}

// lazyParents tunes the engines of a diff, which renders the roots the
// change may touch: a parent of a cluster's walk only for its children,
// where its files tell them.
func lazyParents(o *render.Options) { o.LazyParents = true }

// sideFiles builds an engine over tree, its options adjusted by tune, and
// discovers its roots from the files, calling read once their facts are
// read (render.Engine.DiscoverFiles); its clusters' trees are left to
// walk (render.Engine.Expand).
func (w *Workspace) sideFiles(ctx context.Context, tree repo.Tree, tune func(*render.Options), read func()) (diff.Side, error) {
	eng, err := w.EngineWith(tree, tune)
	if err != nil {
		return diff.Side{}, err
	}
	c, err := w.checkout(tree)
	if err != nil {
		return diff.Side{}, err
	}
	disc, err := eng.DiscoverFiles(ctx, c, read)
	if err != nil {
		return diff.Side{}, err
	}
	return diff.Side{Engine: eng, Repository: disc}, nil
}

// TreeAt returns the tree of rev and the commit it is at: for an empty
// rev, the working tree and HEAD.
func (w *Workspace) TreeAt(rev string) (repo.Tree, plumbing.Hash, error) {
	if rev == "" {
		tree, err := w.Repo.Tree("")
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		h, err := w.Repo.Resolve("HEAD")
		return tree, h, err
	}
	h, err := w.Repo.Resolve(rev)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	tree, err := w.CommitTree(h)
	return tree, h, err
}

// MergeBase resolves rev and returns its merge-base with head: what a
// pull request from head into rev compares against.
func (w *Workspace) MergeBase(rev string, head plumbing.Hash) (plumbing.Hash, error) {
	r := w.Repo
	base, err := r.Resolve(rev)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("--base: %w", err)
	}
	if base == head {
		return base, nil
	}
	mb, ok, err := r.MergeBase(base, head)
	switch {
	case err != nil:
		return plumbing.ZeroHash, fmt.Errorf("merge-base of %s and %s: %w", rev, head, err)
	case !ok:
		return plumbing.ZeroHash, fmt.Errorf("%s and the head have no common history", rev)
	}
	return mb, nil
}

// Analyze is what the pull-request bot reports: the rendered diff and the
// check of the roots and files changed between the merge-base of base and
// HEAD, and HEAD, the part of them shard takes.
func (w *Workspace) Analyze(ctx context.Context, base string, shard render.Shard) (*ci.Analysis, error) {
	head, err := w.Repo.Resolve("HEAD")
	if err != nil {
		return nil, err
	}
	mb, err := w.MergeBase(base, head)
	if err != nil {
		return nil, err
	}
	headTree, err := w.CommitTree(head)
	if err != nil {
		return nil, err
	}
	c, err := w.Compare(ctx, Rev{Commit: mb}, headTree, []string{"."}, diff.Options{Shard: shard})
	if err != nil {
		return nil, err
	}
	a := &ci.Analysis{Kind: ci.AnalysisKind, Head: head.String(), Base: mb.String(), Shard: shard.String(), Diffs: c.Diffs, Broken: []ci.Broken{}}
	for _, b := range c.Broken {
		if !b.Before { // one broken before the change is not its doing
			a.Broken = append(a.Broken, ci.Broken{Root: b.Root.String(), Error: b.Err.Error()})
		}
	}
	changed, err := w.Repo.ChangedFiles(mb, head)
	if err != nil {
		return nil, err
	}
	if changed == nil {
		changed = []string{} // no file changed checks no root
	}
	a.Report, err = w.Check(ctx, headTree, Scope{Files: changed, Shard: shard}, Settings{})
	return a, err
}

// Change renders what writing changes (file contents) on top of baseTree
// would do: the rendered diff, and the check of the roots and files the
// change touches. A root the change breaks is an error.
func (w *Workspace) Change(ctx context.Context, baseTree repo.Tree, changes map[string][]byte) ([]diff.RootDiff, *validate.Report, error) {
	headTree := repo.Overlay(baseTree, changes)
	c, err := w.Compare(ctx, Rev{Tree: baseTree}, headTree, []string{"."}, diff.Options{})
	if err != nil {
		return nil, nil, err
	}
	for _, b := range c.Broken {
		if !b.Before {
			return nil, nil, fmt.Errorf("the change breaks %s: %v", b.Root, b.Err)
		}
	}
	files := make([]string, 0, len(changes))
	for f := range changes {
		files = append(files, f)
	}
	sort.Strings(files)
	report, err := w.Check(ctx, headTree, Scope{Files: files}, Settings{})
	return c.Diffs, report, err
}
