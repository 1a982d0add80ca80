package gitwrite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

type fakeSSH struct{ transport.AuthMethod }

func TestResolveAuth(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	noHelper := func(context.Context, string) (string, error) { return "", nil }
	tests := []struct {
		name   string
		url    string
		opts   AuthOptions
		want   func(t *testing.T, a Auth)
		errHas string
	}{
		{
			name: "GitHub token", url: "https://github.com/org/fleet.git",
			opts: AuthOptions{Getenv: env("GITHUB_TOKEN", secret), CredentialFill: noHelper},
			want: basic("x-access-token", secret, "GITHUB_TOKEN"),
		},
		{
			name: "GITOPS_TOKEN first", url: "https://github.com/org/fleet.git",
			opts: AuthOptions{Getenv: env("GITHUB_TOKEN", "other", "GITOPS_TOKEN", secret), CredentialFill: noHelper},
			want: basic("x-access-token", secret, "GITOPS_TOKEN"),
		},
		{
			name: "GitLab token", url: "https://gitlab.com/group/sub/fleet.git",
			opts: AuthOptions{Getenv: env("GITLAB_TOKEN", secret), CredentialFill: noHelper},
			want: basic("oauth2", secret, "GITLAB_TOKEN"),
		},
		{
			name: "Gitea by --provider", url: "http://127.0.0.1:3000/org/fleet.git",
			opts: AuthOptions{Provider: Gitea, Getenv: env("GITEA_TOKEN", secret), CredentialFill: noHelper},
			want: basic("gitops", secret, "GITEA_TOKEN"),
		},
		{
			name: "GITOPS_USER overrides the user name", url: "https://git.example.com/org/fleet.git",
			opts: AuthOptions{Getenv: env("GITOPS_TOKEN", secret, "GITOPS_USER", "alice"), CredentialFill: noHelper},
			want: basic("alice", secret, "GITOPS_TOKEN"),
		},
		{
			name: "Bitbucket Server token without a user is a bearer token", url: "https://bitbucket.example.com/scm/proj/fleet.git",
			opts: AuthOptions{Provider: BitbucketServer, Getenv: env("BITBUCKET_TOKEN", secret), CredentialFill: noHelper},
			want: func(t *testing.T, a Auth) {
				if ta, ok := a.Method.(*githttp.TokenAuth); !ok || ta.Token != secret {
					t.Errorf("method = %T, want bearer token", a.Method)
				}
			},
		},
		{
			name: "a token of another forge is not sent", url: "https://gitlab.com/group/fleet.git",
			opts: AuthOptions{Getenv: env("GITHUB_TOKEN", secret), CredentialFill: noHelper},
			want: func(t *testing.T, a Auth) {
				if a.Method != nil {
					t.Errorf("method = %T, want none", a.Method)
				}
			},
		},
		{
			name: "credential helper", url: "https://git.example.com:8443/org/fleet.git",
			opts: AuthOptions{Getenv: env(), CredentialFill: func(_ context.Context, req string) (string, error) {
				if req != "protocol=https\nhost=git.example.com:8443\npath=org/fleet\n\n" {
					return "", fmt.Errorf("unexpected request %q", req)
				}
				return "protocol=https\nhost=git.example.com:8443\nusername=bob\npassword=" + secret + "\n", nil
			}},
			want: basic("bob", secret, "git credential fill"),
		},
		{
			name: "ssh agent", url: "git@github.com:org/fleet.git",
			opts: AuthOptions{Getenv: env(), SSHAgent: func(user string) (transport.AuthMethod, error) {
				if user != "git" {
					return nil, errors.New("user " + user)
				}
				return fakeSSH{}, nil
			}},
			want: func(t *testing.T, a Auth) {
				if _, ok := a.Method.(fakeSSH); !ok || a.Source != "ssh-agent" {
					t.Errorf("auth = %v %T, want the agent", a, a.Method)
				}
			},
		},
		{name: "ssh without agent", url: "ssh://git@example.com/org/fleet.git", opts: AuthOptions{Getenv: env()}, errHas: "SSH_AUTH_SOCK is not set"},
		{
			name: "CodeCommit GRC URL signs with AWS credentials", url: "codecommit::eu-west-1://ops@fleet",
			opts: AuthOptions{Getenv: env(), Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
				AWS: func(_ context.Context, profile, region string) (AWSCredentials, error) {
					if profile != "ops" || region != "eu-west-1" {
						return AWSCredentials{}, fmt.Errorf("profile %q region %q", profile, region)
					}
					return AWSCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret}, nil
				}},
			want: func(t *testing.T, a Auth) {
				b, ok := a.Method.(*githttp.BasicAuth)
				if !ok || b.Username != "AKIDEXAMPLE" || !strings.HasPrefix(b.Password, "20260102T030405Z") || len(b.Password) != 16+64 {
					t.Errorf("auth = %T %v", a.Method, a.Method)
				}
				if a.URL != "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet" {
					t.Errorf("URL = %q", a.URL)
				}
				if strings.Contains(a.Redactor.String(b.Password+" "+secret), secret) {
					t.Error("secret not redacted")
				}
			},
		},
		{name: "CodeCommit without region", url: "codecommit://fleet", opts: AuthOptions{Getenv: env()}, errHas: "no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ResolveAuth(context.Background(), tt.url, tt.opts)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, a)
			if s := fmt.Sprintf("%v %+v %s", a, a, a.String()); strings.Contains(s, secret) {
				t.Errorf("printing the Auth shows the secret: %s", s)
			}
		})
	}
}

