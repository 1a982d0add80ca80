// Package publish is how images update and promote end: new file contents
// written to the working tree, or committed on a branch from HEAD (the
// working tree left alone), pushed with the credentials the remote needs,
// and a pull request opened or updated on the forge the remote is on.
package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/internal/setters"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// Options say how far a change goes and where.
type Options struct {
	// Push pushes the branch to Remote; PR also opens or updates its pull
	// request (and implies Push).
	Push, PR bool
	// Branch, Message and Author ("Name <email>") override the change's.
	Branch, Message, Author string
	// Remote is the remote pushed to; "origin" when empty.
	Remote string
	// Base is the pull request's base branch; HEAD's branch when empty.
	Base string
	// Provider names the forge when its URL does not tell it.
	Provider string
	Labels   []string
	// Getenv reads the tokens; os.Getenv when nil.
	Getenv func(string) string
	// Now dates the commit; time.Now when nil.
	Now func() time.Time
	// Log receives what was done; discarded when nil.
	Log io.Writer
}

func (p Options) withDefaults() Options {
	p.Push = p.Push || p.PR
	if p.Remote == "" {
		p.Remote = "origin"
	}
	if p.Getenv == nil {
		p.Getenv = os.Getenv
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = io.Discard
	}
	return p
}

// Change is what a command hands over to be published.
type Change struct {
	// Changes are the new contents of the files, repository-relative.
	Changes map[string][]byte
	// Branch is the default branch name, used when --branch is not given.
	Branch string
	// Author and Message are the defaults (from an ImageUpdateAutomation),
	// used when the flags do not set them.
	Author  *object.Signature
	Message string
	Title   string
	// Body is the pull request's body: file diff, rendered diff, validation.
	Body string
}

var authorForm = regexp.MustCompile(`^\s*(.+?)\s*<([^<>]+)>\s*$`)

