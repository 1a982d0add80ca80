package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	ggpgithub "github.com/fluxcd/go-git-providers/github"
	"github.com/fluxcd/go-git-providers/gitprovider"
	"github.com/google/go-github/v82/github"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// githubPageSize is the largest page GitHub's list endpoints answer.
const githubPageSize = 100

// githubForge talks to GitHub's REST API through go-github, a client that
// go-git-providers builds (token, GitHub Enterprise domain, transport).
type githubForge struct {
	c           *github.Client
	owner, name string
	red         *redact.Redactor
}

func newGitHub(r gitwrite.Remote, apiURL, token string, hc *http.Client, red *redact.Redactor) (Forge, error) {
	owner, name, err := splitRepo(r)
	if err != nil {
		return nil, err
	}
	opts := []gitprovider.ClientOption{
		gitprovider.WithOAuth2Token(token),
		gitprovider.WithPostChainTransportHook(func(http.RoundTripper) http.RoundTripper { return hc.Transport }),
	}
	if r.Host != ggpgithub.DefaultDomain {
		opts = append(opts, gitprovider.WithDomain(r.Host))
	}
	client, err := ggpgithub.NewClient(opts...)
	if err != nil {
		return nil, red.Error(fmt.Errorf("github: %w", err))
	}
	gh, ok := client.Raw().(*github.Client)
	if !ok {
		return nil, fmt.Errorf("github: go-git-providers gave a %T, not a go-github client", client.Raw())
	}
	if apiURL != "" {
		api := strings.TrimSuffix(apiURL, "/") + "/"
		if gh, err = gh.WithEnterpriseURLs(api, api); err != nil {
			return nil, fmt.Errorf("github: API URL %s: %w", apiURL, err)
		}
	}
	return &githubForge{c: gh, owner: owner, name: name, red: red}, nil
}

func (g *githubForge) Provider() string { return gitwrite.GitHub }

// err turns go-github's errors into *APIError.
func (g *githubForge) err(method, path string, err error) error {
	if err == nil {
		return nil
	}
	e := &APIError{Provider: gitwrite.GitHub, Method: method, Path: path}
	var er *github.ErrorResponse
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	switch {
	case errors.As(err, &er):
		msgs := []string{er.Message}
		for _, d := range er.Errors {
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			} else if d.Code != "" {
				msgs = append(msgs, d.Resource+"."+d.Field+" "+d.Code)
			}
		}
		e.Message = strings.Join(msgs, "; ")
		if er.Response != nil {
			e.Status, e.Attempts = er.Response.StatusCode, httpretry.Attempts(er.Response)
		}
	case errors.As(err, &rl):
		e.Message = rl.Message + " (rate limit resets at " + rl.Rate.Reset.UTC().Format("15:04:05 MST") + ")"
		if rl.Response != nil {
			e.Status, e.Attempts = rl.Response.StatusCode, httpretry.Attempts(rl.Response)
		}
	case errors.As(err, &ab):
		e.Message = ab.Message
		if ab.Response != nil {
			e.Status, e.Attempts = ab.Response.StatusCode, httpretry.Attempts(ab.Response)
		}
	default:
		e.Message = err.Error()
	}
	e.Message = g.red.String(e.Message)
	return e
}

func (g *githubForge) path(format string, args ...any) string {
	return "/repos/" + g.owner + "/" + g.name + fmt.Sprintf(format, args...)
}

func githubPR(p *github.PullRequest) PR {
	out := PR{
		Number: p.GetNumber(), Title: p.GetTitle(), Body: p.GetBody(), URL: p.GetHTMLURL(),
		Head: p.GetHead().GetRef(), HeadSHA: p.GetHead().GetSHA(), Base: p.GetBase().GetRef(), State: p.GetState(),
	}
	if p.GetMerged() || p.MergedAt != nil {
		out.State = "merged"
	}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func (g *githubForge) EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error) {
	return ensure(ctx, g, pr)
}