func basic(user, password, source string) func(t *testing.T, a Auth) {
	return func(t *testing.T, a Auth) {
		t.Helper()
		b, ok := a.Method.(*githttp.BasicAuth)
		if !ok || b.Username != user || b.Password != password || a.Source != source {
			t.Errorf("auth = %T source %q, want basic %s from %s", a.Method, a.Source, user, source)
		}
	}
}

func TestCodeCommitPasswordIsStable(t *testing.T) {
	creds := AWSCredentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "tok"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u1, p1 := CodeCommitPassword(creds, "us-east-1", "git-codecommit.us-east-1.amazonaws.com", "/v1/repos/a", at)
	_, p2 := CodeCommitPassword(creds, "us-east-1", "git-codecommit.us-east-1.amazonaws.com", "/v1/repos/b", at)
	if u1 != "AKID%tok" || p1 == p2 || !strings.HasPrefix(p1, "20260102T030405Z") {
		t.Errorf("user %q passwords %q %q", u1, p1, p2)
	}
}

func TestPushNeverForces(t *testing.T) {
	remoteDir := t.TempDir()
	if _, err := git.PlainInit(remoteDir, true); err != nil {
		t.Fatal(err)
	}
	r, base := newRepo(t)
	if _, err := r.Git.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{remoteDir}}); err != nil {
		t.Fatal(err)
	}
	branch := "gitops/images/abc"
	res := mustCommit(t, r, base, map[string][]byte{"README.md": []byte("one\n")}, CommitOptions{Branch: branch, Author: bot, Message: "one", When: when})
	ctx := context.Background()
	if err := Push(ctx, r.Git, "origin", branch, Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := Push(ctx, r.Git, "origin", branch, Auth{}); err != nil {
		t.Fatalf("second push of the same commit: %v", err)
	}

	// Someone else's clone adds a commit to the branch.
	bare, _ := git.PlainOpen(remoteDir)
	theirs := mustCommit(t, &gittest.Repo{Git: bare}, res.Hash, map[string][]byte{"README.md": []byte("theirs\n")},
		CommitOptions{Branch: "tmp", Author: bot, Message: "theirs", When: when})
	if err := bare.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), theirs.Hash)); err != nil {
		t.Fatal(err)
	}
	// Our rewrite of the branch, from the same base.
	if err := r.Git.Storer.RemoveReference(plumbing.NewBranchReferenceName(branch)); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, r, base, map[string][]byte{"README.md": []byte("two\n")}, CommitOptions{Branch: branch, Author: bot, Message: "two", When: when})
	err := Push(ctx, r.Git, "origin", branch, Auth{Redactor: redact.NewRedactor()})
	var rejected *PushRejectedError
	if !errors.As(err, &rejected) || !strings.Contains(err.Error(), "non-fast-forward") {
		t.Fatalf("err = %v, want a non-fast-forward rejection", err)
	}
	ref, _ := bare.Reference(plumbing.NewBranchReferenceName(branch), false)
	if ref.Hash() != theirs.Hash {
		t.Errorf("remote branch moved to %s: forced", ref.Hash())
	}
}
