// Package registrytest serves go-containerregistry's in-process registry
// for the tests and the benchmarks: real pushed images, tags added in bulk,
// pagination as distribution does it, and requests counted.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is the in-process registry, served twice: as is, for pushing,
// and behind a front handler (authentication, failures, pagination), for
// the code under test.
type Registry struct {
	inner  http.Handler
	direct *httptest.Server
	srv    *httptest.Server
}

// New serves a registry on loopback behind front (nil for none).
func New(front func(http.Handler) http.Handler) *Registry {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r := &Registry{inner: inner, direct: httptest.NewServer(inner)}
	h := inner
	if front != nil {
		h = front(inner)
	}
	r.srv = httptest.NewServer(h)
	return r
}

// Close stops serving.
func (r *Registry) Close() {
	r.srv.Close()
	r.direct.Close()
}

// Host is the registry's address behind the front, "127.0.0.1:PORT".
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// DirectHost is the registry's address without the front, for pushing.
func (r *Registry) DirectHost() string { return strings.TrimPrefix(r.direct.URL, "http://") }

// Push pushes a real random image to repo with its first tag over HTTP,
// points the other tags at it, and returns it.
func (r *Registry) Push(repo string, tags ...string) (v1.Image, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, err
	}
	ref, err := name.ParseReference(r.DirectHost() + "/" + repo + ":" + tags[0])
	if err != nil {
		return nil, err
	}
	if err := remote.Write(ref, img); err != nil {
		return nil, err
	}
	return img, r.Tag(repo, img, tags[1:]...)
}

// Tag points more tags at an image already pushed, with PUT requests
// handed straight to the registry: much faster than over loopback for
// thousands of tags.
func (r *Registry) Tag(repo string, img v1.Image, tags ...string) error {
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	for _, tag := range tags {
		req := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
		req.Header.Set("Content-Type", string(mt))
		rec := httptest.NewRecorder()
		r.inner.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("tagging %s:%s: %d %s", repo, tag, rec.Code, rec.Body)
		}
	}
	return nil
}

// Paginate adds the Link header go-containerregistry's registry leaves out,
// as distribution does: when more tags follow the page a client asked for
// (with n), the header points at the next one.
func Paginate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if !strings.HasSuffix(r.URL.Path, "/tags/list") || err != nil || n <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		// Ask for one more tag than the page holds, to know whether more
		// follow.
		q := r.URL.Query()
		q.Set("n", strconv.Itoa(n+1))
		inner := r.Clone(r.Context())
		inner.URL.RawQuery = q.Encode()
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, inner)
		var page struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		if len(page.Tags) > n {
			page.Tags = page.Tags[:n]
			link := url.Values{"n": {strconv.Itoa(n)}, "last": {page.Tags[n-1]}}
			w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, link.Encode()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
}

// Counter counts the requests a handler serves, by method and path.
type Counter struct {
	mu    sync.Mutex
	paths map[string]int
}

// Wrap counts the requests next serves.
func (c *Counter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.paths == nil {
			c.paths = map[string]int{}
		}
		c.paths[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// Count is how many requests came for method and path, or for every path
// with the given suffix when path starts with "*" ("*/tags/list").
func (c *Counter) Count(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.paths {
		m, p, _ := strings.Cut(k, " ")
		if m != method {
			continue
		}
		if suffix, ok := strings.CutPrefix(path, "*"); (ok && strings.HasSuffix(p, suffix)) || p == path {
			n += v
		}
	}
	return n
}

// Total is how many requests came in all.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.paths {
		n += v
	}
	return n
}

// PushArtifact pushes files as a Flux OCI artifact to ref, as `flux push
// artifact` does: one gzipped tarball layer, Flux's media types.
func PushArtifact(ref string, files map[string]string) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.cncf.flux.config.v1+json")
	img, err := mutate.AppendLayers(img, static.NewLayer(buf.Bytes(), "application/vnd.cncf.flux.content.v1.tar+gzip"))
	if err != nil {
		return err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img)
}
