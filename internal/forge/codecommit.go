package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// CodeCommitAPI is the part of the AWS SDK's CodeCommit client used here.
type CodeCommitAPI interface {
	CreatePullRequest(context.Context, *codecommit.CreatePullRequestInput, ...func(*codecommit.Options)) (*codecommit.CreatePullRequestOutput, error)
	UpdatePullRequestTitle(context.Context, *codecommit.UpdatePullRequestTitleInput, ...func(*codecommit.Options)) (*codecommit.UpdatePullRequestTitleOutput, error)
	UpdatePullRequestDescription(context.Context, *codecommit.UpdatePullRequestDescriptionInput, ...func(*codecommit.Options)) (*codecommit.UpdatePullRequestDescriptionOutput, error)
	ListPullRequests(context.Context, *codecommit.ListPullRequestsInput, ...func(*codecommit.Options)) (*codecommit.ListPullRequestsOutput, error)
	GetPullRequest(context.Context, *codecommit.GetPullRequestInput, ...func(*codecommit.Options)) (*codecommit.GetPullRequestOutput, error)
	PostCommentForPullRequest(context.Context, *codecommit.PostCommentForPullRequestInput, ...func(*codecommit.Options)) (*codecommit.PostCommentForPullRequestOutput, error)
	UpdateComment(context.Context, *codecommit.UpdateCommentInput, ...func(*codecommit.Options)) (*codecommit.UpdateCommentOutput, error)
	DeleteCommentContent(context.Context, *codecommit.DeleteCommentContentInput, ...func(*codecommit.Options)) (*codecommit.DeleteCommentContentOutput, error)
	GetCommentsForPullRequest(context.Context, *codecommit.GetCommentsForPullRequestInput, ...func(*codecommit.Options)) (*codecommit.GetCommentsForPullRequestOutput, error)
}

// NewCodeCommitClient returns a CodeCommit client with the AWS SDK's
// documented credential chain (environment, shared config and credentials
// files with profile, SSO, web identity, container and instance roles).
// region and profile may be empty for the chain's own.
func NewCodeCommitClient(ctx context.Context, region, profile string) (*codecommit.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("codecommit: loading AWS configuration: %w", err)
	}
	return codecommit.NewFromConfig(cfg), nil
}

// codecommitForge opens pull requests with CodeCommit's API. The SDK's own
// retryer repeats throttled and failed calls; creating a pull request
// carries a client request token made from its branches, so a repeat
// cannot open a second one.
type codecommitForge struct {
	c            CodeCommitAPI
	repo, region string
	red          *redact.Redactor
}

func newCodeCommit(r gitwrite.Remote, c CodeCommitAPI, red *redact.Redactor) (Forge, error) {
	return &codecommitForge{c: c, repo: r.Repository(), region: r.Region, red: red}, nil
}

func (f *codecommitForge) Provider() string { return gitwrite.CodeCommit }

// err turns the SDK's errors into *APIError, masking the AWS secrets: an
// SDK client's credentials are read (from its cache) to learn them.
func (f *codecommitForge) err(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if c, ok := f.c.(*codecommit.Client); ok && c.Options().Credentials != nil {
		if creds, cerr := c.Options().Credentials.Retrieve(ctx); cerr == nil {
			f.red.Add(creds.SecretAccessKey, creds.SessionToken)
		}
	}
	e := &APIError{Provider: gitwrite.CodeCommit, Method: "POST", Path: op, Message: err.Error()}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Message = ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	e.Message = f.red.String(e.Message)
	return e
}

func (f *codecommitForge) url(id string) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codecommit/repositories/%s/pull-requests/%s/details?region=%s",
		f.region, url.PathEscape(f.repo), id, f.region)
}

func (f *codecommitForge) pr(p *types.PullRequest) PR {
	out := PR{Title: aws.ToString(p.Title), Body: aws.ToString(p.Description), State: "open"}
	out.Number, _ = strconv.Atoi(aws.ToString(p.PullRequestId))
	out.URL = f.url(aws.ToString(p.PullRequestId))
	if p.PullRequestStatus == types.PullRequestStatusEnumClosed {
		out.State = "closed"
	}
	for _, t := range p.PullRequestTargets {
		if aws.ToString(t.RepositoryName) == f.repo {
			out.Head, out.Base = shortRef(aws.ToString(t.SourceReference)), shortRef(aws.ToString(t.DestinationReference))
			out.HeadSHA = aws.ToString(t.SourceCommit)
			if t.MergeMetadata != nil && t.MergeMetadata.IsMerged {
				out.State = "merged"
			}
		}
	}
	return out
}

func shortRef(ref string) string {
	const heads = "refs/heads/"
	if len(ref) > len(heads) && ref[:len(heads)] == heads {
		return ref[len(heads):]
	}
	return ref
}

func (f *codecommitForge) EnsurePullRequest(ctx context.Context, pr PullRequest) (Result, error) {
	return ensure(ctx, f, pr)
}

func (f *codecommitForge) get(ctx context.Context, id string) (*types.PullRequest, error) {
	out, err := f.c.GetPullRequest(ctx, &codecommit.GetPullRequestInput{PullRequestId: aws.String(id)})
	if err != nil {
		return nil, f.err(ctx, "GetPullRequest", err)
	}
	return out.PullRequest, nil
}

