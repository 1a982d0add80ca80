package live

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
)

// TestDiffRetriesAFailingServer puts a proxy that fails once in front of
// the API server, as a load balancer does while an API server restarts:
// the first read of the object answers 503 and the first dry-run apply
// 502. Each is sent again, and the diff is the one a healthy server gives.
func TestDiffRetriesAFailingServer(t *testing.T) {
	srv := sharedServer(t)
	admin := srv.RESTConfig()
	applyDocs(t, admin, []string{ns("t-retry"), configMap("t-retry", "settings", "", "color: blue")})

	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := rest.TransportFor(admin) // the server's CA and the admin's token
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = upstream
	const path = "/api/v1/namespaces/t-retry/configmaps/settings"
	var mu sync.Mutex
	seen := map[string]int{}
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path]++
		n := seen[r.Method+" "+r.URL.Path]
		mu.Unlock()
		switch {
		case r.URL.Path == path && r.Method == http.MethodGet && n == 1:
			http.Error(w, "upstream restarting", http.StatusServiceUnavailable)
		case r.URL.Path == path && r.Method == http.MethodPatch && n == 1:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer front.Close()

	cfg := &rest.Config{Host: front.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	roots := []Root{{Path: "apps/retry", Objects: objs(t, configMap("t-retry", "settings", "", "color: red"))}}
	diffs, notes, err := Diff(context.Background(), cfg, roots, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := onlyChange(t, diffs, "v1/ConfigMap/t-retry/settings")
	wantAction(t, c, diff.Changed)
	wantLines(t, c.Diff, "-  color: blue", "+  color: red")
	wantNotes(t, notes)
	mu.Lock()
	defer mu.Unlock()
	if seen["GET "+path] != 2 || seen["PATCH "+path] != 2 {
		t.Errorf("the proxy saw %d reads and %d dry runs of the object, want 2 of each (one failed, one sent again)", seen["GET "+path], seen["PATCH "+path])
	}
}
