package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

func TestListTags(t *testing.T) {
	reg := newTestRegistry(t, nil)
	reg.push(t, "weaveworksdemos/front-end", "main-d480788-24", "main-e5f1a2b-31", "0.3.12")
	reg.push(t, "sock-shop/carts", "v1.3.0")
	h := reg.host()
	c, _ := testClient(Options{})
	got := c.ListTags(context.Background(), []string{
		h + "/weaveworksdemos/front-end",
		h + "/sock-shop/carts",
		// The same repository spelled with a default tag is listed once.
		h + "/sock-shop/carts:latest",
	})
	want := map[string][]string{
		h + "/weaveworksdemos/front-end": {"0.3.12", "main-d480788-24", "main-e5f1a2b-31"},
		h + "/sock-shop/carts":           {"v1.3.0"},
	}
	for repo, tags := range want {
		if got[repo].Err != nil {
			t.Errorf("%s: %v", repo, got[repo].Err)
		}
		if diff := cmp.Diff(tags, got[repo].Tags); diff != "" {
			t.Errorf("%s tags (-want +got):\n%s", repo, diff)
		}
	}
	if r := got[h+"/sock-shop/carts:latest"]; r.Err == nil || !errors.Is(r.Err, ErrInvalid) {
		// A tag is not part of a repository name.
		t.Errorf("repository with a tag: %+v", r)
	}
}

func TestListTagsErrors(t *testing.T) {
	const bad, good = "team/bad", "team/good"
	tests := []struct {
		name  string
		front func(http.Handler) http.Handler
		opts  Options
		// check inspects the failing repository's error, the requests for
		// its tags and the waits.
		check func(t *testing.T, err error, requests int, waits []time.Duration)
	}{
		{name: "404 for one repository",
			check: func(t *testing.T, err error, requests int, _ []time.Duration) {
				if !errors.Is(err, ErrNotFound) || requests != 1 {
					t.Errorf("err = %v after %d requests", err, requests)
				}
			}},
		{name: "429 then success",
			front: failing(tagsOf(bad), http.StatusTooManyRequests, 2, http.Header{"Retry-After": {"1"}}),
			check: func(t *testing.T, err error, requests int, waits []time.Duration) {
				if err != nil || requests != 3 {
					t.Errorf("err = %v after %d requests", err, requests)
				}
				if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, waits); diff != "" {
					t.Errorf("waits do not honour Retry-After (-want +got):\n%s", diff)
				}
			}},
		{name: "503 then success, exponential backoff",
			front: failing(tagsOf(bad), http.StatusServiceUnavailable, 3, nil),
			opts:  Options{Backoff: 100 * time.Millisecond},
			check: func(t *testing.T, err error, requests int, waits []time.Duration) {
				if err != nil || requests != 4 || len(waits) != 3 {
					t.Fatalf("err = %v after %d requests, waits %v", err, requests, waits)
				}
				for i, w := range waits {
					base := 100 * time.Millisecond << i
					if w > base || w < base*4/5 {
						t.Errorf("wait %d = %v, want about %v", i, w, base)
					}
				}
			}},
		{name: "500 beyond the retries",
			front: failing(tagsOf(bad), http.StatusInternalServerError, -1, nil),
			opts:  Options{Retries: 3},
			check: func(t *testing.T, err error, requests int, _ []time.Duration) {
				if !errors.Is(err, ErrUnavailable) || requests != 4 {
					t.Errorf("err = %v after %d requests", err, requests)
				}
				if want := "registry error: HTTP 500 Internal Server Error after 4 attempts"; !strings.HasSuffix(err.Error(), want) {
					t.Errorf("message %q, want it to end with %q", err, want)
				}
			}},
		{name: "429 with a Retry-After beyond the longest wait",
			front: failing(tagsOf(bad), http.StatusTooManyRequests, -1, http.Header{"Retry-After": {"3600"}}),
			check: func(t *testing.T, err error, requests int, waits []time.Duration) {
				if !errors.Is(err, ErrRateLimited) || requests != 1 || len(waits) != 0 {
					t.Errorf("err = %v after %d requests, waits %v", err, requests, waits)
				}
			}},
		{name: "403",
			front: failing(tagsOf(bad), http.StatusForbidden, -1, nil),
			check: func(t *testing.T, err error, requests int, _ []time.Duration) {
				if !errors.Is(err, ErrForbidden) || requests != 1 {
					t.Errorf("err = %v after %d requests", err, requests)
				}
			}},
		{name: "request timeout",
			front: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tagsOf(bad)(r) {
						select {
						case <-time.After(5 * time.Second):
						case <-r.Context().Done():
						}
						return
					}
					next.ServeHTTP(w, r)
				})
			},
			opts: Options{Timeout: 200 * time.Millisecond, Retries: 1},
			check: func(t *testing.T, err error, requests int, _ []time.Duration) {
				if !errors.Is(err, ErrTimeout) || requests != 2 {
					t.Errorf("err = %v after %d requests", err, requests)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t, tt.front)
			reg.push(t, good, "v1")
			if tt.name != "404 for one repository" {
				reg.push(t, bad, "v1")
			}
			cnt := newCounter()
			opts := tt.opts
			opts.Transport = cnt
			c, s := testClient(opts)
			h := reg.host()
			got := c.ListTags(context.Background(), []string{h + "/" + bad, h + "/" + good})
			if r := got[h+"/"+good]; r.Err != nil || !slices.Equal(r.Tags, []string{"v1"}) {
				t.Errorf("the other repository: %+v", r)
			}
			err := got[h+"/"+bad].Err
			if err != nil && !strings.HasPrefix(err.Error(), h+"/"+bad+": ") {
				t.Errorf("message %q does not start with the repository", err)
			}
			tt.check(t, err, cnt.count(http.MethodGet, "/v2/"+bad+"/tags/list"), s.all())
		})
	}
}

