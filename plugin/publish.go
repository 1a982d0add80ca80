package plugin

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
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
}

// publish commits the change and goes as far as the flags ask.
func (p *publishOptions) publish(ctx context.Context, ro *repoOptions, errOut io.Writer, spec publish.Change) error {
	return publish.Publish(ctx, ro.Repo, spec, publish.Options{
		Push: p.Push, PR: p.PR, Branch: p.Branch, Message: p.Message, Author: p.Author, Remote: p.Remote,
		Base: p.Base, Provider: p.Provider, Labels: p.Labels, Log: errOut,
	})
}
