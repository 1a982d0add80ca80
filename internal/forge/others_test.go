package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
)

var promote = PullRequest{Head: "gitops/promote/prod/abc", Base: "main", Title: "Promote", Body: "new", Labels: []string{"promotion", "prod"}}

const glMRs = "/api/v4/projects/group/sub/fleet/merge_requests"

const glMR3 = `{"iid":3,"title":"Promote","description":"old","web_url":"https://gitlab.example.com/group/sub/fleet/-/merge_requests/3",
 "source_branch":"gitops/promote/prod/abc","target_branch":"main","sha":"0123abc","state":"opened","labels":["promotion"],
 "source_project_id":9,"target_project_id":9}`

func TestGitLabHandWrittenExchanges(t *testing.T) {
	list := map[string]string{"state": "opened", "source_branch": promote.Head, "target_branch": "main", "per_page": "100"}
	tests := []struct {
		name string
		ex   []exchange
		run  func(t *testing.T, f Forge, sl *sleeps)
	}{
		{
			name: "opens a merge request after a 503, labels it",
			ex: []exchange{
				{method: "GET", path: glMRs, query: list, status: 503, reply: `{"message":"unavailable"}`},
				{method: "GET", path: glMRs, query: list, reply: `[]`},
				{method: "POST", path: glMRs, status: 201, reply: strings.Replace(glMR3, `"labels":["promotion"]`, `"labels":[]`, 1),
					body: jsonEq(map[string]any{"title": "Promote", "description": "new", "source_branch": promote.Head, "target_branch": "main"})},
				{method: "PUT", path: glMRs + "/3", body: jsonEq(map[string]any{"add_labels": "promotion,prod"}), reply: glMR3},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), promote)
				if err != nil || !res.Created || res.Number != 3 || !strings.HasSuffix(res.URL, "/merge_requests/3") {
					t.Fatalf("result = %+v, %v", res, err)
				}
				if len(sl.all()) != 1 {
					t.Errorf("waits = %v, want one retry", sl.all())
				}
			},
		},
		{
			name: "updates the open one",
			ex: []exchange{
				{method: "GET", path: glMRs, query: list, reply: "[" + glMR3 + "]"},
				{method: "PUT", path: glMRs + "/3", body: jsonEq(map[string]any{"title": "Promote", "description": "new"}), reply: glMR3},
				{method: "PUT", path: glMRs + "/3", body: jsonEq(map[string]any{"add_labels": "prod"}), reply: glMR3},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), promote)
				if err != nil || res.Created || res.Number != 3 {
					t.Fatalf("result = %+v, %v", res, err)
				}
			},
		},
		{
			name: "422 and 401 are not retried",
			ex: []exchange{
				{method: "GET", path: glMRs, reply: `[]`},
				{method: "POST", path: glMRs, status: 422, reply: `{"message":["Another open merge request already exists for this source branch: !2"]}`},
				{method: "GET", path: glMRs, status: 401, reply: `{"message":"401 Unauthorized"}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				_, err := f.EnsurePullRequest(context.Background(), promote)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 422 || !strings.Contains(err.Error(), "Another open merge request") {
					t.Fatalf("err = %v", err)
				}
				_, err = f.EnsurePullRequest(context.Background(), promote)
				if !errors.As(err, &apiErr) || apiErr.Status != 401 || !strings.Contains(err.Error(), "GITLAB_TOKEN") {
					t.Fatalf("err = %v", err)
				}
				noSecret(t, err)
				if len(sl.all()) != 0 {
					t.Errorf("waits = %v, want none", sl.all())
				}
			},
		},
		{
			name: "CI bot calls",
			ex: []exchange{
				{method: "GET", path: glMRs + "/3", reply: glMR3},
				{method: "GET", path: glMRs + "/3/notes", query: map[string]string{"sort": "asc", "order_by": "created_at"},
					reply: `[{"id":5,"body":"report","author":{"username":"bot"}},{"id":6,"body":"added 1 commit","system":true,"author":{"username":"bot"}}]`},
				{method: "POST", path: glMRs + "/3/notes", body: jsonEq(map[string]any{"body": "hello"}), status: 201, reply: `{"id":7,"body":"hello","author":{"username":"bot"}}`},
				{method: "PUT", path: glMRs + "/3/notes/5", body: jsonEq(map[string]any{"body": "edited"}), reply: `{"id":5}`},
				{method: "DELETE", path: glMRs + "/3/notes/7", status: 204, reply: " "},
				{method: "POST", path: "/api/v4/projects/group/sub/fleet/statuses/0123abc", status: 201,
					body: jsonEq(map[string]any{"state": "failed", "context": "kubectl-gitops/validate", "target_url": "https://ci/1", "description": "1 error"})},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				ctx := context.Background()
				got, err := f.PullRequest(ctx, 3)
				want := PR{Number: 3, Title: "Promote", Body: "old", URL: "https://gitlab.example.com/group/sub/fleet/-/merge_requests/3",
					Head: promote.Head, Base: "main", HeadSHA: "0123abc", State: "open", Labels: []string{"promotion"}}
				if d := cmp.Diff(want, got); err != nil || d != "" {
					t.Errorf("PullRequest: %v (-want +got):\n%s", err, d)
				}
				cs, err := f.Comments(ctx, 3)
				if d := cmp.Diff([]Comment{{ID: "5", Body: "report", Author: "bot"}}, cs); err != nil || d != "" {
					t.Errorf("Comments: %v (-want +got):\n%s", err, d)
				}
				if c, err := f.CreateComment(ctx, 3, "hello"); err != nil || c.ID != "7" {
					t.Errorf("CreateComment = %+v, %v", c, err)
				}
				if err := f.EditComment(ctx, 3, "5", "edited"); err != nil {
					t.Error(err)
				}
				if err := f.DeleteComment(ctx, 3, "7"); err != nil {
					t.Error(err)
				}
				if err := f.SetStatus(ctx, "0123abc", Status{State: Failure, Context: "kubectl-gitops/validate", Description: "1 error", TargetURL: "https://ci/1"}); err != nil {
					t.Error(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newForgeServer(t, func(h http.Header) bool { return h.Get("PRIVATE-TOKEN") == testToken }, tt.ex...)
			sl := &sleeps{}
			getenv := func(k string) string {
				switch k {
				case "GITLAB_TOKEN":
					return testToken
				case "CI_SERVER_URL":
					return srv.srv.URL
				}
				return ""
			}
			// The host of CI_SERVER_URL is the remote's: detected as GitLab.
			f, err := Detect("http://127.0.0.1/group/sub/fleet.git", "", getenv, WithRetry(sl.retry()))
			if err != nil {
				t.Fatal(err)
			}
			if f.Provider() != gitwrite.GitLab {
				t.Fatalf("provider = %s", f.Provider())
			}
			tt.run(t, f, sl)
		})
	}
}

const bbPRs = "/rest/api/1.0/projects/PROJ/repos/fleet/pull-requests"

const bbPR5 = `{"id":5,"version":3,"title":"Promote","description":"old","state":"OPEN",
 "fromRef":{"id":"refs/heads/gitops/promote/prod/abc","displayId":"gitops/promote/prod/abc","latestCommit":"0123abc"},
 "toRef":{"id":"refs/heads/main","displayId":"main"},
 "links":{"self":[{"href":"https://bitbucket.example.com/projects/PROJ/repos/fleet/pull-requests/5"}]}}`

func TestBitbucketServerHandWrittenExchanges(t *testing.T) {
	list := map[string]string{"state": "OPEN", "direction": "OUTGOING", "at": "refs/heads/" + promote.Head}
	ref := func(branch string) map[string]any {
		return map[string]any{"id": "refs/heads/" + branch, "repository": map[string]any{"slug": "fleet", "project": map[string]any{"key": "PROJ"}}}
	}
	tests := []struct {
		name string
		ex   []exchange
		run  func(t *testing.T, f Forge, sl *sleeps)
	}{
		{
			name: "opens one; labels are a warning",
			ex: []exchange{
				{method: "GET", path: bbPRs, query: list, reply: `{"values":[],"isLastPage":true}`},
				{method: "POST", path: bbPRs, status: 201, reply: bbPR5,
					body: jsonEq(map[string]any{"title": "Promote", "description": "new", "fromRef": ref(promote.Head), "toRef": ref("main")})},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), promote)
				if err != nil || !res.Created || res.Number != 5 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no labels") {
					t.Fatalf("result = %+v, %v", res, err)
				}
			},
		},
		{
			name: "updates with the current version after a 500",
			ex: []exchange{
				{method: "GET", path: bbPRs, query: list, reply: `{"values":[` + bbPR5 + `],"isLastPage":true}`},
				{method: "GET", path: bbPRs + "/5", status: 500, reply: `{"errors":[{"message":"oops"}]}`},
				{method: "GET", path: bbPRs + "/5", reply: bbPR5},
				{method: "PUT", path: bbPRs + "/5", body: jsonEq(map[string]any{"version": 3, "title": "Promote", "description": "new", "toRef": map[string]any{"id": "refs/heads/main"}}), reply: bbPR5},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), promote)
				if err != nil || res.Created || res.Number != 5 {
					t.Fatalf("result = %+v, %v", res, err)
				}
			},
		},
		{
			name: "409 on update says why",
			ex: []exchange{
				{method: "GET", path: bbPRs, query: list, reply: `{"values":[` + bbPR5 + `],"isLastPage":true}`},
				{method: "GET", path: bbPRs + "/5", reply: bbPR5},
				{method: "PUT", path: bbPRs + "/5", status: 409, reply: `{"errors":[{"message":"You are attempting to modify a pull request based on out-of-date information."}]}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				_, err := f.EnsurePullRequest(context.Background(), promote)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 409 || !strings.Contains(err.Error(), "out-of-date") {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name: "CI bot calls",
			ex: []exchange{
				{method: "GET", path: bbPRs + "/5/activities", reply: `{"isLastPage":true,"values":[
					{"action":"COMMENTED","commentAction":"ADDED","comment":{"id":22,"version":0,"text":"second","author":{"name":"bot"}}},
					{"action":"APPROVED"},
					{"action":"COMMENTED","commentAction":"ADDED","comment":{"id":21,"version":1,"text":"first","author":{"name":"bot"}}}]}`},
				{method: "POST", path: bbPRs + "/5/comments", body: jsonEq(map[string]any{"text": "hello"}), status: 201, reply: `{"id":23,"version":0,"text":"hello","author":{"name":"bot"}}`},
				{method: "GET", path: bbPRs + "/5/comments/21", reply: `{"id":21,"version":1,"text":"first"}`},
				{method: "PUT", path: bbPRs + "/5/comments/21", body: jsonEq(map[string]any{"text": "edited", "version": 1}), reply: `{"id":21}`},
				{method: "GET", path: bbPRs + "/5/comments/23", reply: `{"id":23,"version":0}`},
				{method: "DELETE", path: bbPRs + "/5/comments/23", query: map[string]string{"version": "0"}, status: 204, reply: " "},
				{method: "POST", path: "/rest/build-status/1.0/commits/0123abc", status: 204, reply: " ",
					body: jsonEq(map[string]any{"state": "INPROGRESS", "key": "kubectl-gitops/validate", "name": "kubectl-gitops/validate", "url": "https://ci/1", "description": "running"})},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				ctx := context.Background()
				cs, err := f.Comments(ctx, 5)
				want := []Comment{{ID: "21", Body: "first", Author: "bot"}, {ID: "22", Body: "second", Author: "bot"}}
				if d := cmp.Diff(want, cs); err != nil || d != "" {
					t.Errorf("Comments: %v (-want +got):\n%s", err, d)
				}
				if c, err := f.CreateComment(ctx, 5, "hello"); err != nil || c.ID != "23" {
					t.Errorf("CreateComment = %+v, %v", c, err)
				}
				if err := f.EditComment(ctx, 5, "21", "edited"); err != nil {
					t.Error(err)
				}
				if err := f.DeleteComment(ctx, 5, "23"); err != nil {
					t.Error(err)
				}
				if err := f.SetStatus(ctx, "0123abc", Status{State: Pending, Context: "kubectl-gitops/validate", Description: "running", TargetURL: "https://ci/1"}); err != nil {
					t.Error(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newForgeServer(t, func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+testToken }, tt.ex...)
			sl := &sleeps{}
			f, err := Detect(srv.srv.URL+"/scm/PROJ/fleet.git", gitwrite.BitbucketServer, tokenEnv("BITBUCKET_TOKEN"), WithRetry(sl.retry()))
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, f, sl)
		})
	}
}

func ccTarget(op string) map[string]string {
	return map[string]string{"X-Amz-Target": "CodeCommit_20150413." + op}
}

const ccPR1 = `{"pullRequest":{"pullRequestId":"1","title":"Promote","description":"old","pullRequestStatus":"OPEN",
 "pullRequestTargets":[{"repositoryName":"fleet","sourceReference":"refs/heads/gitops/promote/prod/abc","destinationReference":"refs/heads/main",
 "sourceCommit":"0123abc","destinationCommit":"4567def"}]}}`

func TestCodeCommitHandWrittenExchanges(t *testing.T) {
	tests := []struct {
		name string
		ex   []exchange
		run  func(t *testing.T, f Forge)
	}{
		{
			name: "opens one after a 500 (the SDK retries)",
			ex: []exchange{
				{method: "POST", path: "/", reqHeader: ccTarget("ListPullRequests"), status: 500, reply: `{"__type":"InternalFailure","message":"boom"}`},
				{method: "POST", path: "/", reqHeader: ccTarget("ListPullRequests"), body: fields(map[string]any{"repositoryName": "fleet", "pullRequestStatus": "OPEN"}), reply: `{"pullRequestIds":[]}`},
				{method: "POST", path: "/", reqHeader: ccTarget("CreatePullRequest"), reply: ccPR1, body: fields(map[string]any{
					"title": "Promote", "description": "new",
					"targets": []any{map[string]any{"repositoryName": "fleet", "sourceReference": promote.Head, "destinationReference": "main"}}})},
			},
			run: func(t *testing.T, f Forge) {
				res, err := f.EnsurePullRequest(context.Background(), promote)
				if err != nil || !res.Created || res.Number != 1 || len(res.Warnings) != 1 ||
					res.URL != "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/fleet/pull-requests/1/details?region=eu-west-1" {
					t.Fatalf("result = %+v, %v", res, err)
				}
			},
		},
		{
			name: "updates the open one",
			ex: []exchange{
				{method: "POST", path: "/", reqHeader: ccTarget("ListPullRequests"), reply: `{"pullRequestIds":["1"]}`},
				{method: "POST", path: "/", reqHeader: ccTarget("GetPullRequest"), body: jsonEq(map[string]any{"pullRequestId": "1"}), reply: ccPR1},
				{method: "POST", path: "/", reqHeader: ccTarget("UpdatePullRequestDescription"), body: jsonEq(map[string]any{"pullRequestId": "1", "description": "new"}), reply: ccPR1},
			},
			run: func(t *testing.T, f Forge) {
				res, err := f.EnsurePullRequest(context.Background(), PullRequest{Head: promote.Head, Base: "main", Title: "Promote", Body: "new"})
				if err != nil || res.Created || res.Number != 1 {
					t.Fatalf("result = %+v, %v", res, err)
				}
			},
		},
		{
			name: "a refusal is not retried and says why",
			ex: []exchange{
				{method: "POST", path: "/", reqHeader: ccTarget("ListPullRequests"), reply: `{"pullRequestIds":[]}`},
				{method: "POST", path: "/", reqHeader: ccTarget("CreatePullRequest"), status: 400,
					header: map[string]string{"X-Amzn-ErrorType": "SourceAndDestinationAreSameException"},
					reply:  `{"__type":"SourceAndDestinationAreSameException","message":"The source and destination are the same"}`},
			},
			run: func(t *testing.T, f Forge) {
				_, err := f.EnsurePullRequest(context.Background(), promote)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(err.Error(), "SourceAndDestinationAreSameException") {
					t.Fatalf("err = %v", err)
				}
				noSecret(t, err)
			},
		},
		{
			name: "CI bot calls; no statuses",
			ex: []exchange{
				{method: "POST", path: "/", reqHeader: ccTarget("GetCommentsForPullRequest"), reply: `{"commentsForPullRequestData":[
					{"comments":[{"commentId":"c1","content":"report","authorArn":"arn:aws:iam::1:user/bot"},{"commentId":"c0","content":"","deleted":true}]},
					{"location":{"filePath":"a.yaml"},"comments":[{"commentId":"c9","content":"inline"}]}]}`},
				{method: "POST", path: "/", reqHeader: ccTarget("GetPullRequest"), reply: ccPR1},
				{method: "POST", path: "/", reqHeader: ccTarget("PostCommentForPullRequest"), reply: `{"comment":{"commentId":"c2","content":"hello"}}`,
					body: fields(map[string]any{"pullRequestId": "1", "repositoryName": "fleet", "beforeCommitId": "4567def", "afterCommitId": "0123abc", "content": "hello"})},
				{method: "POST", path: "/", reqHeader: ccTarget("UpdateComment"), body: jsonEq(map[string]any{"commentId": "c1", "content": "edited"}), reply: `{}`},
				{method: "POST", path: "/", reqHeader: ccTarget("DeleteCommentContent"), body: jsonEq(map[string]any{"commentId": "c2"}), reply: `{}`},
			},
			run: func(t *testing.T, f Forge) {
				ctx := context.Background()
				cs, err := f.Comments(ctx, 1)
				if d := cmp.Diff([]Comment{{ID: "c1", Body: "report", Author: "arn:aws:iam::1:user/bot"}}, cs); err != nil || d != "" {
					t.Errorf("Comments: %v (-want +got):\n%s", err, d)
				}
				if c, err := f.CreateComment(ctx, 1, "hello"); err != nil || c.ID != "c2" {
					t.Errorf("CreateComment = %+v, %v", c, err)
				}
				if err := f.EditComment(ctx, 1, "c1", "edited"); err != nil {
					t.Error(err)
				}
				if err := f.DeleteComment(ctx, 1, "c2"); err != nil {
					t.Error(err)
				}
				if err := f.SetStatus(ctx, "0123abc", Status{State: Success}); !errors.Is(err, ErrUnsupported) {
					t.Errorf("SetStatus = %v, want ErrUnsupported", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newForgeServer(t, func(h http.Header) bool {
				return strings.HasPrefix(h.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
			}, tt.ex...)
			client := codecommit.New(codecommit.Options{
				Region:       "eu-west-1",
				BaseEndpoint: aws.String(srv.srv.URL),
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", testToken, ""),
				Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond }),
			})
			f, err := Detect("codecommit::eu-west-1://fleet", "", func(string) string { return "" }, WithCodeCommit(client))
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, f)
		})
	}
}
