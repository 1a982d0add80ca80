package helm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// versions are the versions of the test chart every source serves.
var versions = []string{"0.1.0", "0.1.1", "0.2.0", "1.0.0-rc.1", "1.0.0+build.2"}

func archives(t *testing.T) [][]byte {
	var out [][]byte
	for _, v := range versions {
		out = append(out, helmtest.Package(t, helmtest.Chart("app", v)))
	}
	return out
}

func newFetcher(t *testing.T, c *cache.Cache, offline bool, now func() time.Time) *Fetcher {
	return NewFetcher(FetcherOptions{Cache: c, Offline: offline, Now: now,
		Registry: registry.New(registry.Options{Retries: -1, Timeout: 5 * time.Second})})
}

func openCache(t *testing.T) *cache.Cache {
	c, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The versions source-controller picks, from an HTTP repository's index
// and from an OCI repository's tags alike.
func TestFetchVersions(t *testing.T) {
	srv := helmtest.Serve(t, archives(t)...)
	cases := []struct {
		want, got, err string
	}{
		// Build metadata does not make a version a prerelease.
		{want: "", got: "1.0.0+build.2"},
		{want: "*", got: "1.0.0+build.2"},
		{want: "<1", got: "0.2.0"},
		{want: "0.1.0", got: "0.1.0"},
		{want: "~0.1", got: "0.1.1"},
		{want: ">=0.1.0 <0.2.0", got: "0.1.1"},
		{want: ">=1.0.0-0", got: "1.0.0+build.2"},
		{want: "1.0.0-rc.1", got: "1.0.0-rc.1"},
		{want: ">=2", err: `no version matches ">=2"`},
		{want: "not a range", err: "neither a version nor a semver range"},
	}
	sources := map[string]string{"http": srv.RepoURL, "oci": "oci://" + srv.Registry + "/charts"}
	for kind, url := range sources {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.want, func(t *testing.T) {
				f := newFetcher(t, nil, false, nil)
				c, err := f.FromRepository(context.Background(), url, "app", tc.want, time.Hour, Auth{}, false)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error %v, want one with %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				ch, err := c.load()
				if err != nil {
					t.Fatal(err)
				}
				if c.Version != tc.got || ch.Metadata.Version != tc.got {
					t.Errorf("version %q (chart says %q), want %q", c.Version, ch.Metadata.Version, tc.got)
				}
			})
		}
	}
}

// A chart is fetched once: a second run reads the resolution and the
// archive from the cache until the source's interval passes; offline, only
// the cache is read, and a chart it lacks is named.
func TestFetchCache(t *testing.T) {
	repo := helmtest.Serve(t, archives(t)...)
	c := openCache(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	ctx := context.Background()
	get := func(f *Fetcher) (*Chart, error) {
		return f.FromRepository(ctx, repo.RepoURL, "app", "~0.1", 10*time.Minute, Auth{}, false)
	}
	if _, err := get(newFetcher(t, c, false, clock)); err != nil {
		t.Fatal(err)
	}
	if _, err := get(newFetcher(t, c, false, clock)); err != nil {
		t.Fatal(err)
	}
	if n := repo.Requests("/index.yaml"); n != 1 {
		t.Errorf("index fetched %d times within the interval, want 1", n)
	}
	if n := repo.Requests("/app-0.1.1.tgz"); n != 1 {
		t.Errorf("chart fetched %d times, want 1", n)
	}
	now = now.Add(11 * time.Minute)
	if _, err := get(newFetcher(t, c, true, clock)); err != nil {
		t.Fatalf("offline with the chart cached: %v", err)
	}
	if _, err := get(newFetcher(t, c, false, clock)); err != nil {
		t.Fatal(err)
	}
	if n := repo.Requests("/index.yaml"); n != 2 {
		t.Errorf("index fetched %d times after the interval, want 2", n)
	}
	_, err := newFetcher(t, openCache(t), true, clock).FromRepository(ctx, repo.RepoURL, "app", "0.2.0", time.Hour, Auth{}, false)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "chart app 0.2.0 from "+repo.RepoURL) {
		t.Errorf("offline without the chart: %v", err)
	}
}

