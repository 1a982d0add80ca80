package render

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// TestCopyFiles holds an artifact's copies to source-watcher's cp-like
// semantics, as its documentation gives them.
func TestCopyFiles(t *testing.T) {
	all := []string{
		"README.md",
		"configs/a.yaml", "configs/b.yaml", "configs/notes.md", "configs/sub/c.yaml", "configs/testdata/t.yaml",
		"apps/base/web/kustomization.yaml", "apps/staging/kustomization.yaml",
		"config.yaml",
	}
	tests := []struct {
		name     string
		ops      [][2]string // from pattern, to path
		exclude  []string
		want     map[string]string
		wantFail bool
	}{
		{name: "a file to a path renames it", ops: [][2]string{{"config.yaml", "/apps/app.yaml"}},
			want: map[string]string{"apps/app.yaml": "config.yaml"}},
		{name: "a file into a directory", ops: [][2]string{{"config.yaml", "/apps/"}},
			want: map[string]string{"apps/config.yaml": "config.yaml"}},
		{name: "a glob's files into a directory", ops: [][2]string{{"configs/*.yaml", "/apps/"}},
			want: map[string]string{"apps/a.yaml": "configs/a.yaml", "apps/b.yaml": "configs/b.yaml"}},
		{name: "a directory with its slash, as a subdirectory", ops: [][2]string{{"configs/", "/apps/"}},
			want: map[string]string{"apps/configs/a.yaml": "configs/a.yaml", "apps/configs/b.yaml": "configs/b.yaml", "apps/configs/notes.md": "configs/notes.md",
				"apps/configs/sub/c.yaml": "configs/sub/c.yaml", "apps/configs/testdata/t.yaml": "configs/testdata/t.yaml"}},
		{name: "a directory's contents, excludes relative to it", ops: [][2]string{{"configs/**", "/apps/"}}, exclude: []string{"*.md", "**/testdata/**", "sub/**"},
			want: map[string]string{"apps/a.yaml": "configs/a.yaml", "apps/b.yaml": "configs/b.yaml"}},
		{name: "into the artifact's root, a later copy overwriting", ops: [][2]string{{"apps/base/**", "/"}, {"apps/staging/**", "/base/"}, {"config.yaml", "/web/kustomization.yaml"}},
			want: map[string]string{"web/kustomization.yaml": "config.yaml", "base/kustomization.yaml": "apps/staging/kustomization.yaml"}},
		{name: "what the source does not hold", ops: [][2]string{{"nothing.yaml", "/"}}, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, op := range tt.ops {
				err := copyFiles(got, all, op[0], op[1], tt.exclude)
				if (err != nil) != tt.wantFail {
					t.Fatalf("error %v, want failure %v", err, tt.wantFail)
				}
			}
			if tt.wantFail {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("artifact (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTreePlatform walks the platform fixture: each cluster's
// Kustomizations build the artifacts its ArtifactGenerator cuts out of the
// repository, the staging cluster patching what both clusters share.
func TestTreePlatform(t *testing.T) {
	g := fluxFixture(t, "platform", "https://github.com/example/platform.git", nil)
	checkPlatform(t, g.Dir, "")
}

// TestTreePlatformFromFolder walks the platform fixture as CI pushes it
// with `flux push artifact --path=./deploy`: each cluster syncs the
// OCIRepository of that folder, and its ArtifactGenerator's copies read
// the folder's files, as paths inside the artifact. A HelmRelease the
// artifact carries is located in the repository's file it is a copy of.
func TestTreePlatformFromFolder(t *testing.T) {
	files := gittest.CopyTree(t, filepath.Join("..", "..", "testdata", "flux", "platform"))
	files["infrastructure/configs/kustomization.yaml"] = []byte("resources:\n- issuer.yaml\n- release.yaml\n")
	files["infrastructure/configs/release.yaml"] = []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: issuer, namespace: cert-manager}\nspec:\n  interval: 1h\n  chart: {spec: {chart: issuer, sourceRef: {kind: HelmRepository, name: charts}}}\n")
	moved := map[string][]byte{}
	for p, data := range files {
		text := strings.ReplaceAll(string(data), "kind: GitRepository", "kind: OCIRepository")
		text = strings.Replace(text, "url: https://github.com/example/platform", "url: oci://ghcr.io/example/platform", 1)
		text = strings.Replace(text, "    branch: main", "    tag: latest", 1)
		moved[path.Join("deploy", p)] = []byte(text)
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", moved)
	results := checkPlatform(t, g.Dir, "deploy/")
	for _, res := range results {
		if res.Root.Path == "configs" && (len(res.Children) != 1 || res.Children[0].File != "deploy/infrastructure/configs/release.yaml" || res.Children[0].Line != 1) {
			t.Errorf("%s applies %+v, want the HelmRelease located in its file", res.Root, res.Children)
		}
	}
}

// checkPlatform renders the platform fixture at dir, whose files are
// under folder ("" or "deploy/"), and checks each cluster's ACME server:
// the staging cluster's patch on what both share.
func checkPlatform(t *testing.T, dir, folder string) []*Result {
	t.Helper()
	disc, results := renderTree(t, dir)
	if len(disc.Roots) != 8 {
		t.Fatalf("roots %v", rootNames(disc.Roots))
	}
	servers := map[string]string{}
	for _, res := range results {
		if res.Root.Path != "configs" {
			continue
		}
		cm := objectsByID(t, res)["v1/ConfigMap/cert-manager/issuer"]
		if cm == nil {
			t.Fatalf("%s renders no issuer", res.Root)
		}
		v, _ := cm.GetString("data.acme-server")
		servers[strings.TrimPrefix(res.Root.ClusterName(), folder)] = v
		if orig, ok := res.Root.At.Original("configs/issuer.yaml"); !ok || orig != folder+"infrastructure/configs/issuer.yaml" {
			t.Errorf("the artifact's configs/issuer.yaml is a copy of %q, %v", orig, ok)
		}
	}
	if diff := cmp.Diff(map[string]string{
		"clusters/production": "https://acme-v02.api.letsencrypt.org/directory",
		"clusters/staging":    "https://acme-staging-v02.api.letsencrypt.org/directory",
	}, servers); diff != "" {
		t.Errorf("the issuer per cluster (-want +got):\n%s", diff)
	}
	return results
}