func TestCredentials(t *testing.T) {
	const user, pass = "ci-bot", "s3cret-Pa55"
	tests := []struct {
		name    string
		front   func(http.Handler) http.Handler
		creds   authn.AuthConfig
		wantErr error
	}{
		{name: "basic, right", front: basicAuth(user, pass), creds: authn.AuthConfig{Username: user, Password: pass}},
		{name: "basic, wrong", front: basicAuth(user, pass), creds: authn.AuthConfig{Username: user, Password: "nope-" + pass}, wantErr: ErrUnauthorized},
		{name: "basic, none", front: basicAuth(user, pass), wantErr: ErrUnauthorized},
		{name: "token, right", front: bearerAuth(user, pass), creds: authn.AuthConfig{Username: user, Password: pass}},
		{name: "token, wrong", front: bearerAuth(user, pass), creds: authn.AuthConfig{Username: user, Password: "nope-" + pass}, wantErr: ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t, tt.front)
			reg.push(t, "weaveworksdemos/front-end", "main-d480788-24")
			repo := reg.host() + "/weaveworksdemos/front-end"
			keychain := staticKeychain{}
			if tt.creds.Username != "" {
				keychain[reg.host()] = tt.creds
			}
			c, _ := testClient(Options{Keychain: keychain})
			r := c.ListTags(context.Background(), []string{repo})[repo]
			if !errors.Is(r.Err, tt.wantErr) || (tt.wantErr == nil && r.Err != nil) {
				t.Fatalf("err = %v, want %v", r.Err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if !slices.Equal(r.Tags, []string{"main-d480788-24"}) {
					t.Errorf("tags = %v", r.Tags)
				}
				return
			}
			want := repo + ": unauthorized: authentication required (check docker login / credential helper)"
			if r.Err.Error() != want {
				t.Errorf("message:\n got %q\nwant %q", r.Err, want)
			}
			for e := r.Err; e != nil; e = errors.Unwrap(e) {
				if s := fmt.Sprintf("%+v", e); strings.Contains(s, pass) {
					t.Errorf("the password is in an error: %s", s)
				}
			}
		})
	}
}

