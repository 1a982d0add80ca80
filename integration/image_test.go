package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/release"
	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// TestContainerImage builds the release's container image with
// hack/image, without a Docker engine, on a base image of Debian's static
// busybox pushed to an in-process registry, and runs what a GitLab CI job
// runs in it: its shell, and kubectl-gitops on the PATH the image sets.
func TestContainerImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux's")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testenv.Missing(t, "no /bin/busybox: run hack/apt.sh (busybox-static)")
	}
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// The base: a shell, and an entrypoint the image must not keep.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(busybox))})
	tw.Write(busybox)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/sh", Linkname: "busybox"})
	tw.Close()
	baseLayer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	var base v1.ImageIndex = empty.Index
	for _, arch := range []string{runtime.GOARCH, "s390x"} {
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), baseLayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers", DiffIDs: mustDiffIDs(t, baseLayer)},
			Config: v1.Config{Entrypoint: []string{"/bin/sh", "-c"}, Env: []string{"PATH=/bin"}}})
		if err != nil {
			t.Fatal(err)
		}
		base = mutate.AppendManifests(base, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	baseRef := host + "/base:1"
	if err := remote.WriteIndex(mustTag(t, baseRef), base); err != nil {
		t.Fatal(err)
	}

	dist := t.TempDir()
	buildDist(t, dist, "https://example.invalid/releases")
	platform := "linux/" + runtime.GOARCH
	image := func(args ...string) (string, string, error) {
		cmd := exec.Command("go", append([]string{"run", "./hack/image", "--dist", dist, "--version", krewVersion}, args...)...)
		cmd.Dir = ".."
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	ref := host + "/kubectl-gitops:" + krewVersion
	out, log, err := image("--base", baseRef, "--platforms", platform, "--tag", ref)
	if err != nil || !strings.HasPrefix(out, ref+"@sha256:") {
		t.Fatalf("hack/image: %v\n%s\n%s", err, out, log)
	}

	idx, err := remote.Index(mustTag(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Platform == nil || m.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("the index holds %+v, want the one %s image", m.Manifests, platform)
	}
	// The base is pinned: the index records the digest its tag resolved
	// to, each image its platform's base image, and a build on BASE@DIGEST,
	// as the log says to run, gives the same bytes.
	baseDigest, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Annotations[release.BaseDigestAnnotation]; got != baseDigest.String() || m.Annotations[release.BaseNameAnnotation] != baseRef {
		t.Errorf("index annotations %v, want the base %s at %s", m.Annotations, baseRef, baseDigest)
	}
	pinned := host + "/base@" + baseDigest.String()
	if !strings.Contains(log, pinned) {
		t.Errorf("hack/image does not say how to pin the base (%s):\n%s", pinned, log)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	im, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	baseIndex, _ := base.IndexManifest()
	var platformBase v1.Hash
	for _, d := range baseIndex.Manifests {
		if d.Platform.Architecture == runtime.GOARCH {
			platformBase = d.Digest
		}
	}
	if im.Annotations[release.BaseDigestAnnotation] != platformBase.String() {
		t.Errorf("the image's base digest is %q, want its platform's base image %s", im.Annotations[release.BaseDigestAnnotation], platformBase)
	}
	// Built again on BASE@DIGEST, as the log says: the same layers and
	// configuration; only the base's name, as given, differs.
	pinnedRef := host + "/kubectl-gitops:pinned"
	if _, log2, err := image("--base", pinned, "--platforms", platform, "--tag", pinnedRef); err != nil || strings.Contains(log2, "pass that as --base") {
		t.Fatalf("built on %s: %v\n%s", pinned, err, log2)
	}
	rebuilt, err := remote.Index(mustTag(t, pinnedRef))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := rebuilt.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	rimg, err := rebuilt.Image(rm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rim, err := rimg.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if rim.Config.Digest != im.Config.Digest || len(rim.Layers) != len(im.Layers) || rim.Layers[len(im.Layers)-1].Digest != im.Layers[len(im.Layers)-1].Digest ||
		rm.Annotations[release.BaseDigestAnnotation] != baseDigest.String() {
		t.Errorf("built on %s: config %s, layers %v, annotations %v; on the tag: config %s, layers %v", pinned, rim.Config.Digest, rim.Layers, rm.Annotations, im.Config.Digest, im.Layers)
	}
	if len(cf.Config.Entrypoint) != 0 || !slices.Equal(cf.Config.Cmd, []string{"kubectl-gitops"}) ||
		!slices.Contains(cf.Config.Env, "PATH=/usr/local/bin:/bin") || cf.Config.Labels["org.opencontainers.image.version"] != krewVersion {
		t.Errorf("config: entrypoint %q, cmd %q, env %q, labels %v", cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env, cf.Config.Labels)
	}

	// What a job runs: the image's shell, with the image's PATH.
	root := t.TempDir()
	extract(t, mutate.Extract(img), root)
	var path []string
	for _, p := range strings.Split(strings.TrimPrefix(cf.Config.Env[slices.IndexFunc(cf.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") })], "PATH="), ":") {
		path = append(path, filepath.Join(root, p))
	}
	sh := exec.Command(filepath.Join(root, "bin", "sh"), "-c", "kubectl-gitops version")
	sh.Env = []string{"PATH=" + strings.Join(path, ":")}
	got, err := sh.CombinedOutput()
	if err != nil || !strings.Contains(string(got), krewVersion) {
		t.Errorf("sh -c 'kubectl-gitops version' in the image: %v\n%s", err, got)
	}
	if _, err := os.Stat(filepath.Join(root, "usr", "share", "doc", "kubectl-gitops", "LICENSE")); err != nil {
		t.Error(err)
	}

	// A platform the base lacks is refused, and nothing is pushed.
	other := host + "/kubectl-gitops:other"
	if _, log, err := image("--base", baseRef, "--platforms", "linux/riscv64", "--tag", other); err == nil || !strings.Contains(log, "has no linux/riscv64 image") {
		t.Errorf("a platform the base lacks: %v\n%s", err, log)
	}
	if _, err := remote.Head(mustTag(t, other)); err == nil {
		t.Error("the refused image was pushed")
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func mustDiffIDs(t *testing.T, layers ...v1.Layer) []v1.Hash {
	t.Helper()
	var out []v1.Hash
	for _, l := range layers {
		h, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// extract writes a flattened image filesystem into root.
func extract(t *testing.T, rc io.ReadCloser, root string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("%s leaves the image", h.Name)
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, os.FileMode(h.Mode)&0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
}
