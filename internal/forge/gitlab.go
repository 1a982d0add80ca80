package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// gitlabPageSize is the largest page GitLab's list endpoints answer.
const gitlabPageSize = 100

// gitlabForge talks to GitLab's REST API (v4) through GitLab's own Go
// client, its retries off so the shared transport alone decides.
type gitlabForge struct {
	c       *gogitlab.Client
	project string // group/sub/name
	red     *redact.Redactor
}

func newGitLab(r gitwrite.Remote, apiURL, token string, hc *http.Client, red *redact.Redactor) (Forge, error) {
	if _, _, err := splitRepo(r); err != nil {
		return nil, err
	}
	c, err := gogitlab.NewClient(token, gogitlab.WithBaseURL(apiURL), gogitlab.WithHTTPClient(hc), gogitlab.WithoutRetries())
	if err != nil {
		return nil, red.Error(fmt.Errorf("gitlab: %w", err))
	}
	return &gitlabForge{c: c, project: r.Path, red: red}, nil
}

func (g *gitlabForge) Provider() string { return gitwrite.GitLab }

func (g *gitlabForge) path(format string, args ...any) string {
	return "/projects/" + url.PathEscape(g.project) + fmt.Sprintf(format, args...)
}

// err turns client-go's errors into *APIError.
func (g *gitlabForge) err(method, path string, err error) error {
	if err == nil {
		return nil
	}
	e := &APIError{Provider: gitwrite.GitLab, Method: method, Path: path, Message: err.Error()}
	var er *gogitlab.ErrorResponse
	if errors.As(err, &er) {
		e.Message = er.Message
		if er.Response != nil {
			e.Status, e.Attempts = er.Response.StatusCode, httpretry.Attempts(er.Response)
			// client-go's message starts with the method, URL and status.
			if i := strings.Index(e.Message, strconv.Itoa(e.Status)+" "); i >= 0 {
				e.Message = strings.TrimSpace(e.Message[i+len(strconv.Itoa(e.Status)):])
			}
			e.Message = strings.TrimPrefix(e.Message, "{message: ")
			e.Message = strings.TrimSuffix(e.Message, "}")
		}
	}
	e.Message = g.red.String(e.Message)
	return e
}

func gitlabMR(m *gogitlab.BasicMergeRequest) PR {
	return PR{Number: int(m.IID), Title: m.Title, Body: m.Description, URL: m.WebURL, Head: m.SourceBranch,
		Base: m.TargetBranch, HeadSHA: m.SHA, State: strings.Replace(m.State, "opened", "open", 1), Labels: []string(m.Labels)}
}

func (g *gitlabForge) EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error) {
	return ensure(ctx, g, pr)
}