// findOpen lists the open pull requests' ids, then reads each until one
// goes from head to base: CodeCommit's list has no branch filter.
func (f *codecommitForge) findOpen(ctx context.Context, head, base string) (*PR, error) {
	in := &codecommit.ListPullRequestsInput{RepositoryName: aws.String(f.repo), PullRequestStatus: types.PullRequestStatusEnumOpen}
	for {
		out, err := f.c.ListPullRequests(ctx, in)
		if err != nil {
			return nil, f.err(ctx, "ListPullRequests", err)
		}
		for _, id := range out.PullRequestIds {
			p, err := f.get(ctx, id)
			if err != nil {
				return nil, err
			}
			if got := f.pr(p); got.Head == head && got.Base == base {
				return &got, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

func (f *codecommitForge) create(ctx context.Context, pr PullRequest) (PR, error) {
	sum := sha256.Sum256([]byte(f.repo + "\x00" + pr.Head + "\x00" + pr.Base + "\x00" + pr.Title + "\x00" + pr.Body))
	out, err := f.c.CreatePullRequest(ctx, &codecommit.CreatePullRequestInput{
		Title:              aws.String(pr.Title),
		Description:        aws.String(pr.Body),
		ClientRequestToken: aws.String(hex.EncodeToString(sum[:16])),
		Targets: []types.Target{{
			RepositoryName:       aws.String(f.repo),
			SourceReference:      aws.String(pr.Head),
			DestinationReference: aws.String(pr.Base),
		}},
	})
	if err != nil {
		return PR{}, f.err(ctx, "CreatePullRequest", err)
	}
	return f.pr(out.PullRequest), nil
}

func (f *codecommitForge) update(ctx context.Context, existing PR, pr PullRequest) error {
	id := aws.String(strconv.Itoa(existing.Number))
	if existing.Title != pr.Title {
		if _, err := f.c.UpdatePullRequestTitle(ctx, &codecommit.UpdatePullRequestTitleInput{PullRequestId: id, Title: aws.String(pr.Title)}); err != nil {
			return f.err(ctx, "UpdatePullRequestTitle", err)
		}
	}
	if existing.Body != pr.Body {
		if _, err := f.c.UpdatePullRequestDescription(ctx, &codecommit.UpdatePullRequestDescriptionInput{PullRequestId: id, Description: aws.String(pr.Body)}); err != nil {
			return f.err(ctx, "UpdatePullRequestDescription", err)
		}
	}
	return nil
}

func (f *codecommitForge) addLabels(context.Context, int, []string) error {
	return fmt.Errorf("codecommit pull requests have no labels: %w", ErrUnsupported)
}

func (f *codecommitForge) PullRequest(ctx context.Context, number int) (PR, error) {
	p, err := f.get(ctx, strconv.Itoa(number))
	if err != nil {
		return PR{}, err
	}
	return f.pr(p), nil
}

func (f *codecommitForge) Comments(ctx context.Context, number int) ([]Comment, error) {
	in := &codecommit.GetCommentsForPullRequestInput{PullRequestId: aws.String(strconv.Itoa(number)), RepositoryName: aws.String(f.repo)}
	var out []Comment
	for {
		page, err := f.c.GetCommentsForPullRequest(ctx, in)
		if err != nil {
			return nil, f.err(ctx, "GetCommentsForPullRequest", err)
		}
		for _, group := range page.CommentsForPullRequestData {
			for _, c := range group.Comments {
				if c.Deleted || c.InReplyTo != nil || group.Location != nil {
					continue
				}
				out = append(out, Comment{ID: aws.ToString(c.CommentId), Body: aws.ToString(c.Content), Author: aws.ToString(c.AuthorArn)})
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// CreateComment posts a general comment; CodeCommit wants the commits it
// is about, so it reads the pull request first.
func (f *codecommitForge) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	p, err := f.get(ctx, strconv.Itoa(number))
	if err != nil {
		return Comment{}, err
	}
	var target types.PullRequestTarget
	for _, t := range p.PullRequestTargets {
		if aws.ToString(t.RepositoryName) == f.repo {
			target = t
		}
	}
	out, err := f.c.PostCommentForPullRequest(ctx, &codecommit.PostCommentForPullRequestInput{
		PullRequestId: aws.String(strconv.Itoa(number)), RepositoryName: aws.String(f.repo),
		BeforeCommitId: target.DestinationCommit, AfterCommitId: target.SourceCommit, Content: aws.String(body),
	})
	if err != nil {
		return Comment{}, f.err(ctx, "PostCommentForPullRequest", err)
	}
	c := Comment{Body: body}
	if out.Comment != nil {
		c = Comment{ID: aws.ToString(out.Comment.CommentId), Body: aws.ToString(out.Comment.Content), Author: aws.ToString(out.Comment.AuthorArn)}
	}
	return c, nil
}

func (f *codecommitForge) EditComment(ctx context.Context, _ int, id, body string) error {
	_, err := f.c.UpdateComment(ctx, &codecommit.UpdateCommentInput{CommentId: aws.String(id), Content: aws.String(body)})
	return f.err(ctx, "UpdateComment", err)
}

// DeleteComment deletes the comment's content: CodeCommit keeps a deleted
// comment's place.
func (f *codecommitForge) DeleteComment(ctx context.Context, _ int, id string) error {
	_, err := f.c.DeleteCommentContent(ctx, &codecommit.DeleteCommentContentInput{CommentId: aws.String(id)})
	return f.err(ctx, "DeleteCommentContent", err)
}

// SetStatus is unsupported: CodeCommit has no commit statuses.
func (f *codecommitForge) SetStatus(context.Context, string, Status) error {
	return fmt.Errorf("codecommit has no commit statuses (report checks with a comment instead): %w", ErrUnsupported)
}
