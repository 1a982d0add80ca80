package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// publishOptions are the flags of commands that end in a commit, a push or
// a pull request: images update and promote.
type publishOptions struct {
	Commit   bool
	Push     bool
	PR       bool
	Branch   string
	Author   string
	Message  string
	Remote   string
	Base     string
	Provider string
	Labels   []string

	getenv func(string) string
	now    func() time.Time
}

func (p *publishOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&p.Commit, "commit", false, "commit the change on a new branch (the working tree and current branch are not touched)")
	fs.BoolVar(&p.Push, "push", false, "push that branch to the remote (implies --commit)")
	fs.BoolVar(&p.PR, "pr", false, "open or update a pull request from that branch (implies --push)")
	fs.StringVar(&p.Branch, "branch", "", "the branch to commit on (default gitops/<kind>/<hash of the change>)")
	fs.StringVar(&p.Author, "author", "", `commit author as "Name <email>" (default the ImageUpdateAutomation's, else git's user)`)
	fs.StringVarP(&p.Message, "message", "m", "", "commit message (default the ImageUpdateAutomation's messageTemplate)")
	fs.StringVar(&p.Remote, "remote", "origin", "the remote to push to")
	fs.StringVar(&p.Base, "base-branch", "", "the pull request's base branch (default the current branch)")
	fs.StringVar(&p.Provider, "provider", "", "the forge: github, gitlab, gitea, bitbucket-server or codecommit (default guessed from the remote URL)")
	fs.StringSliceVar(&p.Labels, "label", nil, "a label for the pull request (repeatable)")
}

func (p *publishOptions) complete() {
	p.Push = p.Push || p.PR
	p.Commit = p.Commit || p.Push
	if p.getenv == nil {
		p.getenv = os.Getenv
	}
	if p.now == nil {
		p.now = time.Now
	}
}

// commitSpec is what a command hands over to be published.
type commitSpec struct {
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

// publish commits spec on its branch from HEAD, then pushes and opens or
// updates the pull request as the flags ask. It never touches the working
// tree, and refuses when a file it would commit has uncommitted changes.
func (p *publishOptions) publish(ctx context.Context, ro *repoOptions, errOut io.Writer, spec commitSpec) error {
	r := ro.Repo
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
	author, err := p.author(ro, spec.Author)
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
		Branch: branch, Author: author, Message: message, When: p.now(), Update: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "committed %s on branch %s\n", res.Hash.String()[:12], branch)
	if !p.Push {
		return nil
	}
	url, err := remoteURL(ro, p.Remote)
	if err != nil {
		return err
	}
	auth, err := gitwrite.ResolveAuth(ctx, url, gitwrite.AuthOptions{Getenv: p.getenv, Provider: p.Provider})
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

// author is the --author flag, else the default given, else git's user.
func (p *publishOptions) author(ro *repoOptions, def *object.Signature) (object.Signature, error) {
	if p.Author != "" {
		m := authorForm.FindStringSubmatch(p.Author)
		if m == nil {
			return object.Signature{}, fmt.Errorf(`--author must be "Name <email>", got %q`, p.Author)
		}
		return object.Signature{Name: m[1], Email: m[2]}, nil
	}
	if def != nil && def.Name != "" {
		return *def, nil
	}
	if cfg, err := ro.Repo.Git.ConfigScoped(config.SystemScope); err == nil && cfg.User.Name != "" {
		return object.Signature{Name: cfg.User.Name, Email: cfg.User.Email}, nil
	}
	return object.Signature{Name: "kubectl-gitops", Email: "kubectl-gitops@users.noreply.localhost"}, nil
}

func remoteURL(ro *repoOptions, name string) (string, error) {
	rem, err := ro.Repo.Git.Remote(name)
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
func (p *publishOptions) forge(ctx context.Context, url string) (forge.Forge, error) {
	var opts []forge.Option
	r, err := gitwrite.ParseRemote(url)
	if err != nil {
		return nil, err
	}
	if p.Provider == gitwrite.CodeCommit || r.Scheme == gitwrite.CodeCommit || r.Region != "" {
		profile := r.Profile
		if profile == "" {
			profile = p.getenv("AWS_PROFILE")
		}
		client, err := forge.NewCodeCommitClient(ctx, r.Region, profile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, forge.WithCodeCommit(client))
	}
	return forge.Detect(url, p.Provider, p.getenv, opts...)
}

// pullRequestBody assembles a pull request's body: the files changed, what
// the change renders to, and the validation summary.
func pullRequestBody(intro string, fileDiffs []string, rendered []diff.RootDiff, report *validate.Report) string {
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
