package promote

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		// kustomization is the kustomization file's content, when not its
		// name as a comment.
		kustomization string
		// want lists the kustomization's path, then the other files';
		// err is part of the error wanted instead.
		want []string
		err  string
	}{
		{name: "kustomization.yaml and YAML files",
			files: []string{"kustomization.yaml", "patch.yaml", "values.yml", "README.md", "sub/deep.yaml"},
			want:  []string{"o/kustomization.yaml", "o/patch.yaml", "o/values.yml"}},
		{name: "kustomization.yml", files: []string{"kustomization.yml"}, want: []string{"o/kustomization.yml"}},
		{name: "Kustomization", files: []string{"Kustomization", "a.yaml"}, want: []string{"o/Kustomization", "o/a.yaml"}},
		{name: "no kustomization", files: []string{"deploy.yaml"}, err: "not a kustomize overlay"},
		{name: "several kustomizations", files: []string{"kustomization.yaml", "kustomization.yml"}, err: "several kustomization files"},
		{name: "values files a generator reads from a subfolder, not from outside",
			files:         []string{"kustomization.yaml", "values/podinfo.yaml", "values/unread.yaml", "../shared/values.yaml"},
			kustomization: "configMapGenerator:\n- name: v\n  files: [values.yaml=values/podinfo.yaml, ../shared/values.yaml, values/missing.yaml]\n",
			want:          []string{"o/kustomization.yaml", "o/values/podinfo.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(root, "o", filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				data := "# " + f + "\n"
				if f == "kustomization.yaml" && tt.kustomization != "" {
					data = tt.kustomization
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o, err := Read(repo.NewWorkTree(root), "o")
			if tt.err != "" {
				d, ok := diag.As(err)
				if !ok || d.File != "o" || !strings.Contains(d.Msg, tt.err) {
					t.Fatalf("error = %v, want a *diag.Error on o with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{o.Kustomization.Path}
			for _, f := range o.Files {
				got = append(got, f.Path)
				if tt.kustomization != "" {
					continue
				}
				if string(f.Data) != "# "+strings.TrimPrefix(f.Path, "o/")+"\n" {
					t.Errorf("%s holds %q", f.Path, f.Data)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("missing folder", func(t *testing.T) {
		if _, err := Read(repo.NewWorkTree(t.TempDir()), "nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want fs.ErrNotExist", err)
		}
	})
}
