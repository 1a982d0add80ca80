package workspace

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/promote"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// PromoteQuery says what Promote carries where.
type PromoteQuery struct {
	// From and To are the overlays, repository-relative directories.
	From, To string
	// Images limits the promotion to these images; all when empty.
	Images []string
	// Rev is the revision the promotion starts from: "HEAD" for a
	// commit, "" for the working tree.
	Rev string
}

// Promotion is a promotion planned and checked.
type Promotion struct {
	Query PromoteQuery
	// Plan is what changes, and what is skipped and why.
	Plan promote.Result
	// Files are the changed files, in path order.
	Files []publish.File
	// Rendered is what the change renders to; Report checks the result.
	// Both are unset when the plan changes nothing.
	Rendered []diff.RootDiff
	Report   *validate.Report
}

// Promote plans carrying q.From's image versions to q.To at q.Rev, then
// renders and checks what the change does.
func (w *Workspace) Promote(ctx context.Context, q PromoteQuery) (*Promotion, error) {
	base, err := w.Repo.Tree(q.Rev)
	if err != nil {
		return nil, err
	}
	from, err := promote.Read(base, q.From)
	if err != nil {
		return nil, err
	}
	to, err := promote.Read(base, q.To)
	if err != nil {
		return nil, err
	}
	plan, err := promote.Plan(from, to, q.Images)
	if err != nil {
		return nil, err
	}
	p := &Promotion{Query: q, Plan: plan}
	if len(plan.Files) == 0 {
		return p, nil
	}
	for _, f := range slices.Sorted(maps.Keys(plan.Files)) {
		old, err := base.ReadFile(f)
		if err != nil {
			return nil, err
		}
		p.Files = append(p.Files, publish.File{Path: f, Old: old, New: plan.Files[f]})
	}
	if p.Rendered, p.Report, err = w.Change(ctx, base, plan.Files); err != nil {
		return nil, err
	}
	return p, nil
}

// FileDiffs are the changed files' diffs, in path order.
func (p *Promotion) FileDiffs() []string {
	out := make([]string, len(p.Files))
	for i, f := range p.Files {
		out[i] = publish.FileDiff(f)
	}
	return out
}

// Commit is the promotion's commit: a title naming the images and the
// target, a message listing each change, a branch named after the change;
// with body, a pull request body showing the files' diffs, what the
// change renders to and its check.
func (p *Promotion) Commit(body bool) publish.Change {
	var names []string
	for _, c := range p.Plan.Changes {
		name := c.Image[strings.LastIndexByte(c.Image, '/')+1:]
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	title := fmt.Sprintf("Promote %s to %s", strings.Join(names, ", "), filepath.Base(p.Query.To))
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s\n\nFrom %s to %s:\n", title, p.Query.From, p.Query.To)
	for _, c := range p.Plan.Changes {
		fmt.Fprintf(&msg, "- %s %s: %s -> %s\n", c.Image, c.Field, OrNone(c.Old), OrNone(c.New))
	}
	spec := publish.Change{
		Changes: p.Plan.Files,
		Branch:  gitwrite.PromoteBranch(p.Query.To, p.Plan.Files),
		Message: msg.String(),
		Title:   title,
	}
	if body {
		spec.Body = publish.Body(fmt.Sprintf("Promotes the image versions of `%s` to `%s`.", p.Query.From, p.Query.To), p.FileDiffs(), p.Rendered, p.Report)
	}
	return spec
}

// OrNone is s, or "(none)" for an unset version.
func OrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
