package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
)

const ghPulls = "/api/v3/repos/org/fleet/pulls"

var ghList = map[string]string{"state": "open", "head": "org:gitops/promote/prod/abc", "base": "main", "per_page": "100"}

const ghPR7 = `{"number":7,"html_url":"https://github.example.com/org/fleet/pull/7","state":"open","title":"Promote","body":"old",
 "head":{"ref":"gitops/promote/prod/abc","sha":"0123abc"},"base":{"ref":"main"},"labels":[{"name":"promotion"}]}`

func TestGitHubHandWrittenExchanges(t *testing.T) {
	pr := PullRequest{Head: "gitops/promote/prod/abc", Base: "main", Title: "Promote", Body: "new", Labels: []string{"promotion", "prod"}}
	createBody := fields(map[string]any{"title": "Promote", "head": "gitops/promote/prod/abc", "base": "main", "body": "new"})
	tests := []struct {
		name string
		ex   []exchange
		run  func(t *testing.T, f Forge, sl *sleeps)
	}{
		{
			name: "opens after a 500 on the list, retried",
			ex: []exchange{
				{method: "GET", path: ghPulls, query: ghList, status: 500, reply: `{"message":"Server Error"}`},
				{method: "GET", path: ghPulls, query: ghList, reply: `[]`},
				{method: "POST", path: ghPulls, body: createBody, status: 201, reply: strings.Replace(ghPR7, `"labels":[{"name":"promotion"}]`, `"labels":[]`, 1)},
				{method: "POST", path: "/api/v3/repos/org/fleet/issues/7/labels", body: jsonEq([]string{"promotion", "prod"}), reply: `[]`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), pr)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(Result{Number: 7, URL: "https://github.example.com/org/fleet/pull/7", Created: true}, res); d != "" {
					t.Errorf("result (-want +got):\n%s", d)
				}
				if d := cmp.Diff([]time.Duration{10 * time.Millisecond}, sl.all()); d != "" {
					t.Errorf("waits (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "updates the open one; 429 on labels waits Retry-After",
			ex: []exchange{
				{method: "GET", path: ghPulls, query: ghList, reply: "[" + ghPR7 + "]"},
				{method: "PATCH", path: ghPulls + "/7", body: jsonEq(map[string]any{"title": "Promote", "body": "new"}), reply: ghPR7},
				{method: "POST", path: "/api/v3/repos/org/fleet/issues/7/labels", status: 429, header: map[string]string{"Retry-After": "2"}, reply: `{"message":"slow down"}`},
				{method: "POST", path: "/api/v3/repos/org/fleet/issues/7/labels", body: jsonEq([]string{"prod"}), reply: `[]`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), pr)
				if err != nil {
					t.Fatal(err)
				}
				if res.Created || res.Number != 7 {
					t.Errorf("result = %+v, want #7 updated", res)
				}
				if d := cmp.Diff([]time.Duration{2 * time.Second}, sl.all()); d != "" {
					t.Errorf("waits (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "a 500 on create is not repeated; the list finds it made",
			ex: []exchange{
				{method: "GET", path: ghPulls, query: ghList, reply: `[]`},
				{method: "POST", path: ghPulls, body: createBody, status: 500, reply: `{"message":"Server Error"}`},
				{method: "GET", path: ghPulls, query: ghList, reply: "[" + strings.Replace(ghPR7, `"old"`, `"new"`, 1) + "]"},
				{method: "POST", path: "/api/v3/repos/org/fleet/issues/7/labels", body: jsonEq([]string{"prod"}), reply: `[]`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				res, err := f.EnsurePullRequest(context.Background(), pr)
				if err != nil || res.Number != 7 || res.Created {
					t.Fatalf("result = %+v, %v; want #7 found", res, err)
				}
			},
		},
		{
			name: "422 is not retried and says why",
			ex: []exchange{
				{method: "GET", path: ghPulls, query: ghList, reply: `[]`},
				{method: "POST", path: ghPulls, status: 422, reply: `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between main and gitops/promote/prod/abc"}],"documentation_url":"https://docs.github.com/rest"}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				_, err := f.EnsurePullRequest(context.Background(), pr)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Attempts != 1 {
					t.Fatalf("err = %v, want a 422 sent once", err)
				}
				if !strings.Contains(err.Error(), "No commits between main and gitops/promote/prod/abc") {
					t.Errorf("err = %v, want GitHub's reason", err)
				}
				noSecret(t, err)
			},
		},
		{
			name: "401 names the variables, not the token",
			ex: []exchange{
				{method: "GET", path: ghPulls, status: 401, reply: `{"message":"Bad credentials ` + testToken + `"}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				_, err := f.EnsurePullRequest(context.Background(), pr)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 401 || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
					t.Fatalf("err = %v", err)
				}
				noSecret(t, err)
			},
		},
		{
			name: "429 for longer than the policy waits is reported at once",
			ex: []exchange{
				{method: "GET", path: ghPulls, status: 429, header: map[string]string{"Retry-After": "3600"}, reply: `{"message":"rate limited"}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				_, err := f.EnsurePullRequest(context.Background(), pr)
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != 429 || !strings.Contains(err.Error(), "rate") || len(sl.all()) != 0 {
					t.Fatalf("err = %v, waits %v", err, sl.all())
				}
			},
		},
		{
			name: "CI bot calls",
			ex: []exchange{
				{method: "GET", path: ghPulls + "/7", reply: ghPR7},
				{method: "GET", path: "/api/v3/repos/org/fleet/issues/7/comments", query: map[string]string{"per_page": "100"},
					reply: `[{"id":11,"body":"<!-- kubectl-gitops -->\nold","user":{"login":"bot"}}]`},
				{method: "POST", path: "/api/v3/repos/org/fleet/issues/7/comments", body: jsonEq(map[string]any{"body": "hello"}), status: 201, reply: `{"id":12,"body":"hello","user":{"login":"bot"}}`},
				{method: "PATCH", path: "/api/v3/repos/org/fleet/issues/comments/11", body: jsonEq(map[string]any{"body": "edited"}), reply: `{"id":11}`},
				{method: "DELETE", path: "/api/v3/repos/org/fleet/issues/comments/12", status: 204, reply: " "},
				{method: "POST", path: "/api/v3/repos/org/fleet/statuses/0123abc", status: 502, reply: `{"message":"bad gateway"}`},
				{method: "POST", path: "/api/v3/repos/org/fleet/statuses/0123abc", status: 201,
					body: jsonEq(map[string]any{"state": "success", "target_url": "https://ci/1", "description": "ok", "context": "kubectl-gitops/validate"}), reply: `{}`},
			},
			run: func(t *testing.T, f Forge, sl *sleeps) {
				ctx := context.Background()
				got, err := f.PullRequest(ctx, 7)
				want := PR{Number: 7, Title: "Promote", Body: "old", URL: "https://github.example.com/org/fleet/pull/7", Head: "gitops/promote/prod/abc",
					Base: "main", HeadSHA: "0123abc", State: "open", Labels: []string{"promotion"}}
				if d := cmp.Diff(want, got); err != nil || d != "" {
					t.Errorf("PullRequest: %v (-want +got):\n%s", err, d)
				}
				cs, err := f.Comments(ctx, 7)
				if err != nil || len(cs) != 1 || cs[0].ID != "11" || cs[0].Author != "bot" {
					t.Errorf("Comments = %+v, %v", cs, err)
				}
				c, err := f.CreateComment(ctx, 7, "hello")
				if err != nil || c.ID != "12" {
					t.Errorf("CreateComment = %+v, %v", c, err)
				}
				if err := f.EditComment(ctx, 7, "11", "edited"); err != nil {
					t.Error(err)
				}
				if err := f.DeleteComment(ctx, 7, "12"); err != nil {
					t.Error(err)
				}
				if err := f.SetStatus(ctx, "0123abc", Status{State: Success, Context: "kubectl-gitops/validate", Description: "ok", TargetURL: "https://ci/1"}); err != nil {
					t.Errorf("SetStatus after a 502 (idempotent, retried): %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newForgeServer(t, func(h http.Header) bool { return h.Get("Authorization") == "Bearer "+testToken }, tt.ex...)
			sl := &sleeps{}
			f, err := Detect("https://github.example.com/org/fleet.git", gitwrite.GitHub, tokenEnv("GITHUB_TOKEN"),
				WithAPIURL(srv.srv.URL+"/api/v3/"), WithRetry(sl.retry()))
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, f, sl)
		})
	}
}