func (g *githubForge) findOpen(ctx context.Context, head, base string) (*PR, error) {
	opts := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + head, Base: base,
		ListOptions: github.ListOptions{PerPage: githubPageSize}}
	for {
		prs, resp, err := g.c.PullRequests.List(ctx, g.owner, g.name, opts)
		if err != nil {
			return nil, g.err(http.MethodGet, g.path("/pulls"), err)
		}
		for _, p := range prs {
			if p.GetHead().GetRef() == head && p.GetBase().GetRef() == base {
				out := githubPR(p)
				return &out, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *githubForge) create(ctx context.Context, pr PullRequest) (PR, error) {
	p, _, err := g.c.PullRequests.Create(ctx, g.owner, g.name, &github.NewPullRequest{
		Title: github.Ptr(pr.Title), Head: github.Ptr(pr.Head), Base: github.Ptr(pr.Base), Body: github.Ptr(pr.Body),
	})
	if err != nil {
		return PR{}, g.err(http.MethodPost, g.path("/pulls"), err)
	}
	return githubPR(p), nil
}

func (g *githubForge) update(ctx context.Context, existing PR, pr PullRequest) error {
	_, _, err := g.c.PullRequests.Edit(ctx, g.owner, g.name, existing.Number, &github.PullRequest{
		Title: github.Ptr(pr.Title), Body: github.Ptr(pr.Body),
	})
	return g.err(http.MethodPatch, g.path("/pulls/%d", existing.Number), err)
}

// addLabels adds labels; GitHub creates those the repository lacks.
func (g *githubForge) addLabels(ctx context.Context, number int, labels []string) error {
	_, _, err := g.c.Issues.AddLabelsToIssue(httpretry.MarkIdempotent(ctx), g.owner, g.name, number, labels)
	return g.err(http.MethodPost, g.path("/issues/%d/labels", number), err)
}

func (g *githubForge) PullRequest(ctx context.Context, number int) (PR, error) {
	p, _, err := g.c.PullRequests.Get(ctx, g.owner, g.name, number)
	if err != nil {
		return PR{}, g.err(http.MethodGet, g.path("/pulls/%d", number), err)
	}
	return githubPR(p), nil
}

func githubComment(c *github.IssueComment) Comment {
	return Comment{ID: strconv.FormatInt(c.GetID(), 10), Body: c.GetBody(), Author: c.GetUser().GetLogin()}
}

func (g *githubForge) Comments(ctx context.Context, number int) ([]Comment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: githubPageSize}}
	var out []Comment
	for {
		cs, resp, err := g.c.Issues.ListComments(ctx, g.owner, g.name, number, opts)
		if err != nil {
			return nil, g.err(http.MethodGet, g.path("/issues/%d/comments", number), err)
		}
		for _, c := range cs {
			out = append(out, githubComment(c))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *githubForge) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	c, _, err := g.c.Issues.CreateComment(ctx, g.owner, g.name, number, &github.IssueComment{Body: github.Ptr(body)})
	if err != nil {
		return Comment{}, g.err(http.MethodPost, g.path("/issues/%d/comments", number), err)
	}
	return githubComment(c), nil
}

func commentID(provider, id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: comment id %q is not a number", provider, id)
	}
	return n, nil
}

func (g *githubForge) EditComment(ctx context.Context, _ int, id, body string) error {
	n, err := commentID(gitwrite.GitHub, id)
	if err != nil {
		return err
	}
	_, _, err = g.c.Issues.EditComment(ctx, g.owner, g.name, n, &github.IssueComment{Body: github.Ptr(body)})
	return g.err(http.MethodPatch, g.path("/issues/comments/%d", n), err)
}

func (g *githubForge) DeleteComment(ctx context.Context, _ int, id string) error {
	n, err := commentID(gitwrite.GitHub, id)
	if err != nil {
		return err
	}
	_, err = g.c.Issues.DeleteComment(ctx, g.owner, g.name, n)
	return g.err(http.MethodDelete, g.path("/issues/comments/%d", n), err)
}

func (g *githubForge) SetStatus(ctx context.Context, sha string, s Status) error {
	st := github.RepoStatus{State: github.Ptr(string(s.State)), Context: github.Ptr(s.Context), Description: github.Ptr(s.Description)}
	if s.TargetURL != "" {
		st.TargetURL = github.Ptr(s.TargetURL)
	}
	_, _, err := g.c.Repositories.CreateStatus(httpretry.MarkIdempotent(ctx), g.owner, g.name, sha, st)
	return g.err(http.MethodPost, g.path("/statuses/%s", sha), err)
}
