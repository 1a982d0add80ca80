package gitea

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestConfigSections(t *testing.T) {
	cfg := config{dir: "/w", port: 3123, runUser: "alice", secretKey: "s", internalToken: "i"}
	root := cfg
	root.asRoot = true
	tests := []struct {
		name    string
		cfg     config
		section string
		key     string
		want    string // "" means the key must be absent
	}{
		{name: "listens on loopback", cfg: cfg, section: "server", key: "HTTP_ADDR", want: "127.0.0.1"},
		{name: "port", cfg: cfg, section: "server", key: "HTTP_PORT", want: "3123"},
		{name: "root URL", cfg: cfg, section: "server", key: "ROOT_URL", want: "http://127.0.0.1:3123/"},
		{name: "hooks call back on loopback", cfg: cfg, section: "server", key: "LOCAL_ROOT_URL", want: "http://127.0.0.1:3123/"},
		{name: "no SSH", cfg: cfg, section: "server", key: "DISABLE_SSH", want: "true"},
		{name: "offline", cfg: cfg, section: "server", key: "OFFLINE_MODE", want: "true"},
		{name: "sqlite in the work folder", cfg: cfg, section: "database", key: "PATH", want: "/w/data/gitea.db"},
		{name: "installed", cfg: cfg, section: "security", key: "INSTALL_LOCK", want: "true"},
		{name: "repositories in the work folder", cfg: cfg, section: "repository", key: "ROOT", want: "/w/repositories"},
		{name: "run user", cfg: cfg, section: "", key: "RUN_USER", want: "alice"},
		{name: "root refused by default", cfg: cfg, section: "", key: "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", want: ""},
		{name: "root allowed when running as root", cfg: root, section: "", key: "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", want: "true"},
		{name: "queues run at once", cfg: cfg, section: "queue", key: "TYPE", want: "immediate"},
		{name: "no update checks", cfg: cfg, section: "cron.update_checker", key: "ENABLED", want: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lookup(tt.cfg.sections(), tt.section, tt.key); got != tt.want {
				t.Errorf("[%s] %s = %q, want %q", tt.section, tt.key, got, tt.want)
			}
		})
	}
}

// lookup returns the value of key in section, or "".
func lookup(sections []section, name, key string) string {
	for _, s := range sections {
		if s.name != name {
			continue
		}
		for _, kv := range s.keys {
			if kv[0] == key {
				return kv[1]
			}
		}
	}
	return ""
}

func TestServerPrintsNoSecrets(t *testing.T) {
	s := &Server{URL: "http://127.0.0.1:1", AdminPassword: "hunter2", Token: "t0ken"}
	tests := []struct {
		name   string
		format string
	}{
		{name: "v", format: "%v"},
		{name: "plus v", format: "%+v"},
		{name: "sharp v", format: "%#v"},
		{name: "s", format: "%s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprintf(tt.format, s)
			if strings.Contains(got, s.Token) || strings.Contains(got, s.AdminPassword) {
				t.Errorf("Sprintf(%q) = %q shows a secret", tt.format, got)
			}
		})
	}
}

