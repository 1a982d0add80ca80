package forge

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	giteasdk "code.gitea.io/sdk/gitea"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// giteaPageSize is the most items a Gitea list endpoint answers by default.
const giteaPageSize = 50

// newLabelColor is the colour of a label created because a pull request
// asked for it, as GitHub does on its own.
const newLabelColor = "#ededed"

// gitea talks to Gitea's API through its SDK, code.gitea.io/sdk/gitea.
type gitea struct {
	web, token  string
	http        *http.Client
	owner, name string
	red         *redact.Redactor
}

func newGitea(r gitwrite.Remote, web, token string, hc *http.Client, red *redact.Redactor) (Forge, error) {
	owner, name, err := splitRepo(r)
	if err != nil {
		return nil, err
	}
	return &gitea{web: strings.TrimSuffix(web, "/"), token: token, http: hc, owner: owner, name: name, red: red}, nil
}

func (g *gitea) Provider() string { return gitwrite.Gitea }

// client returns an SDK client for one call: the SDK takes its context per
// client. Making one sends nothing (the server's version is not asked).
func (g *gitea) client(ctx context.Context) (*giteasdk.Client, error) {
	c, err := giteasdk.NewClient(g.web, giteasdk.SetToken(g.token), giteasdk.SetHTTPClient(g.http),
		giteasdk.SetGiteaVersion(""), giteasdk.SetContext(ctx))
	if err != nil {
		return nil, g.red.Error(fmt.Errorf("%s: %w", gitwrite.Gitea, err))
	}
	return c, nil
}

// err turns the SDK's error for the call method path into an *APIError.
func (g *gitea) err(method, path string, resp *giteasdk.Response, err error) error {
	if err == nil {
		return nil
	}
	e := &APIError{Provider: gitwrite.Gitea, Method: method, Path: path, Message: g.red.String(err.Error())}
	if resp != nil && resp.Response != nil {
		e.Status, e.Attempts = resp.StatusCode, httpretry.Attempts(resp.Response)
	}
	return e
}

func (g *gitea) repo() string { return "/repos/" + g.owner + "/" + g.name }

func giteaPR(p *giteasdk.PullRequest) PR {
	if p == nil {
		return PR{}
	}
	out := PR{Number: int(p.Index), Title: p.Title, Body: p.Body, URL: p.HTMLURL, State: string(p.State)}
	if p.Head != nil {
		out.Head, out.HeadSHA = p.Head.Ref, p.Head.Sha
	}
	if p.Base != nil {
		out.Base = p.Base.Ref
	}
	if p.HasMerged {
		out.State = "merged"
	}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, l.Name)
	}
	return out
}

func (g *gitea) EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error) {
	return ensure(ctx, g, pr)
}

func (g *gitea) findOpen(ctx context.Context, head, base string) (*PR, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	full := g.owner + "/" + g.name
	for page := 1; ; page++ {
		prs, resp, err := c.ListRepoPullRequests(g.owner, g.name, giteasdk.ListPullRequestsOptions{
			ListOptions: giteasdk.ListOptions{Page: page, PageSize: giteaPageSize}, State: giteasdk.StateOpen})
		if err != nil {
			return nil, g.err(http.MethodGet, g.repo()+"/pulls", resp, err)
		}
		for _, p := range prs {
			if p.Head == nil || p.Base == nil || p.Head.Ref != head || p.Base.Ref != base {
				continue
			}
			if p.Head.Repository == nil || strings.EqualFold(p.Head.Repository.FullName, full) {
				out := giteaPR(p)
				return &out, nil
			}
		}
		if len(prs) < giteaPageSize {
			return nil, nil
		}
	}
}

func (g *gitea) create(ctx context.Context, pr PullRequest) (PR, error) {
	c, err := g.client(ctx)
	if err != nil {
		return PR{}, err
	}
	p, resp, err := c.CreatePullRequest(g.owner, g.name, giteasdk.CreatePullRequestOption{Head: pr.Head, Base: pr.Base, Title: pr.Title, Body: pr.Body})
	return giteaPR(p), g.err(http.MethodPost, g.repo()+"/pulls", resp, err)
}

func (g *gitea) update(ctx context.Context, existing PR, pr PullRequest) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	body := pr.Body
	_, resp, err := c.EditPullRequest(g.owner, g.name, int64(existing.Number), giteasdk.EditPullRequestOption{Title: pr.Title, Body: &body})
	return g.err(http.MethodPatch, fmt.Sprintf("%s/pulls/%d", g.repo(), existing.Number), resp, err)
}