// Publish commits spec on its branch from HEAD of r, then pushes and
// opens or updates the pull request as p asks, saying what it did on
// p.Log. It never touches the working tree, and refuses when a file it
// would commit has uncommitted changes.
func Publish(ctx context.Context, r *repo.Repo, spec Change, p Options) error {
	p = p.withDefaults()
	errOut := p.Log
	if r.Git == nil {
		return fmt.Errorf("%s is not a Git repository: --commit, --push and --pr need one", r.Root)
	}
	var paths []string
	for path := range spec.Changes {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	dirty, err := gitwrite.Dirty(r.Git, paths)
	if err != nil {
		return err
	}
	if len(dirty) > 0 {
		return fmt.Errorf("uncommitted changes in %s: commit or stash them first (other files may stay as they are)", strings.Join(dirty, ", "))
	}
	head, err := r.Git.Head()
	if err != nil {
		return fmt.Errorf("reading HEAD: %w", err)
	}
	author, err := p.author(r, spec.Author)
	if err != nil {
		return err
	}
	message := spec.Message
	if p.Message != "" {
		message = p.Message
	}
	branch := spec.Branch
	if p.Branch != "" {
		branch = p.Branch
	}
	res, err := gitwrite.Commit(r.Git, head.Hash(), spec.Changes, gitwrite.CommitOptions{
		Branch: branch, Author: author, Message: message, When: p.Now(), Update: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "committed %s on branch %s\n", res.Hash.String()[:12], branch)
	if !p.Push {
		return nil
	}
	url, err := remoteURL(r, p.Remote)
	if err != nil {
		return err
	}
	auth, err := gitwrite.ResolveAuth(ctx, url, gitwrite.AuthOptions{Getenv: p.Getenv, Provider: p.Provider})
	if err != nil {
		return err
	}
	if err := gitwrite.Push(ctx, r.Git, p.Remote, branch, auth); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "pushed %s to %s (%s)\n", branch, p.Remote, auth)
	if !p.PR {
		return nil
	}
	base := p.Base
	if base == "" {
		if !head.Name().IsBranch() {
			return fmt.Errorf("pushed %s, but HEAD is detached: pass --base-branch for the pull request", branch)
		}
		base = head.Name().Short()
	}
	f, err := p.forge(ctx, url)
	if err != nil {
		return fmt.Errorf("pushed %s, but cannot open its pull request: %w", branch, err)
	}
	pr, err := f.EnsurePullRequest(ctx, forge.PullRequest{Head: branch, Base: base, Title: spec.Title, Body: spec.Body, Labels: p.Labels})
	if err != nil {
		return fmt.Errorf("pushed %s, but the pull request failed: %w", branch, err)
	}
	for _, w := range pr.Warnings {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
	verb := "updated"
	if pr.Created {
		verb = "opened"
	}
	fmt.Fprintf(errOut, "%s pull request #%d: %s\n", verb, pr.Number, pr.URL)
	return nil
}

// author is Options.Author, else the default given, else git's user.
func (p Options) author(r *repo.Repo, def *object.Signature) (object.Signature, error) {
	if p.Author != "" {
		m := authorForm.FindStringSubmatch(p.Author)
		if m == nil {
			return object.Signature{}, fmt.Errorf(`the author must be "Name <email>", got %q`, p.Author)
		}
		return object.Signature{Name: m[1], Email: m[2]}, nil
	}
	if def != nil && def.Name != "" {
		return *def, nil
	}
	if cfg, err := r.Git.ConfigScoped(config.SystemScope); err == nil && cfg.User.Name != "" {
		return object.Signature{Name: cfg.User.Name, Email: cfg.User.Email}, nil
	}
	return object.Signature{Name: "kubectl-gitops", Email: "kubectl-gitops@users.noreply.localhost"}, nil
}

func remoteURL(r *repo.Repo, name string) (string, error) {
	rem, err := r.Git.Remote(name)
	if err != nil {
		return "", fmt.Errorf("remote %q: %w", name, err)
	}
	urls := rem.Config().URLs
	if len(urls) == 0 {
		return "", fmt.Errorf("remote %q has no URL", name)
	}
	return urls[0], nil
}

// forge opens the forge the remote is on, with the token the push used.
func (p Options) forge(ctx context.Context, url string) (forge.Forge, error) {
	var opts []forge.Option
	r, err := gitwrite.ParseRemote(url)
	if err != nil {
		return nil, err
	}
	if p.Provider == gitwrite.CodeCommit || r.Scheme == gitwrite.CodeCommit || r.Region != "" {
		profile := r.Profile
		if profile == "" {
			profile = p.Getenv("AWS_PROFILE")
		}
		client, err := forge.NewCodeCommitClient(ctx, r.Region, profile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, forge.WithCodeCommit(client))
	}
	return forge.Detect(url, p.Provider, p.Getenv, opts...)
}

// File is a file's content as read and as it is to be written.
type File struct {
	Path     string // repository-relative, slash-separated
	Old, New []byte
}

// Write writes files into the working tree at root, each atomically and
// keeping its mode, refusing one whose content is no longer Old (someone
// edited it since it was read); files before the refused one are written.
func Write(root string, files []File) error {
	for _, f := range files {
		if err := setters.WriteAtomic(filepath.Join(root, filepath.FromSlash(f.Path)), f.Old, f.New, 0); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return nil
}

// FileDiff is a unified diff of a file's old and new content, as git diff
// names its sides.
func FileDiff(f File) string {
	d := diff.Unified(string(f.Old), string(f.New), f.Path, 3)
	return strings.Replace(strings.Replace(d, "--- base/"+f.Path, "--- a/"+f.Path, 1), "+++ head/"+f.Path, "+++ b/"+f.Path, 1)
}

// Body assembles a pull request's body: the files changed, what the
// change renders to, and the validation summary.
func Body(intro string, fileDiffs []string, rendered []diff.RootDiff, report *validate.Report) string {
	var b strings.Builder
	b.WriteString(intro + "\n\n")
	files := strings.Join(fileDiffs, "")
	fence := safetext.Fence(files)
	b.WriteString("#### Files\n\n" + fence + "diff\n" + files + fence + "\n\n")
	parts := diff.Markdown(rendered, "Rendered diff", diff.MarkdownLimit/2)
	b.WriteString(strings.Replace(parts[0], "### ", "#### ", 1))
	if len(parts) > 1 {
		fmt.Fprintf(&b, "\n_The rendered diff continues beyond what a pull request body holds (%d parts); run `kubectl gitops diff` for all of it._\n", len(parts))
	}
	if report != nil {
		s := report.Summary
		fmt.Fprintf(&b, "\n#### Validation\n\n%s.\n", s)
		for _, f := range report.Findings {
			fmt.Fprintf(&b, "- %s %s (%s)\n", safetext.CodeSpan(fmt.Sprintf("%s:%d", f.File, f.Line)), safetext.Markdown(f.Message), f.Rule)
		}
	}
	return b.String()
}
