package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	giteaenv "github.com/kubectl-gitops/kubectl-gitops/internal/testenv/gitea"
)

var bot = object.Signature{Name: "gitops bot", Email: "bot@example.com"}

// userView is what the user sees of their clone: HEAD, the index file, the
// working tree's files and go-git's status.
func userView(t *testing.T, r *gittest.Repo) string {
	t.Helper()
	var b strings.Builder
	head, err := r.Git.Storer.Reference(plumbing.HEAD)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "HEAD %s\n", head)
	idx, err := os.ReadFile(filepath.Join(r.Dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "index %x\n", idx)
	for name, data := range gittest.CopyTree(t, r.Dir) {
		if !strings.HasPrefix(name, ".git/") {
			fmt.Fprintf(&b, "file %s %q\n", name, data)
		}
	}
	wt, err := r.Git.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "status\n%s", st)
	lines := strings.Split(b.String(), "\n")
	return strings.Join(sortedCopy(lines), "\n")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestGiteaPullRequestFlow drives a real Gitea the way `promote --pr` and
// the CI bot do: commit in the object store, push over HTTP with a token,
// open then update the pull request, comment, set a status.
func TestGiteaPullRequestFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Gitea server")
	}
	s := giteaenv.Start(t)
	owner, name := s.AdminUser, "fleet"
	cloneURL := s.CreateRepo(t, owner, name)
	getenv := func(k string) string {
		if k == "GITEA_TOKEN" {
			return s.Token
		}
		return ""
	}
	ctx := context.Background()

	// The user's clone, with history on main pushed to the forge.
	r := gittest.Init(t, t.TempDir())
	base := r.CommitFiles(t, "base", map[string][]byte{
		"apps/front-end/overlays/prod/kustomization.yaml": []byte("images:\n- name: front-end\n  newTag: v1\n"),
		"apps/front-end/overlays/dev/kustomization.yaml":  []byte("images:\n- name: front-end\n  newTag: v2\n"),
		"README.md": []byte("fleet\n"),
	})
	if _, err := r.Git.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{cloneURL}}); err != nil {
		t.Fatal(err)
	}
	auth, err := gitwrite.ResolveAuth(ctx, cloneURL, gitwrite.AuthOptions{Provider: gitwrite.Gitea, Getenv: getenv,
		CredentialFill: func(context.Context, string) (string, error) { return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := gitwrite.Push(ctx, r.Git, "origin", "main", auth); err != nil {
		t.Fatal(err)
	}

	// Uncommitted work of the user: unrelated, so the promotion goes ahead
	// and leaves it as it was; the file to promote is clean.
	r.Write(t, map[string][]byte{"README.md": []byte("my notes\n"), "scratch.yaml": []byte("wip\n")})
	target := "apps/front-end/overlays/prod/kustomization.yaml"
	if dirty, err := gitwrite.Dirty(r.Git, []string{target}); err != nil || len(dirty) != 0 {
		t.Fatalf("Dirty(%s) = %v, %v; want clean", target, dirty, err)
	}
	if dirty, _ := gitwrite.Dirty(r.Git, []string{target, "README.md"}); len(dirty) != 1 || dirty[0] != "README.md" {
		t.Errorf("Dirty = %v, want README.md refused", dirty)
	}
	before := userView(t, r)

	changes := map[string][]byte{target: []byte("images:\n- name: front-end\n  newTag: v2\n")}
	branch := gitwrite.PromoteBranch("overlays/prod", changes)
	when := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	res, err := gitwrite.Commit(r.Git, base, changes, gitwrite.CommitOptions{Branch: branch, Author: bot, Message: "Promote front-end to prod", When: when})
	if err != nil {
		t.Fatal(err)
	}
	if err := gitwrite.Push(ctx, r.Git, "origin", branch, auth); err != nil {
		t.Fatal(err)
	}
	if after := userView(t, r); after != before {
		t.Errorf("the user's clone changed:\n%s", cmp.Diff(before, after))
	}

	f, err := Detect(cloneURL, gitwrite.Gitea, getenv, WithRetry(Retry{Attempts: 2, Backoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	pr := PullRequest{Head: branch, Base: "main", Title: "Promote front-end to prod", Body: "first body", Labels: []string{"promotion", "prod"}}
	first, err := f.EnsurePullRequest(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body = "second body"
	pr.Labels = []string{"promotion"}
	second, err := f.EnsurePullRequest(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "opened once, then updated", check: func(t *testing.T) {
			if !first.Created || second.Created || second.Number != first.Number || !strings.Contains(first.URL, "/pulls/") {
				t.Errorf("first = %+v, second = %+v", first, second)
			}
			prs := s.PullRequests(t, owner, name)
			if len(prs) != 1 {
				t.Fatalf("pull requests = %+v, want one", prs)
			}
			got := prs[0]
			if got.Body != "second body" || got.Head != branch || got.Base != "main" || got.State != "open" {
				t.Errorf("pull request = %+v", got)
			}
			if d := cmp.Diff([]string{"prod", "promotion"}, sortedCopy(got.Labels)); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
		}},
		{name: "read back for the CI bot", check: func(t *testing.T) {
			got, err := f.PullRequest(ctx, first.Number)
			if err != nil {
				t.Fatal(err)
			}
			if got.HeadSHA != res.Hash.String() || got.Head != branch || got.Base != "main" || got.State != "open" {
				t.Errorf("PullRequest = %+v, want head %s at %s", got, branch, res.Hash)
			}
		}},
		{name: "comments", check: func(t *testing.T) {
			c1, err := f.CreateComment(ctx, first.Number, "validation: 0 errors")
			if err != nil {
				t.Fatal(err)
			}
			c2, err := f.CreateComment(ctx, first.Number, "diff: 1 object")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.EditComment(ctx, first.Number, c1.ID, "validation: 1 error"); err != nil {
				t.Fatal(err)
			}
			if err := f.DeleteComment(ctx, first.Number, c2.ID); err != nil {
				t.Fatal(err)
			}
			got, err := f.Comments(ctx, first.Number)
			if err != nil {
				t.Fatal(err)
			}
			want := []Comment{{ID: c1.ID, Body: "validation: 1 error", Author: owner}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("comments (-want +got):\n%s", d)
			}
			if raw := s.Comments(t, owner, name, first.Number); len(raw) != 1 || strconv.FormatInt(raw[0].ID, 10) != c1.ID {
				t.Errorf("Gitea lists %+v", raw)
			}
		}},
		{name: "status", check: func(t *testing.T) {
			st := Status{State: Failure, Context: "kubectl-gitops/validate", Description: "1 error", TargetURL: "http://ci.example.com/1"}
			if err := f.SetStatus(ctx, res.Hash.String(), st); err != nil {
				t.Fatal(err)
			}
			var got []struct {
				Status      string `json:"status"`
				Context     string `json:"context"`
				Description string `json:"description"`
				TargetURL   string `json:"target_url"`
			}
			s.API(t, s.Token, http.MethodGet, fmt.Sprintf("/api/v1/repos/%s/%s/commits/%s/statuses", owner, name, res.Hash), nil, &got)
			if len(got) != 1 || got[0].Status != "failure" || got[0].Context != st.Context || got[0].Description != st.Description || got[0].TargetURL != st.TargetURL {
				t.Errorf("statuses = %+v", got)
			}
		}},
		{name: "a push the remote branch is ahead of is rejected, not forced", check: func(t *testing.T) {
			theirs := pushOnTop(t, cloneURL, branch, &githttp.BasicAuth{Username: owner, Password: s.Token})
			more := map[string][]byte{target: []byte("images:\n- name: front-end\n  newTag: v3\n")}
			if _, err := gitwrite.Commit(r.Git, base, more, gitwrite.CommitOptions{Branch: branch, Author: bot, Message: "again", When: when, Update: true}); err != nil {
				t.Fatal(err)
			}
			err := gitwrite.Push(ctx, r.Git, "origin", branch, auth)
			var rejected *gitwrite.PushRejectedError
			if !errors.As(err, &rejected) || !strings.Contains(err.Error(), "non-fast-forward") {
				t.Fatalf("err = %v, want a non-fast-forward rejection", err)
			}
			if strings.Contains(err.Error(), s.Token) {
				t.Error("the error shows the token")
			}
			var branchInfo struct {
				Commit struct {
					ID string `json:"id"`
				} `json:"commit"`
			}
			s.API(t, s.Token, http.MethodGet, fmt.Sprintf("/api/v1/repos/%s/%s/branches/%s", owner, name, branch), nil, &branchInfo)
			if branchInfo.Commit.ID != theirs.String() {
				t.Errorf("remote branch at %s, want %s: it was forced", branchInfo.Commit.ID, theirs)
			}
		}},
		{name: "a bad token is a clear error without the token", check: func(t *testing.T) {
			bad := "0123456789abcdef0123456789abcdef01234567"
			g, err := Detect(cloneURL, gitwrite.Gitea, func(k string) string {
				if k == "GITOPS_TOKEN" {
					return bad
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.EnsurePullRequest(ctx, pr)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Attempts != 1 {
				t.Fatalf("err = %v, want a 401 APIError sent once", err)
			}
			if strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "GITEA_TOKEN") {
				t.Errorf("err = %q", err)
			}
		}},
	}
	for _, c := range checks {
		t.Run(c.name, c.check)
	}
}

// pushOnTop clones branch of url in memory, commits on it as someone else
// and pushes, returning the new tip.
func pushOnTop(t *testing.T, url, branch string, auth *githttp.BasicAuth) plumbing.Hash {
	t.Helper()
	fs := memfs.New()
	repo, err := git.Clone(memory.NewStorage(), fs, &git.CloneOptions{URL: url, Auth: auth,
		ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	f, _ := fs.Create("REVIEW.md")
	f.Write([]byte("reviewer's fix\n"))
	f.Close()
	if _, err := wt.Add("REVIEW.md"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Reviewer", Email: "reviewer@example.com", When: time.Now()}
	h, err := wt.Commit("review", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{Auth: auth}); err != nil {
		t.Fatal(err)
	}
	return h
}
