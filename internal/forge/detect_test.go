package forge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
)

func TestDetect(t *testing.T) {
	cc := codecommit.New(codecommit.Options{Region: "us-east-1"})
	tests := []struct {
		name     string
		url      string
		provider string
		env      map[string]string
		opts     []Option
		want     string // provider, or "error: substring"
	}{
		{name: "github.com", url: "https://github.com/org/fleet.git", env: map[string]string{"GITHUB_TOKEN": "t"}, want: gitwrite.GitHub},
		{name: "github.com over ssh", url: "git@github.com:org/fleet.git", env: map[string]string{"GITOPS_TOKEN": "t"}, want: gitwrite.GitHub},
		{name: "GitHub Enterprise from GITHUB_SERVER_URL", url: "https://ghe.corp/org/fleet.git",
			env: map[string]string{"GITHUB_SERVER_URL": "https://ghe.corp", "GITHUB_TOKEN": "t"}, want: gitwrite.GitHub},
		{name: "Gitea Actions", url: "https://git.corp/org/fleet.git",
			env: map[string]string{"GITHUB_SERVER_URL": "https://git.corp", "GITEA_ACTIONS": "true", "GITEA_TOKEN": "t"}, want: gitwrite.Gitea},
		{name: "gitlab.com", url: "https://gitlab.com/g/s/fleet.git", env: map[string]string{"GITLAB_TOKEN": "t"}, want: gitwrite.GitLab},
		{name: "self-hosted GitLab from CI_SERVER_URL", url: "git@gitlab.corp:g/fleet.git",
			env: map[string]string{"CI_SERVER_URL": "https://gitlab.corp", "GITLAB_TOKEN": "t"}, want: gitwrite.GitLab},
		{name: "Bitbucket Server by --provider", url: "ssh://git@bitbucket.corp:7999/proj/fleet.git", provider: gitwrite.BitbucketServer,
			env: map[string]string{"BITBUCKET_TOKEN": "t"}, want: gitwrite.BitbucketServer},
		{name: "CodeCommit HTTPS", url: "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/fleet", opts: []Option{WithCodeCommit(cc)}, want: gitwrite.CodeCommit},
		{name: "CodeCommit GRC", url: "codecommit::us-east-1://fleet", opts: []Option{WithCodeCommit(cc)}, want: gitwrite.CodeCommit},
		{name: "unknown host", url: "https://git.corp/org/fleet.git", want: "error: pass --provider"},
		{name: "no token", url: "https://github.com/org/fleet.git", want: "error: set GITOPS_TOKEN or GITHUB_TOKEN or GH_TOKEN"},
		{name: "a token of another forge", url: "https://github.com/org/fleet.git", env: map[string]string{"GITLAB_TOKEN": "t"}, want: "error: no API token"},
		{name: "unknown provider", url: "https://git.corp/org/fleet.git", provider: "svn", env: map[string]string{"GITOPS_TOKEN": "t"}, want: "error: unknown provider"},
		{name: "no repository path", url: "https://github.com/fleet", env: map[string]string{"GITHUB_TOKEN": "t"}, want: "error: OWNER/NAME"},
		{name: "Bitbucket path too deep", url: "https://bb.corp/scm/a/b/fleet.git", provider: gitwrite.BitbucketServer, env: map[string]string{"GITOPS_TOKEN": "t"}, want: "error: PROJECT/REPO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Detect(tt.url, tt.provider, func(k string) string { return tt.env[k] }, tt.opts...)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Provider() != tt.want {
				t.Errorf("provider = %s, want %s", f.Provider(), tt.want)
			}
		})
	}
}

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		ctx       func(context.Context) context.Context
		statuses  []int
		header    http.Header
		wantCalls int
		wantWaits []time.Duration
		wantCode  int
	}{
		{name: "GET 500 then 200", method: "GET", statuses: []int{500, 200}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 200},
		{name: "GET gives up after the attempts", method: "GET", statuses: []int{503, 503, 503}, wantCalls: 3,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, wantCode: 503},
		{name: "POST 500 is not repeated", method: "POST", statuses: []int{500}, wantCalls: 1, wantCode: 500},
		{name: "idempotent POST 500 is repeated", method: "POST", ctx: idempotent, statuses: []int{500, 201}, wantCalls: 2, wantWaits: []time.Duration{10 * time.Millisecond}, wantCode: 201},
		{name: "POST 429 is repeated", method: "POST", statuses: []int{429, 201}, header: http.Header{"Retry-After": {"1"}}, wantCalls: 2, wantWaits: []time.Duration{time.Second}, wantCode: 201},
		{name: "GitHub's exhausted rate limit", method: "GET", statuses: []int{403, 200},
			header:    http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"0"}},
			wantCalls: 2, wantWaits: []time.Duration{0}, wantCode: 200},
		{name: "403 is not repeated", method: "GET", statuses: []int{403}, wantCalls: 1, wantCode: 403},
		{name: "422 is not repeated", method: "PATCH", statuses: []int{422}, wantCalls: 1, wantCode: 422},
		{name: "401 is not repeated", method: "GET", statuses: []int{401}, wantCalls: 1, wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if body, _ := io.ReadAll(r.Body); string(body) != `{"a":1}` {
					t.Errorf("call %d: body %q, want it sent whole every time", n, body)
				}
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.statuses[min(n, len(tt.statuses)-1)])
			}))
			defer srv.Close()
			sl := &sleeps{}
			c := &http.Client{Transport: newRetryTransport(nil, sl.retry())}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL, strings.NewReader(`{"a":1}`))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || int(calls.Load()) != tt.wantCalls || attempts(resp) != tt.wantCalls {
				t.Errorf("status %d after %d calls (attempts header %d), want %d after %d", resp.StatusCode, calls.Load(), attempts(resp), tt.wantCode, tt.wantCalls)
			}
			if got := sl.all(); len(got) != len(tt.wantWaits) || (len(got) > 0 && got[0] > tt.wantWaits[0]+time.Second) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	if d, ok := retryAfter(h, now); !ok || d != 90*time.Second {
		t.Errorf("retryAfter = %v, %v; want 90s", d, ok)
	}
}

