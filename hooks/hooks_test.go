package hooks

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// TestManifestMatchesHooks: .pre-commit-hooks.yaml lists exactly these
// hooks, each calling the binary's hook command with its own name.
func TestManifestMatchesHooks(t *testing.T) {
	data, err := os.ReadFile("../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := yaml.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	for _, h := range All() {
		want = append(want, map[string]any{
			"id": h.ID, "name": h.Name, "description": h.Description,
			"entry": "kubectl-gitops hook " + h.ID, "language": "golang",
			"pass_filenames": true, "require_serial": true,
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf(".pre-commit-hooks.yaml (-want +got):\n%s", diff)
	}
}

func TestAffected(t *testing.T) {
	root := func(p string) render.Root { return render.Root{Path: p} }
	results := []*render.Result{
		{Root: root("overlays/dev"), Observations: []kfs.Observation{
			{Op: kfs.OpRead, Path: "overlays/dev/kustomization.yaml"},
			{Op: kfs.OpRead, Path: "base/deploy.yaml"},
			{Op: kfs.OpStat, Path: "overlays/dev/kustomization.yml", Value: "none"},
		}},
		{Root: root("generated"), Observations: []kfs.Observation{{Op: kfs.OpList, Path: "generated/manifests"}}},
		{Root: root("broken"), Err: os.ErrInvalid},
	}
	for _, tc := range []struct {
		name  string
		files []string
		want  []string
	}{
		{name: "a file a root read", files: []string{"base/deploy.yaml"}, want: []string{"overlays/dev"}},
		{name: "a file a root looked for", files: []string{"overlays/dev/kustomization.yml"}, want: []string{"overlays/dev"}},
		{name: "a file added to a listed directory", files: []string{"generated/manifests/new.yaml"}, want: []string{"generated"}},
		{name: "a file inside a root that does not build", files: []string{"broken/kustomization.yaml"}, want: []string{"broken"}},
		{name: "an unrelated file", files: []string{"README.md"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range Affected(results, tc.files) {
				got = append(got, r.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
