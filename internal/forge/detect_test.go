package forge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