// TestNoTokenInErrors calls every method of every forge against a server
// that refuses with the token in its answer: no error may show it.
func TestNoTokenInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "UnrecognizedClientException")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"bad token `+testToken+` in `+r.Header.Get("Authorization")+r.Header.Get("PRIVATE-TOKEN")+`","__type":"UnrecognizedClientException"}`)
	}))
	defer srv.Close()
	cc := codecommit.New(codecommit.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", testToken, testToken)})
	forges := []struct {
		name string
		url  string
		prov string
		opts []Option
	}{
		{name: "github", url: "https://github.com/org/fleet.git", prov: gitwrite.GitHub, opts: []Option{WithAPIURL(srv.URL)}},
		{name: "gitlab", url: "https://gitlab.com/org/fleet.git", prov: gitwrite.GitLab, opts: []Option{WithAPIURL(srv.URL)}},
		{name: "gitea", url: srv.URL + "/org/fleet.git", prov: gitwrite.Gitea},
		{name: "bitbucket-server", url: srv.URL + "/scm/PROJ/fleet.git", prov: gitwrite.BitbucketServer},
		{name: "codecommit", url: "codecommit::us-east-1://fleet", opts: []Option{WithCodeCommit(cc)}},
	}
	ctx := context.Background()
	for _, fc := range forges {
		t.Run(fc.name, func(t *testing.T) {
			f, err := Detect(fc.url, fc.prov, func(string) string { return testToken }, append(fc.opts, WithRetry(Retry{Attempts: 1}))...)
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]error{}
			_, calls["EnsurePullRequest"] = f.EnsurePullRequest(ctx, promote)
			_, calls["PullRequest"] = f.PullRequest(ctx, 1)
			_, calls["Comments"] = f.Comments(ctx, 1)
			_, calls["CreateComment"] = f.CreateComment(ctx, 1, "x")
			calls["EditComment"] = f.EditComment(ctx, 1, "2", "x")
			calls["DeleteComment"] = f.DeleteComment(ctx, 1, "2")
			calls["SetStatus"] = f.SetStatus(ctx, "abc", Status{State: Success, Context: "c"})
			for name, err := range calls {
				if err == nil {
					t.Errorf("%s: no error from a 401", name)
					continue
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("%s: error shows the token: %v", name, err)
				}
				var apiErr *APIError
				if !errors.As(err, &apiErr) && !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s: %T %v is not an APIError", name, err, err)
				}
			}
		})
	}
}
