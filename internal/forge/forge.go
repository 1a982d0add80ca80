// Package forge opens and updates pull requests, and reads and writes their
// comments and commit statuses, on the forge that hosts a repository:
// GitHub (and GitHub Enterprise), GitLab, Gitea, Bitbucket Server and AWS
// CodeCommit, behind one Forge interface. It serves `kubectl gitops images
// update --pr`, `promote --pr` and the CI bot (`ci comment|check`).
//
// Each forge is reached through its maintained SDK where one exists
// (go-github, GitLab's client-go, Gitea's code.gitea.io/sdk/gitea, the AWS
// SDK for CodeCommit); Bitbucket Server through net/http (see bitbucket.go
// for why). Every HTTP call goes through internal/httpretry (429 and 5xx
// retried with backoff where the call is safe to repeat, Retry-After
// honoured; 401, 403, 404 and 422 not retried) and every error is an
// *APIError or wraps one, with the token masked.
package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
)

// Forge is a repository's pull-request API.
type Forge interface {
	// Provider names the forge: github, gitlab, gitea, bitbucket-server or
	// codecommit.
	Provider() string
	// EnsurePullRequest finds the open pull request from pr.Head to pr.Base
	// and brings its title, body and labels up to date (labels are added,
	// never removed), or opens one.
	EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error)
	// PullRequest reads pull request number.
	PullRequest(ctx context.Context, number int) (PR, error)
	// Comments lists the comments on pull request number, oldest first.
	Comments(ctx context.Context, number int) ([]Comment, error)
	// CreateComment adds a comment to pull request number.
	CreateComment(ctx context.Context, number int, body string) (Comment, error)
	// EditComment replaces the body of comment id on pull request number.
	EditComment(ctx context.Context, number int, id, body string) error
	// DeleteComment removes comment id from pull request number.
	DeleteComment(ctx context.Context, number int, id string) error
	// SetStatus sets a commit status on sha. CodeCommit has none: it
	// returns an error wrapping ErrUnsupported.
	SetStatus(ctx context.Context, sha string, status Status) error
}

// PullRequest is what EnsurePullRequest makes.
type PullRequest struct {
	// Head is the branch with the changes, Base the one to merge into.
	Head, Base string
	Title      string
	Body       string
	Labels     []string
}

// Result tells what EnsurePullRequest did.
type Result struct {
	Number int
	URL    string
	// Created is true for a new pull request, false for an updated one.
	Created bool
	// Warnings say what the forge could not do, such as labels on a forge
	// that has none.
	Warnings []string
}

// PR is a pull request as the CI bot reads it.
type PR struct {
	Number int
	Title  string
	Body   string
	URL    string
	// Head and Base are branch names; HeadSHA is the head's commit.
	Head, Base string
	HeadSHA    string
	// State is open, closed or merged.
	State  string
	Labels []string
}

// Comment is a comment on a pull request.
type Comment struct {
	// ID identifies it for EditComment and DeleteComment.
	ID     string
	Body   string
	Author string
}

// State is a commit status's state.
type State string

// The states of a commit status.
const (
	Success State = "success"
	Failure State = "failure"
	Pending State = "pending"
)

// Status is a commit status.
type Status struct {
	State State
	// Context names the check, such as kubectl-gitops/validate.
	Context     string
	Description string
	TargetURL   string
}

// ErrUnsupported is wrapped by the error of a call the forge has no API for.
var ErrUnsupported = errors.New("not supported by this forge")

// APIError is a forge's answer that was not a success.
type APIError struct {
	Provider string
	// Method and Path name the call, without query or credentials.
	Method, Path string
	// Status is the HTTP status code; 0 for a transport failure.
	Status int
	// Message is what the forge said, token masked.
	Message string
	// Attempts is how many times the call was sent.
	Attempts int
}

// Error names the forge, the call, the status, the forge's message and
// what to do.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s", e.Provider, e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; " + hint)
	}
	return b.String()
}

// hint says what to do about common statuses.
func (e *APIError) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		if e.Provider == gitwrite.CodeCommit {
			return "the AWS credentials were refused: check the profile or AWS_* variables"
		}
		return "the token was refused: check " + strings.Join(tokenVars(e.Provider), " or ")
	case http.StatusForbidden:
		return "the token lacks a permission this call needs, or a rate limit was hit"
	case http.StatusNotFound:
		return "check the repository's owner and name, and that the token can see it"
	case http.StatusTooManyRequests:
		return "rate-limited: try again later"
	}
	return ""
}

// tokenVars lists the variables a provider's token is read from.
func tokenVars(provider string) []string {
	return append([]string{"GITOPS_TOKEN"}, gitwrite.TokenVariables(provider)...)
}

// ensurer is what EnsurePullRequest needs of a forge; ensure does the rest.
type ensurer interface {
	// findOpen returns the open pull request from head to base, or nil.
	findOpen(ctx context.Context, head, base string) (*PR, error)
	create(ctx context.Context, pr PullRequest) (PR, error)
	// update sets title and body of an existing pull request.
	update(ctx context.Context, existing PR, pr PullRequest) error
	// addLabels adds labels; ErrUnsupported when the forge has none.
	addLabels(ctx context.Context, number int, labels []string) error
}

// ensure finds or opens the pull request, then brings it up to date. When
// the create call fails without an answer that says it was refused (a 5xx
// or a broken connection), it looks again before giving up, so a pull
// request the forge made after all is reported, not opened twice.
func ensure(ctx context.Context, e ensurer, pr PullRequest) (Result, error) {
	if pr.Head == "" || pr.Base == "" || pr.Title == "" {
		return Result{}, errors.New("pull request: head, base and title are required")
	}
	existing, err := e.findOpen(ctx, pr.Head, pr.Base)
	if err != nil {
		return Result{}, err
	}
	res := Result{}
	if existing == nil {
		created, err := e.create(ctx, pr)
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status == 0 || apiErr.Status >= 500 {
				if again, findErr := e.findOpen(ctx, pr.Head, pr.Base); findErr == nil && again != nil {
					existing = again
				}
			}
			if existing == nil {
				return Result{}, fmt.Errorf("opening a pull request from %s to %s: %w", pr.Head, pr.Base, err)
			}
		} else {
			res = Result{Number: created.Number, URL: created.URL, Created: true}
			existing = &created
		}
	}
	if !res.Created {
		res = Result{Number: existing.Number, URL: existing.URL}
		if existing.Title != pr.Title || existing.Body != pr.Body {
			if err := e.update(ctx, *existing, pr); err != nil {
				return res, fmt.Errorf("updating pull request #%d: %w", existing.Number, err)
			}
		}
	}
	var missing []string
	for _, l := range pr.Labels {
		if !slices.Contains(existing.Labels, l) && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		err := e.addLabels(ctx, res.Number, missing)
		switch {
		case errors.Is(err, ErrUnsupported):
			res.Warnings = append(res.Warnings, fmt.Sprintf("labels %s not applied: %v", strings.Join(missing, ", "), err))
		case err != nil:
			return res, fmt.Errorf("labelling pull request #%d: %w", res.Number, err)
		}
	}
	return res, nil
}