// addLabels adds labels by id, creating those the repository lacks.
func (g *gitea) addLabels(ctx context.Context, number int, labels []string) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	ids := map[string]int64{}
	for page := 1; ; page++ {
		all, resp, err := c.ListRepoLabels(g.owner, g.name, giteasdk.ListLabelsOptions{ListOptions: giteasdk.ListOptions{Page: page, PageSize: giteaPageSize}})
		if err != nil {
			return g.err(http.MethodGet, g.repo()+"/labels", resp, err)
		}
		for _, l := range all {
			ids[l.Name] = l.ID
		}
		if len(all) < giteaPageSize {
			break
		}
	}
	var want []int64
	for _, l := range labels {
		id, ok := ids[l]
		if !ok {
			created, resp, err := c.CreateLabel(g.owner, g.name, giteasdk.CreateLabelOption{Name: l, Color: newLabelColor})
			if err != nil {
				return fmt.Errorf("creating label %q: %w", l, g.err(http.MethodPost, g.repo()+"/labels", resp, err))
			}
			id = created.ID
		}
		want = append(want, id)
	}
	c, err = g.client(httpretry.MarkIdempotent(ctx))
	if err != nil {
		return err
	}
	_, resp, err := c.AddIssueLabels(g.owner, g.name, int64(number), giteasdk.IssueLabelsOption{Labels: want})
	return g.err(http.MethodPost, fmt.Sprintf("%s/issues/%d/labels", g.repo(), number), resp, err)
}

func (g *gitea) PullRequest(ctx context.Context, number int) (PR, error) {
	c, err := g.client(ctx)
	if err != nil {
		return PR{}, err
	}
	p, resp, err := c.GetPullRequest(g.owner, g.name, int64(number))
	return giteaPR(p), g.err(http.MethodGet, fmt.Sprintf("%s/pulls/%d", g.repo(), number), resp, err)
}

func giteaComment(c *giteasdk.Comment) Comment {
	if c == nil {
		return Comment{}
	}
	out := Comment{ID: strconv.FormatInt(c.ID, 10), Body: c.Body}
	if c.Poster != nil {
		out.Author = c.Poster.UserName
	}
	return out
}

func (g *gitea) Comments(ctx context.Context, number int) ([]Comment, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	var out []Comment
	for page := 1; ; page++ {
		cs, resp, err := c.ListIssueComments(g.owner, g.name, int64(number), giteasdk.ListIssueCommentOptions{
			ListOptions: giteasdk.ListOptions{Page: page, PageSize: giteaPageSize}})
		if err != nil {
			return nil, g.err(http.MethodGet, fmt.Sprintf("%s/issues/%d/comments", g.repo(), number), resp, err)
		}
		for _, cm := range cs {
			out = append(out, giteaComment(cm))
		}
		if len(cs) < giteaPageSize {
			return out, nil
		}
	}
}

func (g *gitea) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	c, err := g.client(ctx)
	if err != nil {
		return Comment{}, err
	}
	cm, resp, err := c.CreateIssueComment(g.owner, g.name, int64(number), giteasdk.CreateIssueCommentOption{Body: body})
	return giteaComment(cm), g.err(http.MethodPost, fmt.Sprintf("%s/issues/%d/comments", g.repo(), number), resp, err)
}

// commentID reads a comment id this forge gave.
func (g *gitea) commentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: comment id %q is not a number", gitwrite.Gitea, id)
	}
	return n, nil
}

func (g *gitea) EditComment(ctx context.Context, _ int, id, body string) error {
	n, err := g.commentID(id)
	if err != nil {
		return err
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.EditIssueComment(g.owner, g.name, n, giteasdk.EditIssueCommentOption{Body: body})
	return g.err(http.MethodPatch, g.repo()+"/issues/comments/"+id, resp, err)
}

func (g *gitea) DeleteComment(ctx context.Context, _ int, id string) error {
	n, err := g.commentID(id)
	if err != nil {
		return err
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	resp, err := c.DeleteIssueComment(g.owner, g.name, n)
	return g.err(http.MethodDelete, g.repo()+"/issues/comments/"+id, resp, err)
}

func (g *gitea) SetStatus(ctx context.Context, sha string, s Status) error {
	c, err := g.client(httpretry.MarkIdempotent(ctx))
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(g.owner, g.name, sha, giteasdk.CreateStatusOption{
		State: giteasdk.StatusState(s.State), Context: s.Context, Description: s.Description, TargetURL: s.TargetURL})
	return g.err(http.MethodPost, g.repo()+"/statuses/"+sha, resp, err)
}
