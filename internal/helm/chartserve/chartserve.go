// Package chartserve packages charts with the Helm SDK and serves them as
// real chart sources do: an HTTP chart repository whose index.yaml Helm's
// repo package writes (`helm repo index`), and an OCI registry
// (go-containerregistry's) the charts are pushed to with Helm's registry
// client (`helm push`). The tests, the benchmarks and `make example` serve
// their charts with it, on loopback.
package chartserve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/registry"
	repov1 "helm.sh/helm/v4/pkg/repo/v1"
)

// Package writes a chart's files (path in the chart: content) to a
// directory under tmp, packages it as `helm package` does, and returns the
// archive.
func Package(tmp string, files map[string]string) ([]byte, error) {
	dir, err := os.MkdirTemp(tmp, "chart")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, content := range files {
		p := filepath.Join(dir, "chart", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return PackageDir(filepath.Join(dir, "chart"), "")
}

// PackageDir packages the chart in dir, at version when it is set (the
// chart's own otherwise), and returns the archive.
func PackageDir(dir, version string) ([]byte, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	if version != "" {
		ch.Metadata.Version, ch.Metadata.AppVersion = version, version
	}
	out, err := os.MkdirTemp("", "chartserve")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	p, err := chartutil.Save(ch, out)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Server serves charts over HTTP as a chart repository (at /) and over the
// OCI distribution API (at the registry's own address).
type Server struct {
	// RepoURL is the chart repository's URL, "http://127.0.0.1:PORT".
	RepoURL string
	// Registry is the OCI registry's address, "127.0.0.1:PORT".
	Registry string
	// Fail, when not 0, is the status every HTTP repository request gets.
	Fail atomic.Int32

	mu       sync.Mutex
	files    map[string][]byte // chart repository files, by path
	requests map[string]int
	repo     *http.Server
	reg      *http.Server
}

// Listen serves an empty chart repository at repoAddr and an empty
// registry at regAddr ("127.0.0.1:0" picks a port).
func Listen(repoAddr, regAddr string) (*Server, error) {
	rl, err := net.Listen("tcp", repoAddr)
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", regAddr)
	if err != nil {
		rl.Close()
		return nil, err
	}
	s := &Server{RepoURL: "http://" + rl.Addr().String(), Registry: gl.Addr().String(), files: map[string][]byte{}, requests: map[string]int{}}
	s.repo = &http.Server{Handler: http.HandlerFunc(s.serveRepo)}
	s.reg = &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	go s.repo.Serve(rl)
	go s.reg.Serve(gl)
	return s, nil
}

// Close stops serving.
func (s *Server) Close() {
	s.repo.Close()
	s.reg.Close()
}

func (s *Server) serveRepo(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	data, ok := s.files[req.URL.Path]
	s.requests[req.URL.Path]++
	s.mu.Unlock()
	if st := s.Fail.Load(); st != 0 {
		http.Error(w, http.StatusText(int(st)), int(st))
		return
	}
	if !ok {
		http.NotFound(w, req)
		return
	}
	_, _ = w.Write(data)
}

// Requests is how many times the chart repository was asked for path.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// AddToRepo adds chart archives to the chart repository, and writes its
// index.yaml again as `helm repo index` would.
func (s *Server) AddToRepo(archives ...[]byte) error {
	dir, err := os.MkdirTemp("", "chartrepo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range archives {
		ch, err := loader.LoadArchive(bytes.NewReader(a))
		if err != nil {
			return err
		}
		s.files["/"+ch.Metadata.Name+"-"+ch.Metadata.Version+".tgz"] = a
	}
	for p, data := range s.files {
		if strings.HasSuffix(p, ".tgz") {
			if err := os.WriteFile(filepath.Join(dir, p), data, 0o644); err != nil {
				return err
			}
		}
	}
	index, err := repov1.IndexDirectory(dir, s.RepoURL)
	if err != nil {
		return err
	}
	index.SortEntries()
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.yaml"))
	if err != nil {
		return err
	}
	s.files["/index.yaml"] = data
	return nil
}

// Push pushes a chart archive to the registry under path, as `helm push`
// does: the repository is path/<chart name>, the tag the chart's version
// (Helm's client writes "+" as "_"). It returns the reference.
func (s *Server) Push(path string, archive []byte) (string, error) {
	return Push(s.Registry, path, archive)
}

// Push pushes a chart archive to the OCI registry at host over plain HTTP,
// under path.
func Push(host, path string, archive []byte) (string, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return "", err
	}
	c, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		return "", err
	}
	ref := host + "/" + path + "/" + ch.Metadata.Name + ":" + ch.Metadata.Version
	if _, err := c.Push(archive, ref); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref, nil
}

// ServeDir packages and serves every chart under dir: each directory
// holding a Chart.yaml, at each version its file "versions" lists (one per
// line; the chart's own version when there is none), in the chart
// repository and in the registry under "charts".
func (s *Server) ServeDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "Chart.yaml")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return errors.New(dir + " holds no chart")
	}
	sort.Strings(names)
	for _, name := range names {
		versions := []string{""}
		if data, err := os.ReadFile(filepath.Join(dir, name, "versions")); err == nil {
			versions = strings.Fields(string(data))
		}
		for _, v := range versions {
			a, err := PackageDir(filepath.Join(dir, name), v)
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, v, err)
			}
			if err := s.AddToRepo(a); err != nil {
				return err
			}
			if _, err := s.Push("charts", a); err != nil {
				return err
			}
		}
	}
	return nil
}
