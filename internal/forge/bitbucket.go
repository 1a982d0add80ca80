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

// bitbucketPageSize is the page size asked of Bitbucket Server's lists.
const bitbucketPageSize = 100

// bitbucket talks to Bitbucket Server's (Data Center's) REST API 1.0 with
// net/http: go-git-providers' client for it retries creating calls on its
// own, and has no comments nor build statuses.
type bitbucket struct {
	api          *restClient
	base         string // web root, for the build-status API
	project, slg string
}

func newBitbucket(r gitwrite.Remote, web, token string, getenv func(string) string, hc *http.Client, red *redact.Redactor) (Forge, error) {
	path := strings.TrimPrefix(r.Path, "scm/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || strings.Contains(path[:i], "/") {
		return nil, fmt.Errorf("bitbucket-server: remote %s: want .../scm/PROJECT/REPO or ssh://HOST/PROJECT/REPO", r)
	}
	user := getenv("GITOPS_USER")
	if user == "" {
		user = getenv("BITBUCKET_USER")
	}
	auth := func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+token) }
	if user != "" {
		red.AddBasic(user, token)
		auth = func(req *http.Request) { req.SetBasicAuth(user, token) }
	}
	web = strings.TrimSuffix(web, "/")
	return &bitbucket{
		api:     &restClient{provider: gitwrite.BitbucketServer, base: web + "/rest", http: hc, red: red, auth: auth},
		base:    web,
		project: path[:i], slg: path[i+1:],
	}, nil
}

func (b *bitbucket) Provider() string { return gitwrite.BitbucketServer }

func (b *bitbucket) repo() string {
	return "/api/1.0/projects/" + url.PathEscape(b.project) + "/repos/" + url.PathEscape(b.slg)
}

type bbRef struct {
	ID           string `json:"id"`
	DisplayID    string `json:"displayId,omitempty"`
	LatestCommit string `json:"latestCommit,omitempty"`
	Repository   *struct {
		Slug    string `json:"slug"`
		Project struct {
			Key string `json:"key"`
		} `json:"project"`
	} `json:"repository,omitempty"`
}

type bbPR struct {
	ID          int    `json:"id"`
	Version     int    `json:"version"`
	Title       string `json:"title"`
	Description string `json:"description"`
	State       string `json:"state"`
	FromRef     bbRef  `json:"fromRef"`
	ToRef       bbRef  `json:"toRef"`
	Links       struct {
		Self []struct {
			Href string `json:"href"`
		} `json:"self"`
	} `json:"links"`
}

func (p bbPR) pr() PR {
	out := PR{Number: p.ID, Title: p.Title, Body: p.Description, Head: p.FromRef.DisplayID, Base: p.ToRef.DisplayID,
		HeadSHA: p.FromRef.LatestCommit, State: strings.ToLower(p.State)}
	if out.State == "declined" {
		out.State = "closed"
	}
	if len(p.Links.Self) > 0 {
		out.URL = p.Links.Self[0].Href
	}
	return out
}

func (b *bitbucket) EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error) {
	return ensure(ctx, b, pr)
}