// TestPullRequestFlow drives a real Gitea the way kubectl gitops will: push
// history over HTTP with go-git, open a pull request, comment on it, edit the
// comment, and read it all back through the REST API.
func TestPullRequestFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Gitea server")
	}
	s := Start(t)
	owner, name := s.AdminUser, "fleet"
	cloneURL := s.CreateRepo(t, owner, name)
	if want := s.URL + "/" + owner + "/" + name + ".git"; cloneURL != want {
		t.Fatalf("clone URL = %q, want %q", cloneURL, want)
	}

	pushHistory(t, cloneURL, &githttp.BasicAuth{Username: s.AdminUser, Password: s.Token})

	var opened struct {
		Number int `json:"number"`
	}
	s.API(t, s.Token, http.MethodPost, repoPath(owner, name)+"/pulls", map[string]any{
		"title": "Promote front-end to prod",
		"body":  "rendered diff here",
		"head":  "promote/prod",
		"base":  "main",
	}, &opened)

	var comment struct {
		ID int64 `json:"id"`
	}
	s.API(t, s.Token, http.MethodPost, fmt.Sprintf("%s/issues/%d/comments", repoPath(owner, name), opened.Number),
		map[string]any{"body": "validation: 0 errors"}, &comment)
	s.API(t, s.Token, http.MethodPatch, fmt.Sprintf("%s/issues/comments/%d", repoPath(owner, name), comment.ID),
		map[string]any{"body": "validation: 1 error"}, nil)

	checks := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "pull request listed", check: func(t *testing.T) {
			prs := s.PullRequests(t, owner, name)
			if len(prs) != 1 {
				t.Fatalf("got %d pull requests, want 1: %+v", len(prs), prs)
			}
			want := PullRequest{Number: opened.Number, Title: "Promote front-end to prod", Body: "rendered diff here",
				Head: "promote/prod", Base: "main", State: "open"}
			if got := prs[0]; got.Number != want.Number || got.Title != want.Title || got.Body != want.Body ||
				got.Head != want.Head || got.Base != want.Base || got.State != want.State || len(got.Labels) != 0 {
				t.Errorf("pull request = %+v, want %+v", got, want)
			}
		}},
		{name: "comment edited in place", check: func(t *testing.T) {
			comments := s.Comments(t, owner, name, opened.Number)
			if len(comments) != 1 {
				t.Fatalf("got %d comments, want 1: %+v", len(comments), comments)
			}
			if got := comments[0]; got.ID != comment.ID || got.Body != "validation: 1 error" || got.User != owner {
				t.Errorf("comment = %+v, want id %d, body %q by %s", got, comment.ID, "validation: 1 error", owner)
			}
		}},
		{name: "second user can read but not comment", check: func(t *testing.T) {
			token := s.CreateUser(t, "dev")
			var repo struct {
				FullName string `json:"full_name"`
			}
			s.API(t, token, http.MethodGet, repoPath(owner, name), nil, &repo)
			if repo.FullName != owner+"/"+name {
				t.Errorf("full_name = %q, want %s/%s", repo.FullName, owner, name)
			}
			err := s.do(context.Background(), "token "+token, http.MethodPatch, fmt.Sprintf("%s/issues/comments/%d", repoPath(owner, name), comment.ID),
				map[string]any{"body": "not mine"}, nil)
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("editing another user's comment: err = %v, want 403 Forbidden", err)
			}
		}},
		{name: "a server started on a taken port is not taken for ready", check: func(t *testing.T) {
			other, err := newServer(s.bin, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			port, err := strconv.Atoi(s.URL[strings.LastIndex(s.URL, ":")+1:])
			if err != nil {
				t.Fatal(err)
			}
			p, retry, err := other.start(port)
			if err == nil {
				p.Stop(stopGrace)
				t.Fatal("a second server on the same port was ready")
			}
			if !retry || !strings.Contains(err.Error(), "another server answers") {
				t.Errorf("start on a taken port: retry = %v, err = %v; want retry and another server answering", retry, err)
			}
		}},
	}
	for _, c := range checks {
		t.Run(c.name, c.check)
	}
}

// pushHistory pushes a commit on main and a branch promote/prod one commit
// ahead of it to url.
func pushHistory(t *testing.T, url string, auth *githttp.BasicAuth) {
	t.Helper()
	fs := memfs.New()
	repo, err := git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	commit := func(path, content, msg string) {
		t.Helper()
		f, err := fs.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(path); err != nil {
			t.Fatal(err)
		}
		sig := &object.Signature{Name: "tests", Email: "tests@example.com", When: time.Now()}
		if _, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
			t.Fatal(err)
		}
	}
	commit("apps/front-end/kustomization.yaml", "resources: []\n", "base")
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("promote/prod"), Create: true}); err != nil {
		t.Fatal(err)
	}
	commit("apps/front-end/kustomization.yaml", "resources: []\nnamespace: prod\n", "promote")
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	err = repo.Push(&git.PushOptions{
		RemoteName: "origin",
		Auth:       auth,
		RefSpecs: []gitconfig.RefSpec{
			"refs/heads/main:refs/heads/main",
			"refs/heads/promote/prod:refs/heads/promote/prod",
		},
	})
	if err != nil {
		t.Fatalf("pushing to %s: %v", url, err)
	}
}
