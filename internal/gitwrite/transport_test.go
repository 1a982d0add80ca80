package gitwrite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	giteaenv "github.com/kubectl-gitops/kubectl-gitops/internal/testenv/gitea"
)

// flaky is a proxy in front of a real forge that answers the requests it
// is told to fail with a status of its own, and records every request.
type flaky struct {
	forge http.Handler
	mu    sync.Mutex
	// fail holds, per "METHOD path-suffix", the statuses to answer
	// before passing that request on, in order.
	fail map[string][]int
	seen []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	key := r.Method + " " + r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	f.seen = append(f.seen, key)
	var status int
	if s := f.fail[key]; len(s) > 0 {
		status, f.fail[key] = s[0], s[1:]
	}
	f.mu.Unlock()
	if status != 0 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, http.StatusText(status), status)
		return
	}
	f.forge.ServeHTTP(w, r)
}

func (f *flaky) requests(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.seen {
		if k == key {
			n++
		}
	}
	return n
}

// TestPushRetriesOverHTTP pushes to a real Gitea through a proxy that
// fails some of its requests: the reference discovery is sent again, the
// receive-pack POST only when the forge says it did nothing (429), and an
// error says how often its request was sent, without the token.
func TestPushRetriesOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Gitea server")
	}
	s := giteaenv.Start(t)
	forgeURL, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{forge: httputil.NewSingleHostReverseProxy(forgeURL)}
	proxy := httptest.NewServer(f)
	t.Cleanup(proxy.Close)

	RetryHTTP(httpretry.Policy{Attempts: 3, Backoff: time.Millisecond})
	t.Cleanup(func() {
		client.InstallProtocol("http", githttp.DefaultClient)
		client.InstallProtocol("https", githttp.DefaultClient)
	})

	const discovery, receive = "GET refs", "POST git-receive-pack"
	for _, tc := range []struct {
		name     string
		fail     map[string][]int
		wantErr  string // empty: the push succeeds
		requests map[string]int
	}{
		{name: "discovery fails twice", fail: map[string][]int{discovery: {503, 502}},
			requests: map[string]int{discovery: 3, receive: 1}},
		{name: "discovery always fails", fail: map[string][]int{discovery: {503, 503, 503}},
			wantErr: "(after 3 attempts)", requests: map[string]int{discovery: 3, receive: 0}},
		{name: "receive-pack busy", fail: map[string][]int{receive: {429}},
			requests: map[string]int{discovery: 1, receive: 2}},
		{name: "receive-pack fails", fail: map[string][]int{receive: {502}},
			wantErr: "502", requests: map[string]int{discovery: 1, receive: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			s.CreateRepo(t, s.AdminUser, name)
			remote := proxy.URL + "/" + s.AdminUser + "/" + name + ".git"
			r := gittest.Init(t, t.TempDir())
			head := r.CommitFiles(t, "one", map[string][]byte{"README.md": []byte("one\n")})
			r.Origin(t, remote)
			ctx := context.Background()
			auth, err := ResolveAuth(ctx, remote, AuthOptions{Provider: Gitea, Getenv: env("GITEA_TOKEN", s.Token),
				CredentialFill: func(context.Context, string) (string, error) { return "", nil }})
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			f.fail, f.seen = tc.fail, nil
			f.mu.Unlock()

			err = Push(ctx, r.Git, "origin", "main", auth)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), s.Token):
				t.Fatalf("the error shows the token: %v", err)
			}
			for key, want := range tc.requests {
				if got := f.requests(key); got != want {
					t.Errorf("%s sent %d times, want %d (all: %v)", key, got, want, f.seen)
				}
			}
			if tc.wantErr == "" {
				origin, err := r.Git.Remote("origin")
				if err != nil {
					t.Fatal(err)
				}
				refs, err := origin.ListContext(ctx, &git.ListOptions{Auth: auth.Method})
				if err != nil {
					t.Fatal(err)
				}
				var got plumbing.Hash
				for _, ref := range refs {
					if ref.Name() == plumbing.NewBranchReferenceName("main") {
						got = ref.Hash()
					}
				}
				if got != head {
					t.Errorf("forge's main = %s, want %s", got, head)
				}
			}
		})
	}
}