func (g *gitlabForge) findOpen(ctx context.Context, head, base string) (*PR, error) {
	opts := &gogitlab.ListProjectMergeRequestsOptions{
		ListOptions: gogitlab.ListOptions{PerPage: gitlabPageSize, Page: 1},
		State:       gogitlab.Ptr("opened"), SourceBranch: gogitlab.Ptr(head), TargetBranch: gogitlab.Ptr(base),
	}
	for {
		mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.project, opts, gogitlab.WithContext(ctx))
		if err != nil {
			return nil, g.err(http.MethodGet, g.path("/merge_requests"), err)
		}
		for _, m := range mrs {
			if m.SourceBranch == head && m.TargetBranch == base && m.SourceProjectID == m.TargetProjectID {
				out := gitlabMR(m)
				return &out, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *gitlabForge) create(ctx context.Context, pr PullRequest) (PR, error) {
	m, _, err := g.c.MergeRequests.CreateMergeRequest(g.project, &gogitlab.CreateMergeRequestOptions{
		Title: gogitlab.Ptr(pr.Title), Description: gogitlab.Ptr(pr.Body),
		SourceBranch: gogitlab.Ptr(pr.Head), TargetBranch: gogitlab.Ptr(pr.Base),
	}, gogitlab.WithContext(ctx))
	if err != nil {
		return PR{}, g.err(http.MethodPost, g.path("/merge_requests"), err)
	}
	return gitlabMR(&m.BasicMergeRequest), nil
}

func (g *gitlabForge) update(ctx context.Context, existing PR, pr PullRequest) error {
	_, _, err := g.c.MergeRequests.UpdateMergeRequest(g.project, int64(existing.Number), &gogitlab.UpdateMergeRequestOptions{
		Title: gogitlab.Ptr(pr.Title), Description: gogitlab.Ptr(pr.Body),
	}, gogitlab.WithContext(ctx))
	return g.err(http.MethodPut, g.path("/merge_requests/%d", existing.Number), err)
}

// addLabels adds labels; GitLab creates those the project lacks.
func (g *gitlabForge) addLabels(ctx context.Context, number int, labels []string) error {
	add := gogitlab.LabelOptions(labels)
	_, _, err := g.c.MergeRequests.UpdateMergeRequest(g.project, int64(number), &gogitlab.UpdateMergeRequestOptions{AddLabels: &add}, gogitlab.WithContext(ctx))
	return g.err(http.MethodPut, g.path("/merge_requests/%d", number), err)
}

func (g *gitlabForge) PullRequest(ctx context.Context, number int) (PR, error) {
	m, _, err := g.c.MergeRequests.GetMergeRequest(g.project, int64(number), nil, gogitlab.WithContext(ctx))
	if err != nil {
		return PR{}, g.err(http.MethodGet, g.path("/merge_requests/%d", number), err)
	}
	return gitlabMR(&m.BasicMergeRequest), nil
}

func (g *gitlabForge) Comments(ctx context.Context, number int) ([]Comment, error) {
	opts := &gogitlab.ListMergeRequestNotesOptions{
		ListOptions: gogitlab.ListOptions{PerPage: gitlabPageSize, Page: 1},
		OrderBy:     gogitlab.Ptr("created_at"), Sort: gogitlab.Ptr("asc"),
	}
	var out []Comment
	for {
		notes, resp, err := g.c.Notes.ListMergeRequestNotes(g.project, int64(number), opts, gogitlab.WithContext(ctx))
		if err != nil {
			return nil, g.err(http.MethodGet, g.path("/merge_requests/%d/notes", number), err)
		}
		for _, n := range notes {
			if !n.System {
				out = append(out, Comment{ID: strconv.FormatInt(n.ID, 10), Body: n.Body, Author: n.Author.Username})
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *gitlabForge) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	n, _, err := g.c.Notes.CreateMergeRequestNote(g.project, int64(number), &gogitlab.CreateMergeRequestNoteOptions{Body: gogitlab.Ptr(body)}, gogitlab.WithContext(ctx))
	if err != nil {
		return Comment{}, g.err(http.MethodPost, g.path("/merge_requests/%d/notes", number), err)
	}
	return Comment{ID: strconv.FormatInt(n.ID, 10), Body: n.Body, Author: n.Author.Username}, nil
}

func (g *gitlabForge) EditComment(ctx context.Context, number int, id, body string) error {
	n, err := commentID(gitwrite.GitLab, id)
	if err != nil {
		return err
	}
	_, _, err = g.c.Notes.UpdateMergeRequestNote(g.project, int64(number), n, &gogitlab.UpdateMergeRequestNoteOptions{Body: gogitlab.Ptr(body)}, gogitlab.WithContext(ctx))
	return g.err(http.MethodPut, g.path("/merge_requests/%d/notes/%d", number, n), err)
}

func (g *gitlabForge) DeleteComment(ctx context.Context, number int, id string) error {
	n, err := commentID(gitwrite.GitLab, id)
	if err != nil {
		return err
	}
	_, err = g.c.Notes.DeleteMergeRequestNote(g.project, int64(number), n, gogitlab.WithContext(ctx))
	return g.err(http.MethodDelete, g.path("/merge_requests/%d/notes/%d", number, n), err)
}

func (g *gitlabForge) SetStatus(ctx context.Context, sha string, s Status) error {
	state := gogitlab.BuildStateValue(s.State)
	if s.State == Failure {
		state = gogitlab.Failed
	}
	opts := &gogitlab.SetCommitStatusOptions{State: state, Context: gogitlab.Ptr(s.Context), Description: gogitlab.Ptr(s.Description)}
	if s.TargetURL != "" {
		opts.TargetURL = gogitlab.Ptr(s.TargetURL)
	}
	_, _, err := g.c.Commits.SetCommitStatus(g.project, sha, opts, gogitlab.WithContext(httpretry.MarkIdempotent(ctx)))
	return g.err(http.MethodPost, g.path("/statuses/%s", sha), err)
}