// A repository that refuses or fails leaves the release unchecked; one
// that has no such chart is an error of the release. Credentials never
// show.
func TestFetchFailures(t *testing.T) {
	repo := helmtest.Serve(t, archives(t)...)
	ctx := context.Background()
	for _, status := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
		repo.Fail.Store(int32(status))
		_, err := newFetcher(t, nil, false, nil).FromRepository(ctx, repo.RepoURL, "app", "", time.Hour, Auth{Username: "u", Password: "hunter2"}, false)
		var u *Unchecked
		if !errors.As(fetchError(err), &u) {
			t.Errorf("HTTP %d: %v is not unchecked", status, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("HTTP %d: the password shows: %v", status, err)
		}
	}
	repo.Fail.Store(0)
	_, err := newFetcher(t, nil, false, nil).FromRepository(ctx, repo.RepoURL, "nope", "", time.Hour, Auth{}, false)
	var u *Unchecked
	if err == nil || errors.As(fetchError(err), &u) || !strings.Contains(err.Error(), `no chart "nope"`) {
		t.Errorf("missing chart: %v", err)
	}
	_, err = newFetcher(t, nil, false, nil).FromRepository(ctx, "oci://"+repo.Registry+"/charts", "app", "1.2.3", time.Hour, Auth{}, false)
	if err == nil || errors.As(fetchError(err), &u) {
		t.Errorf("missing OCI chart: %v", err)
	}
}

// A host out of reach is asked once a run, and every fetch from it reads
// the same, the first included, whichever of concurrent fetches of several
// charts went first: a run's findings do not depend on its timing.
func TestFetchHostDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing answers there
	f := newFetcher(t, nil, false, nil)
	down := "cannot reach " + host + ": dial tcp " + host + ": connect: connection refused (after 1 attempt)"
	fetch := func(url, chart string) {
		want := "chart " + chart + " 0.1.0 from " + url + ": " + down
		_, err := f.FromRepository(context.Background(), url, chart, "0.1.0", time.Hour, Auth{}, false)
		if err == nil || err.Error() != want {
			t.Errorf("fetch of %s from %s: %v, want %q", chart, url, err, want)
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		// Two chart repositories of the host, two charts of each.
		wg.Go(func() { fetch(fmt.Sprintf("http://%s/charts-%d", host, i%2), fmt.Sprintf("app-%d", i/2%2)) })
	}
	wg.Wait()
	fetch("http://"+host+"/other", "app")
}

// An OCIRepository chartRef resolves by digest, semver (within
// semverFilter) or tag, as source-controller does.
func TestFetchOCIRepository(t *testing.T) {
	srv := helmtest.Serve(t, archives(t)...)
	url := "oci://" + srv.Registry + "/charts/app"
	ctx := context.Background()
	f := newFetcher(t, nil, false, nil)
	for _, tc := range []struct {
		ref  OCIRef
		want string
	}{
		{OCIRef{Tag: "0.1.0"}, "0.1.0"},
		{OCIRef{SemVer: "0.1.x"}, "0.1.1"},
		{OCIRef{SemVer: "*", SemverFilter: `^0\.1\.0$`}, "0.1.0"},
		{OCIRef{SemVer: "<1.0.0", Tag: "0.1.0"}, "0.2.0"},
	} {
		c, err := f.FromOCIRepository(ctx, url, tc.ref, "", time.Hour, Auth{})
		if err != nil {
			t.Fatalf("%+v: %v", tc.ref, err)
		}
		if _, err := c.load(); err != nil {
			t.Fatal(err)
		}
		if c.Version != tc.want {
			t.Errorf("%+v: version %s, want %s", tc.ref, c.Version, tc.want)
		}
	}
}
