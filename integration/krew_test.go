package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// krewVersion is the version the test stamps into its release build.
const krewVersion = "v0.99.0-krewtest"

// TestKrew builds the release archive of this machine's platform with
// hack/dist.sh, checks the filled manifest with krew's own validator, installs
// the plugin with `kubectl krew install --manifest --archive` into a
// temporary KREW_ROOT, and runs it through kubectl, shell completion included.
func TestKrew(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("hack/dist.sh is a bash script")
	}
	krew := testenv.Tool(t, "krew")
	validator := testenv.Tool(t, "validate-krew-manifest")
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		testenv.Missing(t, "kubectl is not built: run hack/kubectl/build.sh")
	}

	// kubectl, and krew as its plugin, in a folder of their own.
	tools := t.TempDir()
	for name, target := range map[string]string{"kubectl": kubectl, "kubectl-krew": krew} {
		if err := os.Symlink(target, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}

	// The archives are served on loopback, at the URIs the manifest names.
	dist := t.TempDir()
	var downloads atomic.Int32
	files := http.FileServer(http.Dir(dist))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downloads.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	buildDist(t, dist, srv.URL)
	manifest := filepath.Join(dist, "gitops.yaml")
	archive := filepath.Join(dist, "kubectl-gitops_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")
	checkArchive(t, archive)

	t.Run("archives are reproducible", func(t *testing.T) {
		again := t.TempDir()
		buildDist(t, again, srv.URL)
		for _, name := range []string{"checksums.txt", "gitops.yaml"} {
			a, _ := os.ReadFile(filepath.Join(dist, name))
			b, _ := os.ReadFile(filepath.Join(again, name))
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between two builds:\n%s\n%s", name, a, b)
			}
		}
	})

	t.Run("SBOM", func(t *testing.T) {
		checkSBOM(t, archive, filepath.Join(dist, "kubectl-gitops_"+runtime.GOOS+"_"+runtime.GOARCH+".sbom.cdx.json"), filepath.Join(dist, "checksums.txt"))
	})

	t.Run("validate-krew-manifest", func(t *testing.T) {
		// Structure, platforms and selectors; then, without -skip-install,
		// an install of every platform from its URI by kubectl krew, which
		// must extract a LICENSE.
		for _, args := range [][]string{
			{"-manifest", manifest, "-skip-install"},
			{"-manifest", manifest},
		} {
			r := runTool(t, []string{"PATH=" + tools + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, validator, args...)
			if r.code != 0 {
				t.Fatalf("validate-krew-manifest %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
		if downloads.Load() == 0 {
			t.Error("validate-krew-manifest installed without downloading the archive")
		}
	})

	krewRoot := t.TempDir()
	env := []string{
		"PATH=" + filepath.Join(krewRoot, "bin") + ":" + tools + ":/usr/bin:/bin",
		"HOME=" + t.TempDir(),
		"KREW_ROOT=" + krewRoot,
		"KREW_NO_UPGRADE_CHECK=1",
	}
	r := runTool(t, env, "kubectl", "krew", "install", "--manifest="+manifest, "--archive="+archive)
	if r.code != 0 {
		t.Fatalf("kubectl krew install: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "Installed plugin: gitops") {
		t.Errorf("kubectl krew install said:\n%s", r.stderr)
	}
	if l, err := os.Readlink(filepath.Join(krewRoot, "bin", "kubectl-gitops")); err != nil || !strings.Contains(l, filepath.Join("store", "gitops", krewVersion)) {
		t.Fatalf("$KREW_ROOT/bin/kubectl-gitops: %q, %v", l, err)
	}

	t.Run("kubectl gitops version", func(t *testing.T) {
		r := runTool(t, env, "kubectl", "gitops", "version")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "kubectl-gitops "+krewVersion+" (commit 0123abc, ") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	// As the manifest's caveats say: krew links only the binary, so the
	// completion script is copied next to it.
	script, err := os.ReadFile(filepath.Join(krewRoot, "store", "gitops", krewVersion, "kubectl_complete-gitops"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(krewRoot, "bin", "kubectl_complete-gitops"), script, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // each a line of stdout, or its start, leading blanks aside
	}{
		{name: "bash script", args: []string{"kubectl", "gitops", "completion", "bash"}, want: []string{"# bash completion V2 for kubectl-gitops", "complete -o default -F __start_kubectl-gitops kubectl-gitops"}},
		{name: "zsh script", args: []string{"kubectl", "gitops", "completion", "zsh"}, want: []string{"#compdef kubectl-gitops", "compdef _kubectl-gitops kubectl-gitops"}},
		{name: "fish script", args: []string{"kubectl", "gitops", "completion", "fish"}, want: []string{"# fish completion for kubectl-gitops"}},
		{name: "powershell script", args: []string{"kubectl", "gitops", "completion", "powershell"}, want: []string{"# powershell completion for kubectl-gitops"}},
		{name: "unknown shell", args: []string{"kubectl", "gitops", "completion", "tcsh"}, code: 2},
		{name: "kubectl_complete-gitops", args: []string{"kubectl_complete-gitops", "ren"}, want: []string{"render\t", ":4"}},
		{name: "kubectl completes the plugin's name", args: []string{"kubectl", "__complete", "gito"}, want: []string{"gitops\t"}},
		{name: "kubectl completes a verb", args: []string{"kubectl", "__complete", "gitops", "ren"}, want: []string{"render\t", ":4"}},
		{name: "kubectl completes a shell", args: []string{"kubectl", "__complete", "gitops", "completion", ""}, want: []string{"bash", "zsh", "fish", "powershell"}},
	} {
		t.Run("completion/"+tc.name, func(t *testing.T) {
			r := runTool(t, env, tc.args[0], tc.args[1:]...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			lines := strings.Split(r.stdout, "\n")
			for _, w := range tc.want {
				if !hasLinePrefix(lines, w) {
					t.Errorf("no line starting %q in:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// buildDist runs hack/dist.sh for this machine's platform into dir, with the
// archives' URIs under uriBase.
func buildDist(t *testing.T, dir, uriBase string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join("..", "hack", "dist.sh"), "--host", "-o", dir, "--uri-base", uriBase)
	cmd.Env = append(os.Environ(), "VERSION="+krewVersion, "COMMIT=0123abc", "SOURCE_DATE_EPOCH=1700000000")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/dist.sh: %v\n%s", err, errOut.String())
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	want := []string{"kubectl-gitops_" + platform + ".tar.gz", "kubectl-gitops_" + platform + ".sbom.cdx.json", "checksums.txt", "gitops.yaml"}
	got := strings.Fields(out.String())
	if len(got) != len(want) {
		t.Fatalf("hack/dist.sh wrote %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != filepath.Join(dir, want[i]) {
			t.Errorf("hack/dist.sh wrote %s, want %s", got[i], want[i])
		}
	}
}

// checkSBOM checks a release's SBOM against the binary of its archive: a
// CycloneDX document naming the plugin at its version, and every module
// the binary's build information lists, at its version, and Go's standard
// library; checksums.txt holds its sha256.
func checkSBOM(t *testing.T, archive, sbomPath, checksums string) {
	t.Helper()
	data, err := os.ReadFile(sbomPath)
	if err != nil {
		t.Fatal(err)
	}
	var sbom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct{ Name, Version string }
		}
		Components []struct{ Name, Version string }
	}
	if err := json.Unmarshal(data, &sbom); err != nil {
		t.Fatal(err)
	}
	if sbom.BOMFormat != "CycloneDX" || sbom.SpecVersion != "1.6" || sbom.Metadata.Component.Name != "github.com/kubectl-gitops/kubectl-gitops" || sbom.Metadata.Component.Version != krewVersion {
		t.Errorf("SBOM %s %s of %+v", sbom.BOMFormat, sbom.SpecVersion, sbom.Metadata.Component)
	}
	listed := map[string]string{}
	for _, c := range sbom.Components {
		listed[c.Name] = c.Version
	}
	dir := t.TempDir()
	extract(t, gunzip(t, archive), dir)
	info, err := buildinfo.ReadFile(filepath.Join(dir, "kubectl-gitops"))
	if err != nil {
		t.Fatal(err)
	}
	if v := listed["std"]; v != info.GoVersion {
		t.Errorf("the SBOM lists Go's standard library at %q, the binary was built with %s", v, info.GoVersion)
	}
	for _, dep := range info.Deps {
		if v, ok := listed[dep.Path]; !ok || v != dep.Version {
			t.Errorf("the SBOM lists %s at %q, the binary links %s", dep.Path, v, dep.Version)
		}
	}
	if len(info.Deps) < 50 {
		t.Errorf("the binary lists only %d modules", len(info.Deps))
	}
	sums, err := os.ReadFile(checksums)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(sbomPath); !strings.Contains(string(sums), line+"\n") {
		t.Errorf("checksums.txt has no line %q:\n%s", line, sums)
	}
}

// gunzip opens the gzip file at path, closed when the test ends.
func gunzip(t *testing.T, path string) *gzip.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return gz
}

// checkArchive checks the files of a release archive and their modes.
func checkArchive(t *testing.T, path string) {
	t.Helper()
	gz := gunzip(t, path)
	want := map[string]int64{"kubectl-gitops": 0o755, "kubectl_complete-gitops": 0o755, "LICENSE": 0o644}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		mode, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected %s in the archive", h.Name)
			continue
		}
		delete(want, h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != mode || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: type %c, mode %o, owner %d:%d; want a regular file, mode %o, owner 0:0", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, mode)
		}
		if h.Name == "kubectl_complete-gitops" {
			body, _ := io.ReadAll(tr)
			if !bytes.HasPrefix(body, []byte("#!/bin/sh\n")) || !bytes.Contains(body, []byte(`kubectl-gitops __complete "$@"`)) {
				t.Errorf("kubectl_complete-gitops:\n%s", body)
			}
		}
	}
	for name := range want {
		t.Errorf("%s is missing from the archive", name)
	}
}

// runTool runs a program found on the PATH of env, with env only.
func runTool(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	path := name
	if !filepath.IsAbs(name) {
		for _, kv := range env {
			if p, ok := strings.CutPrefix(kv, "PATH="); ok {
				path = lookPath(name, p)
			}
		}
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// lookPath finds name in the folders of pathList, or returns name.
func lookPath(name, pathList string) string {
	for _, dir := range filepath.SplitList(pathList) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// hasLinePrefix tells whether one of lines starts with prefix, leading
// blanks aside.
func hasLinePrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return true
		}
	}
	return false
}
