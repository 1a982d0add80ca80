package forge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// giteaPageSize is the most items a Gitea list endpoint answers by default.
const giteaPageSize = 50

// newLabelColor is the colour of a label created because a pull request
// asked for it, as GitHub does on its own.
const newLabelColor = "#ededed"

// gitea talks to Gitea's REST API (/api/v1).
type gitea struct {
	api         *restClient
	owner, name string
}

func newGitea(r gitwrite.Remote, web, token string, hc *http.Client, red *redact.Redactor) (Forge, error) {
	owner, name, err := splitRepo(r)
	if err != nil {
		return nil, err
	}
	return &gitea{
		api: &restClient{provider: gitwrite.Gitea, base: strings.TrimSuffix(web, "/") + "/api/v1", http: hc, red: red,
			auth: func(req *http.Request) { req.Header.Set("Authorization", "token "+token) }},
		owner: owner, name: name,
	}, nil
}

func (g *gitea) Provider() string { return gitwrite.Gitea }

func (g *gitea) repo() string {
	return "/repos/" + url.PathEscape(g.owner) + "/" + url.PathEscape(g.name)
}

type giteaPR struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Merged  bool   `json:"merged"`
	Head    struct {
		Ref  string `json:"ref"`
		SHA  string `json:"sha"`
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	Labels []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"labels"`
}

func (p giteaPR) pr() PR {
	out := PR{Number: p.Number, Title: p.Title, Body: p.Body, URL: p.HTMLURL, Head: p.Head.Ref, Base: p.Base.Ref, HeadSHA: p.Head.SHA, State: p.State}
	if p.Merged {
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
	full := g.owner + "/" + g.name
	for page := 1; ; page++ {
		var prs []giteaPR
		if err := g.api.do(ctx, http.MethodGet, fmt.Sprintf("%s/pulls?state=open&page=%d&limit=%d", g.repo(), page, giteaPageSize), nil, &prs); err != nil {
			return nil, err
		}
		for _, p := range prs {
			if p.Head.Ref == head && p.Base.Ref == base && (p.Head.Repo == nil || strings.EqualFold(p.Head.Repo.FullName, full)) {
				out := p.pr()
				return &out, nil
			}
		}
		if len(prs) < giteaPageSize {
			return nil, nil
		}
	}
}

func (g *gitea) create(ctx context.Context, pr PullRequest) (PR, error) {
	var out giteaPR
	err := g.api.do(ctx, http.MethodPost, g.repo()+"/pulls", map[string]any{
		"head": pr.Head, "base": pr.Base, "title": pr.Title, "body": pr.Body,
	}, &out)
	return out.pr(), err
}

func (g *gitea) update(ctx context.Context, existing PR, pr PullRequest) error {
	return g.api.do(ctx, http.MethodPatch, fmt.Sprintf("%s/pulls/%d", g.repo(), existing.Number),
		map[string]any{"title": pr.Title, "body": pr.Body}, nil)
}

// addLabels adds labels by id, creating those the repository lacks.
func (g *gitea) addLabels(ctx context.Context, number int, labels []string) error {
	ids := map[string]int64{}
	for page := 1; ; page++ {
		var all []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		if err := g.api.do(ctx, http.MethodGet, fmt.Sprintf("%s/labels?page=%d&limit=%d", g.repo(), page, giteaPageSize), nil, &all); err != nil {
			return err
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
			var created struct {
				ID int64 `json:"id"`
			}
			if err := g.api.do(ctx, http.MethodPost, g.repo()+"/labels", map[string]any{"name": l, "color": newLabelColor}, &created); err != nil {
				return fmt.Errorf("creating label %q: %w", l, err)
			}
			id = created.ID
		}
		want = append(want, id)
	}
	return g.api.do(httpretry.MarkIdempotent(ctx), http.MethodPost, fmt.Sprintf("%s/issues/%d/labels", g.repo(), number), map[string]any{"labels": want}, nil)
}

func (g *gitea) PullRequest(ctx context.Context, number int) (PR, error) {
	var out giteaPR
	err := g.api.do(ctx, http.MethodGet, fmt.Sprintf("%s/pulls/%d", g.repo(), number), nil, &out)
	return out.pr(), err
}

type giteaComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

func (c giteaComment) comment() Comment {
	return Comment{ID: strconv.FormatInt(c.ID, 10), Body: c.Body, Author: c.User.Login}
}

func (g *gitea) Comments(ctx context.Context, number int) ([]Comment, error) {
	var out []Comment
	for page := 1; ; page++ {
		var cs []giteaComment
		if err := g.api.do(ctx, http.MethodGet, fmt.Sprintf("%s/issues/%d/comments?page=%d&limit=%d", g.repo(), number, page, giteaPageSize), nil, &cs); err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, c.comment())
		}
		if len(cs) < giteaPageSize {
			return out, nil
		}
	}
}

func (g *gitea) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	var out giteaComment
	err := g.api.do(ctx, http.MethodPost, fmt.Sprintf("%s/issues/%d/comments", g.repo(), number), map[string]any{"body": body}, &out)
	return out.comment(), err
}

func (g *gitea) EditComment(ctx context.Context, _ int, id, body string) error {
	return g.api.do(ctx, http.MethodPatch, g.repo()+"/issues/comments/"+url.PathEscape(id), map[string]any{"body": body}, nil)
}

func (g *gitea) DeleteComment(ctx context.Context, _ int, id string) error {
	return g.api.do(ctx, http.MethodDelete, g.repo()+"/issues/comments/"+url.PathEscape(id), nil, nil)
}

func (g *gitea) SetStatus(ctx context.Context, sha string, s Status) error {
	return g.api.do(httpretry.MarkIdempotent(ctx), http.MethodPost, g.repo()+"/statuses/"+url.PathEscape(sha), map[string]any{
		"state": string(s.State), "context": s.Context, "description": s.Description, "target_url": s.TargetURL,
	}, nil)
}
