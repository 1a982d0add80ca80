package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// ociArtifact fetches the artifact an OCIRepository serves, as
// source-controller makes it: the layer its layerSelector names (the
// first one by default), extracted. A source that cannot be fetched, or
// whose artifact is the layer as it is (operation copy), says why.
func (e *Engine) ociArtifact(ctx context.Context, s *Source) (*Revision, string) {
	var spec sourcev1.OCIRepositorySpec
	if err := json.Unmarshal(s.Spec, &spec); err != nil || spec.URL == "" {
		return nil, fmt.Sprintf("its source %s has no url", s.ID())
	}
	var ref helm.OCIRef
	if r := spec.Reference; r != nil {
		ref = helm.OCIRef{Tag: r.Tag, SemVer: r.SemVer, SemverFilter: r.SemverFilter, Digest: r.Digest}
	}
	mediaType := ""
	if l := spec.LayerSelector; l != nil {
		if l.Operation == sourcev1.OCILayerCopy {
			return nil, fmt.Sprintf("its source %s keeps its layer as it is (layerSelector.operation copy): it holds no files to build", s.ID())
		}
		mediaType = l.MediaType
	}
	// The Secrets of secretRef and certSecretRef are not read here: other
	// roots, rendered later, give them. The docker config answers instead.
	auth := helm.Auth{Insecure: spec.Insecure, Provider: spec.Provider}
	data, from, digest, err := e.opts.Charts.Artifact(ctx, spec.URL, ref, mediaType, spec.Interval.Duration, auth)
	if err != nil {
		return nil, fmt.Sprintf("its source %s could not be fetched: %v", s.ID(), err)
	}
	if v, ok := e.artifacts.Load(digest); ok {
		return v.(*Revision), ""
	}
	files, err := untar(data, e.checks.Limits().WithDefaults().RootBytes)
	if err != nil {
		return nil, fmt.Sprintf("its source %s serves %s, which is not a tarball of files: %v", s.ID(), from, err)
	}
	v, _ := e.artifacts.LoadOrStore(digest, &Revision{Tree: repo.Memory(files, "oci:"+digest), What: "OCI artifact " + from})
	return v.(*Revision), ""
}

// untar extracts a gzipped tarball's regular files, as source-controller
// extracts an artifact: symlinks and other entries are left out, a path
// that leaves the artifact is refused, and so is more than limit bytes.
func untar(data []byte, limit int64) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") {
			return nil, fmt.Errorf("%s leaves the artifact", h.Name)
		}
		if total += h.Size; total > limit {
			return nil, fmt.Errorf("more than %d bytes", limit)
		}
		content, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, err
		}
		files[name] = content
	}
}
