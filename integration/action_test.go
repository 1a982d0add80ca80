package integration

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// TestActionInstall runs the GitHub Action's installer (action.yml's first
// step) against releases served on loopback, built by hack/dist.sh: it
// installs the runner's archive into the tool cache and puts it on
// GITHUB_PATH, reuses it on the next job without downloading the archive,
// and refuses an archive that does not match checksums.txt, or a version
// that is not a tag.
func TestActionInstall(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the installer is a bash script")
	}
	dist := t.TempDir()
	var archives atomic.Int32
	files := http.StripPrefix("/download/"+krewVersion, http.FileServer(http.Dir(dist)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tar.gz") {
			archives.Add(1)
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	buildDist(t, dist, srv.URL)

	toolCache := t.TempDir()
	install := func(t *testing.T, version string) (string, string, error) {
		t.Helper()
		ghPath := filepath.Join(t.TempDir(), "path")
		cmd := exec.Command("bash", filepath.Join("..", "hack", "action", "install.sh"))
		cmd.Env = append(os.Environ(), "VERSION="+version, "KUBECTL_GITOPS_RELEASES="+srv.URL,
			"RUNNER_TOOL_CACHE="+toolCache, "GITHUB_PATH="+ghPath, "RUNNER_OS=", "RUNNER_ARCH=")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		added, _ := os.ReadFile(ghPath)
		return strings.TrimSpace(string(added)), errOut.String(), err
	}

	dir, log, err := install(t, krewVersion)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, log)
	}
	out, err := exec.Command(filepath.Join(dir, "kubectl-gitops"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), krewVersion) {
		t.Fatalf("the installed binary: %v\n%s", err, out)
	}
	if again, log, err := install(t, krewVersion); err != nil || again != dir || archives.Load() != 1 {
		t.Errorf("a second job on the runner: dir %s (want %s), %d archive downloads (want 1), %v\n%s", again, dir, archives.Load(), err, log)
	}

	// A damaged archive is not installed.
	if err := os.RemoveAll(toolCache); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dist, "kubectl-gitops_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, log, err := install(t, krewVersion); err == nil || dir != "" || !strings.Contains(log, "does not match checksums.txt") {
		t.Errorf("a damaged archive: %v, on PATH %q\n%s", err, dir, log)
	}
	if entries, _ := filepath.Glob(filepath.Join(toolCache, "kubectl-gitops", "*")); len(entries) != 0 {
		t.Errorf("a damaged archive left %v in the tool cache", entries)
	}

	if _, log, err := install(t, "main; rm -rf /"); err == nil || !strings.Contains(log, "release tag") {
		t.Errorf("a version that is not a tag: %v\n%s", err, log)
	}
}
