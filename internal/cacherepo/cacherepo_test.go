package cacherepo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

func newRepo(t *testing.T, host string) (*Repo, *[]string) {
	t.Helper()
	var warnings []string
	r, err := New(context.Background(), host+"/team/cache", registry.New(registry.Options{Retries: -1}), func(s string) { warnings = append(warnings, s) })
	if err != nil {
		t.Fatal(err)
	}
	return r, &warnings
}

// TestRoundTrip stores entries through one Repo and reads them through
// another, as two CI runners do.
func TestRoundTrip(t *testing.T) {
	reg := registrytest.New(nil)
	defer reg.Close()
	w, _ := newRepo(t, reg.Host())
	out := []byte("apiVersion: v1\nkind: ConfigMap\n")
	w.Put(cache.Digest(out), out)
	w.Put("m"+cache.Key("root"), []byte("entries"))
	w.Flush()
	if w.Pushed.Load() != 2 {
		t.Fatalf("%d entries pushed, want 2", w.Pushed.Load())
	}
	r, warnings := newRepo(t, reg.Host())
	if got, ok := r.Get(cache.Digest(out)); !ok || string(got) != string(out) {
		t.Errorf("Get(output) = %q, %v", got, ok)
	}
	if got, ok := r.Get("m" + cache.Key("root")); !ok || string(got) != "entries" {
		t.Errorf("Get(entries) = %q, %v", got, ok)
	}
	if _, ok := r.Get(cache.Key("absent")); ok {
		t.Error("an absent entry was found")
	}
	// What was pulled is not pushed back; what replaces it is.
	r.Put("m"+cache.Key("root"), []byte("entries"))
	r.Put("m"+cache.Key("root"), []byte("rebuilt"))
	r.Flush()
	if r.Pushed.Load() != 1 {
		t.Errorf("%d entries pushed back, want only the rebuilt one", r.Pushed.Load())
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings: %v", *warnings)
	}
}

// TestTruncated leaves out an entry whose layer does not match its
// digest, and goes on using the registry.
func TestTruncated(t *testing.T) {
	var truncate atomic.Bool
	reg := registrytest.New(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if truncate.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body[:len(body)/2])
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	defer reg.Close()
	w, _ := newRepo(t, reg.Host())
	key := cache.Key("entry")
	w.Put(key, []byte("a complete entry of some length"))
	w.Flush()
	truncate.Store(true)
	r, warnings := newRepo(t, reg.Host())
	if got, ok := r.Get(key); ok {
		t.Errorf("a truncated entry was read: %q", got)
	}
	if len(*warnings) != 0 || r.down.Load() {
		t.Errorf("one bad entry stopped the registry's use: %v", *warnings)
	}
}

// TestUnusable names a registry that refuses the credentials, or cannot
// be reached, once, and stops asking it.
func TestUnusable(t *testing.T) {
	deny := registrytest.New(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	})
	defer deny.Close()
	for name, host := range map[string]string{"unauthorized": deny.Host(), "unreachable": "127.0.0.1:1"} {
		t.Run(name, func(t *testing.T) {
			r, warnings := newRepo(t, host)
			for i := 0; i < 3; i++ {
				if _, ok := r.Get(cache.Key("a", name)); ok {
					t.Fatal("read from a registry that cannot be used")
				}
				r.Put(cache.Key("b", name), []byte("x"))
			}
			r.Flush()
			if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "local cache only") {
				t.Errorf("warnings = %q, want one", *warnings)
			}
		})
	}
}

// TestBadReference is refused before any request.
func TestBadReference(t *testing.T) {
	if _, err := New(context.Background(), "Not A Repo", registry.New(registry.Options{}), func(string) {}); err == nil {
		t.Error("a reference with spaces was taken")
	}
}

// TestManyPuts stores more entries than are pushed at once, some keys
// twice: every one arrives, the last of a key last.
func TestManyPuts(t *testing.T) {
	reg := registrytest.New(nil)
	defer reg.Close()
	w, _ := newRepo(t, reg.Host())
	for i := 0; i < 5*pushes; i++ {
		w.Put(cache.Key("k", strings.Repeat("x", i%(2*pushes))), []byte{byte(i)})
	}
	w.Flush()
	r, _ := newRepo(t, reg.Host())
	for j := 0; j < 2*pushes; j++ {
		last := j
		for i := j; i < 5*pushes; i += 2 * pushes {
			last = i
		}
		got, ok := r.Get(cache.Key("k", strings.Repeat("x", j)))
		if !ok || len(got) != 1 || got[0] != byte(last) {
			t.Errorf("key %d holds %v (%v), want the last stored, %d", j, got, ok, last)
		}
	}
}

// TestIsTag holds isTag to the grammar of a tag in the OCI distribution
// spec, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, as the regular expression
// reads it.
func TestIsTag(t *testing.T) {
	grammar := regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	for _, key := range []string{
		"", "a", "_", ".", "-", "a.b-c_d", "0123456789abcdef", "k0123456789abcdef", "a/b", "a:b", "a b", "é", "A\x00",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "." + strings.Repeat("a", 10), "-a", "_" + strings.Repeat(".", 127),
	} {
		if got, want := isTag(key), grammar.MatchString(key); got != want {
			t.Errorf("isTag(%q) = %v, the grammar says %v", key, got, want)
		}
	}
}

func FuzzIsTag(f *testing.F) {
	grammar := regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	f.Add("k0123456789abcdef")
	f.Add("-a")
	f.Fuzz(func(t *testing.T, key string) {
		if got, want := isTag(key), grammar.MatchString(key); got != want {
			t.Errorf("isTag(%q) = %v, the grammar says %v", key, got, want)
		}
	})
}