func TestPagination(t *testing.T) {
	const repo = "team/many"
	tags := make([]string, 2500)
	for i := range tags {
		tags[i] = fmt.Sprintf("1.0.%04d", i)
	}
	reg := newTestRegistry(t, registrytest.Paginate)
	img := reg.push(t, repo, tags[0])
	reg.tag(t, repo, img, tags[1:]...)
	tests := []struct {
		name     string
		pageSize int
		pages    int
	}{
		{name: "default page size", pages: 3},
		{name: "small pages", pageSize: 300, pages: 9},
		{name: "one page", pageSize: 5000, pages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cnt := newCounter()
			c, _ := testClient(Options{PageSize: tt.pageSize, Transport: cnt})
			r := c.ListTags(context.Background(), []string{reg.host() + "/" + repo})[reg.host()+"/"+repo]
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if diff := cmp.Diff(tags, r.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if got := cnt.count(http.MethodGet, "/v2/"+repo+"/tags/list"); got != tt.pages {
				t.Errorf("%d pages requested, want %d", got, tt.pages)
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	tests := []struct {
		name  string
		bound int
	}{
		{name: "one at a time", bound: 1},
		{name: "three at a time", bound: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inFlight, most atomic.Int32
			slow := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n := inFlight.Add(1)
					defer inFlight.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(10 * time.Millisecond)
					next.ServeHTTP(w, r)
				})
			}
			reg := newTestRegistry(t, slow)
			var repos []string
			for i := range 12 {
				repo := fmt.Sprintf("team/app-%02d", i)
				reg.push(t, repo, "v1")
				repos = append(repos, reg.host()+"/"+repo)
			}
			c, _ := testClient(Options{Concurrency: tt.bound})
			for repo, r := range c.ListTags(context.Background(), repos) {
				if r.Err != nil {
					t.Errorf("%s: %v", repo, r.Err)
				}
			}
			if m := most.Load(); m > int32(tt.bound) || (tt.bound > 1 && m < 2) {
				t.Errorf("at most %d requests in flight, bound %d", m, tt.bound)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	reg := newTestRegistry(t, nil)
	var repos []string
	for i := range 5 {
		repo := fmt.Sprintf("team/app-%d", i)
		reg.push(t, repo, "v1")
		repos = append(repos, reg.host()+"/"+repo)
	}
	repos = append(repos, reg.host()+"/team/missing")
	var (
		mu    sync.Mutex
		calls [][2]int
	)
	c, _ := testClient(Options{Concurrency: 3, Progress: func(done, total int) {
		mu.Lock()
		calls = append(calls, [2]int{done, total})
		mu.Unlock()
	}})
	c.ListTags(context.Background(), repos)
	want := [][2]int{{0, 6}, {1, 6}, {2, 6}, {3, 6}, {4, 6}, {5, 6}, {6, 6}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("progress calls (-want +got):\n%s", diff)
	}
}

func TestCanceled(t *testing.T) {
	reg := newTestRegistry(t, failing(func(*http.Request) bool { return true }, http.StatusServiceUnavailable, -1, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := New(Options{Keychain: authn.NewMultiKeychain()})
	repo := reg.host() + "/team/app"
	start := time.Now()
	r := c.ListTags(ctx, []string{repo})[repo]
	if !errors.Is(r.Err, ErrCanceled) && !errors.Is(r.Err, context.Canceled) {
		t.Errorf("err = %v", r.Err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v after cancel", d)
	}
}

func TestDigest(t *testing.T) {
	noHead := failing(func(r *http.Request) bool {
		return r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/")
	}, http.StatusMethodNotAllowed, -1, nil)
	tests := []struct {
		name  string
		front func(http.Handler) http.Handler
		index bool
	}{
		{name: "image"},
		{name: "index", index: true},
		{name: "registry without HEAD", front: noHead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t, tt.front)
			ref := reg.host() + "/team/app:v1.2.3"
			var want string
			direct, err := name.ParseReference(reg.DirectHost() + "/team/app:v1.2.3")
			if err != nil {
				t.Fatal(err)
			}
			if tt.index {
				idx, err := random.Index(128, 1, 2)
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.WriteIndex(direct, idx); err != nil {
					t.Fatal(err)
				}
				d, _ := idx.Digest()
				want = d.String()
			} else {
				img := reg.push(t, "team/app", "v1.2.3")
				d, _ := img.Digest()
				want = d.String()
			}
			c, _ := testClient(Options{})
			got, err := c.Digest(context.Background(), ref)
			if err != nil || got != want {
				t.Errorf("Digest = %q, %v; want %q", got, err, want)
			}
			if _, err := c.Digest(context.Background(), reg.host()+"/team/app:no-such-tag"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Digest of a missing tag: %v", err)
			}
		})
	}
}

func TestDigests(t *testing.T) {
	reg := newTestRegistry(t, nil)
	a := reg.push(t, "team/a", "v1")
	b := reg.push(t, "team/b", "v2")
	da, _ := a.Digest()
	db, _ := b.Digest()
	h := reg.host()
	var calls atomic.Int32
	c, _ := testClient(Options{Progress: func(int, int) { calls.Add(1) }})
	got := c.Digests(context.Background(), []string{h + "/team/a:v1", h + "/team/b:v2", h + "/team/a:v1", "Not A Reference"})
	if got[h+"/team/a:v1"].Digest != da.String() || got[h+"/team/b:v2"].Digest != db.String() {
		t.Errorf("Digests = %+v", got)
	}
	if !errors.Is(got["Not A Reference"].Err, ErrInvalid) {
		t.Errorf("invalid reference: %+v", got["Not A Reference"])
	}
	if calls.Load() != 4 { // 0 done, then 3 unique references
		t.Errorf("%d progress calls", calls.Load())
	}
}

func TestInsecureOption(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ref  string
		want string
	}{
		{name: "public registry over HTTPS", ref: "registry.example.com/app", want: "https"},
		{name: "all insecure", opts: Options{Insecure: true}, ref: "registry.example.com/app", want: "http"},
		{name: "listed registry", opts: Options{InsecureRegistries: []string{"registry.example.com:5000"}}, ref: "registry.example.com:5000/app", want: "http"},
		{name: "another registry", opts: Options{InsecureRegistries: []string{"registry.example.com:5000"}}, ref: "other.example.com/app", want: "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.opts)
			repo, err := name.NewRepository(tt.ref, c.nameOptions(tt.ref)...)
			if err != nil {
				t.Fatal(err)
			}
			if got := repo.Scheme(); got != tt.want {
				t.Errorf("scheme = %s, want %s", got, tt.want)
			}
		})
	}
}