func (b *bitbucket) findOpen(ctx context.Context, head, base string) (*PR, error) {
	headRef := "refs/heads/" + head
	for start := 0; ; {
		var page struct {
			Values        []bbPR `json:"values"`
			IsLastPage    bool   `json:"isLastPage"`
			NextPageStart int    `json:"nextPageStart"`
		}
		q := url.Values{"state": {"OPEN"}, "direction": {"OUTGOING"}, "at": {headRef},
			"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(bitbucketPageSize)}}
		if err := b.api.do(ctx, http.MethodGet, b.repo()+"/pull-requests?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, p := range page.Values {
			if p.FromRef.ID == headRef && p.ToRef.ID == "refs/heads/"+base {
				out := p.pr()
				return &out, nil
			}
		}
		if page.IsLastPage || len(page.Values) == 0 {
			return nil, nil
		}
		start = page.NextPageStart
	}
}

func (b *bitbucket) ref(branch string) map[string]any {
	return map[string]any{
		"id":         "refs/heads/" + branch,
		"repository": map[string]any{"slug": b.slg, "project": map[string]any{"key": b.project}},
	}
}

func (b *bitbucket) create(ctx context.Context, pr PullRequest) (PR, error) {
	var out bbPR
	err := b.api.do(ctx, http.MethodPost, b.repo()+"/pull-requests", map[string]any{
		"title": pr.Title, "description": pr.Body, "fromRef": b.ref(pr.Head), "toRef": b.ref(pr.Base),
	}, &out)
	return out.pr(), err
}

// update needs the pull request's version, which it reads first.
func (b *bitbucket) update(ctx context.Context, existing PR, pr PullRequest) error {
	var cur bbPR
	path := fmt.Sprintf("%s/pull-requests/%d", b.repo(), existing.Number)
	if err := b.api.do(ctx, http.MethodGet, path, nil, &cur); err != nil {
		return err
	}
	return b.api.do(ctx, http.MethodPut, path, map[string]any{
		"version": cur.Version, "title": pr.Title, "description": pr.Body,
		"toRef": map[string]any{"id": cur.ToRef.ID},
	}, nil)
}

func (b *bitbucket) addLabels(context.Context, int, []string) error {
	return fmt.Errorf("bitbucket-server pull requests have no labels: %w", ErrUnsupported)
}

func (b *bitbucket) PullRequest(ctx context.Context, number int) (PR, error) {
	var out bbPR
	err := b.api.do(ctx, http.MethodGet, fmt.Sprintf("%s/pull-requests/%d", b.repo(), number), nil, &out)
	return out.pr(), err
}

type bbComment struct {
	ID      int    `json:"id"`
	Version int    `json:"version"`
	Text    string `json:"text"`
	Author  struct {
		Name string `json:"name"`
	} `json:"author"`
}

func (c bbComment) comment() Comment {
	return Comment{ID: strconv.Itoa(c.ID), Body: c.Text, Author: c.Author.Name}
}

// Comments reads the pull request's activities: a general comment is a
// COMMENTED activity. Replies are not listed.
func (b *bitbucket) Comments(ctx context.Context, number int) ([]Comment, error) {
	var out []Comment
	for start := 0; ; {
		var page struct {
			Values []struct {
				Action        string     `json:"action"`
				CommentAction string     `json:"commentAction"`
				Comment       *bbComment `json:"comment"`
			} `json:"values"`
			IsLastPage    bool `json:"isLastPage"`
			NextPageStart int  `json:"nextPageStart"`
		}
		path := fmt.Sprintf("%s/pull-requests/%d/activities?start=%d&limit=%d", b.repo(), number, start, bitbucketPageSize)
		if err := b.api.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, a := range page.Values {
			if a.Action == "COMMENTED" && a.CommentAction == "ADDED" && a.Comment != nil {
				out = append(out, a.Comment.comment())
			}
		}
		if page.IsLastPage || len(page.Values) == 0 {
			break
		}
		start = page.NextPageStart
	}
	// Activities come newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (b *bitbucket) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	var out bbComment
	err := b.api.do(ctx, http.MethodPost, fmt.Sprintf("%s/pull-requests/%d/comments", b.repo(), number), map[string]any{"text": body}, &out)
	return out.comment(), err
}

// version reads a comment's version, which editing and deleting need.
func (b *bitbucket) version(ctx context.Context, number int, id string) (string, int, error) {
	path := fmt.Sprintf("%s/pull-requests/%d/comments/%s", b.repo(), number, url.PathEscape(id))
	var cur bbComment
	err := b.api.do(ctx, http.MethodGet, path, nil, &cur)
	return path, cur.Version, err
}

func (b *bitbucket) EditComment(ctx context.Context, number int, id, body string) error {
	path, v, err := b.version(ctx, number, id)
	if err != nil {
		return err
	}
	return b.api.do(ctx, http.MethodPut, path, map[string]any{"text": body, "version": v}, nil)
}

func (b *bitbucket) DeleteComment(ctx context.Context, number int, id string) error {
	path, v, err := b.version(ctx, number, id)
	if err != nil {
		return err
	}
	return b.api.do(ctx, http.MethodDelete, path+"?version="+strconv.Itoa(v), nil, nil)
}

// SetStatus posts a build status (build-status API 1.0). Bitbucket requires
// a URL: the forge's web root stands in when the status has none.
func (b *bitbucket) SetStatus(ctx context.Context, sha string, s Status) error {
	state := map[State]string{Success: "SUCCESSFUL", Failure: "FAILED", Pending: "INPROGRESS"}[s.State]
	if state == "" {
		return fmt.Errorf("bitbucket-server: unknown status state %q", s.State)
	}
	target := s.TargetURL
	if target == "" {
		target = b.base
	}
	return b.api.do(httpretry.MarkIdempotent(ctx), http.MethodPost, "/build-status/1.0/commits/"+url.PathEscape(sha), map[string]any{
		"state": state, "key": s.Context, "name": s.Context, "url": target, "description": s.Description,
	}, nil)
}
