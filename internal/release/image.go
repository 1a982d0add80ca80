// Package release builds the container image of a release from the
// archives hack/dist.sh writes, without a Docker engine: each linux
// platform of a base image gets one layer holding the binary of that
// platform's archive, and the images go out as one index, through
// go-containerregistry, as ko and crane build images.
package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinDir is where the image keeps the binary: on the PATH of every base.
const BinDir = "/usr/local/bin"

// ImageOptions say what goes in the image.
type ImageOptions struct {
	// Base is the image (or index of images) the binary is added to: one
	// with a shell, as a GitLab CI job runs its script in it.
	Base name.Reference
	// Dist is the folder of the release archives,
	// kubectl-gitops_linux_<arch>.tar.gz.
	Dist string
	// Version and Source are recorded as OCI labels; Created is the
	// images' creation time (SOURCE_DATE_EPOCH), for reproducible bytes.
	Version string
	Source  string
	Created time.Time
	// Platforms are the os/arch pairs the image must have, each from the
	// base's image of that platform and the archive of that platform.
	Platforms []string
	// Remote are the options to read the base with (credentials).
	Remote []remote.Option
}

// The OCI annotations naming the base an image was built on: the
// reference as given, and the digest it resolved to, so a release built
// on a tag can be rebuilt on exactly the same base (BASE@DIGEST).
const (
	BaseNameAnnotation   = "org.opencontainers.image.base.name"
	BaseDigestAnnotation = "org.opencontainers.image.base.digest"
)

// Image builds the index: the base's image of each platform, with the
// binary of that platform's archive added and made the command. The index
// and each image record their base (BaseNameAnnotation,
// BaseDigestAnnotation): the index the digest the base's reference
// resolved to, each image its platform's image of that base.
func Image(o ImageOptions) (v1.ImageIndex, error) {
	desc, err := remote.Get(o.Base, o.Remote...)
	if err != nil {
		return nil, fmt.Errorf("reading the base image %s: %w", o.Base, err)
	}
	type platformImage struct {
		platform v1.Platform
		image    v1.Image
		digest   v1.Hash
	}
	var bases []platformImage
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, d := range m.Manifests {
			if d.Platform == nil || d.Platform.OS != "linux" || !d.MediaType.IsImage() {
				continue // attestations and other systems
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			bases = append(bases, platformImage{*d.Platform, img, d.Digest})
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		bases = append(bases, platformImage{v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}, img, desc.Digest})
	}
	var adds []mutate.IndexAddendum
	for _, want := range o.Platforms {
		i := slices.IndexFunc(bases, func(b platformImage) bool { return b.platform.OS+"/"+b.platform.Architecture == want })
		if i < 0 {
			var has []string
			for _, b := range bases {
				has = append(has, b.platform.OS+"/"+b.platform.Architecture)
			}
			return nil, fmt.Errorf("the base image %s has no %s image (it has %s)", o.Base, want, strings.Join(has, ", "))
		}
		b := bases[i]
		archive := filepath.Join(o.Dist, fmt.Sprintf("kubectl-gitops_%s_%s.tar.gz", b.platform.OS, b.platform.Architecture))
		img, err := withBinary(b.image, archive, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		img = mutate.Annotations(img, map[string]string{BaseNameAnnotation: o.Base.String(), BaseDigestAnnotation: b.digest.String()}).(v1.Image)
		p := b.platform
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if len(adds) == 0 {
		return nil, fmt.Errorf("no platform to build")
	}
	indexType := types.OCIImageIndex
	if mt, err := adds[0].Add.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		indexType = types.DockerManifestList
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, indexType), adds...)
	return mutate.Annotations(idx, map[string]string{BaseNameAnnotation: o.Base.String(), BaseDigestAnnotation: desc.Digest.String()}).(v1.ImageIndex), nil
}

// withBinary adds the archive's binary and LICENSE to base, as one layer,
// and makes the binary the image's command.
func withBinary(base v1.Image, archive string, o ImageOptions) (v1.Image, error) {
	files, err := readArchive(archive, "kubectl-gitops", "LICENSE")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"usr/", "usr/local/", "usr/local/bin/", "usr/share/", "usr/share/doc/", "usr/share/doc/kubectl-gitops/"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: o.Created}); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"usr/local/bin/kubectl-gitops", 0o755, files["kubectl-gitops"]},
		{"usr/share/doc/kubectl-gitops/LICENSE", 0o644, files["LICENSE"]},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: o.Created}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	// The layer is of the base's kind: Docker's media types in a Docker
	// manifest, OCI's in an OCI one.
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(layerType))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := *cf.Config.DeepCopy()
	// The base's entrypoint (alpine/git's is git) would take the command
	// as its arguments, and GitLab CI runs the job's script through it.
	cfg.Entrypoint = nil
	cfg.Cmd = []string{"kubectl-gitops"}
	cfg.Env = withPath(cfg.Env)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels["org.opencontainers.image.title"] = "kubectl-gitops"
	cfg.Labels["org.opencontainers.image.version"] = o.Version
	cfg.Labels["org.opencontainers.image.source"] = o.Source
	cfg.Labels["org.opencontainers.image.licenses"] = "Apache-2.0"
	if img, err = mutate.Config(img, cfg); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: o.Created})
}

// withPath returns env with BinDir on its PATH.
func withPath(env []string) []string {
	out := slices.Clone(env)
	for i, e := range out {
		if p, ok := strings.CutPrefix(e, "PATH="); ok {
			if !slices.Contains(filepath.SplitList(p), BinDir) {
				out[i] = "PATH=" + BinDir + ":" + p
			}
			return out
		}
	}
	return append(out, "PATH="+BinDir+":/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin")
}

// readArchive returns the named files of a .tar.gz release archive.
func readArchive(path string, names ...string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg && slices.Contains(names, h.Name) {
			if out[h.Name], err = io.ReadAll(io.LimitReader(tr, 512<<20)); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("no %s in it", n)
		}
	}
	return out, nil
}
