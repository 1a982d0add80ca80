package promote

import (
	"fmt"
	"path"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// kustomizationNames are the names kustomize reads a directory's
// kustomization from, in the order it tries them.
var kustomizationNames = [...]string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Read returns the overlay in directory dir of tree: its kustomization
// file and the other YAML files (*.yaml, *.yml) directly in dir, and those
// in its subfolders its configMapGenerator reads: the files Plan reads. A directory without a kustomization file, or with more than
// one, is a *diag.Error.
func Read(tree repo.Tree, dir string) (Overlay, error) {
	entries, err := tree.ReadDir(dir)
	if err != nil {
		return Overlay{}, fmt.Errorf("reading overlay %s: %w", dir, err)
	}
	var o Overlay
	var found []string
	isKustomization := map[string]bool{}
	for _, n := range kustomizationNames {
		isKustomization[n] = true
	}
	for _, e := range entries {
		if e.Kind == repo.File && isKustomization[e.Name] {
			found = append(found, e.Name)
		}
	}
	switch len(found) {
	case 0:
		return Overlay{}, diag.Errorf(dir, 0, "not a kustomize overlay: no %s in it", strings.Join(kustomizationNames[:], ", "))
	case 1:
	default:
		return Overlay{}, diag.Errorf(dir, 0, "found several kustomization files (%s): kustomize reads only one; remove the others",
			strings.Join(found, ", "))
	}
	read := func(name string) (File, error) {
		p := path.Join(dir, name)
		data, err := tree.ReadFile(p)
		if err != nil {
			return File{}, fmt.Errorf("reading overlay %s: %w", dir, err)
		}
		return File{Path: p, Data: data}, nil
	}
	if o.Kustomization, err = read(found[0]); err != nil {
		return Overlay{}, err
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Kind != repo.File || isKustomization[e.Name] || markers.Skip(e.Name) {
			continue
		}
		f, err := read(e.Name)
		if err != nil {
			return Overlay{}, err
		}
		o.Files = append(o.Files, f)
		seen[f.Path] = true
	}
	// The values files its configMapGenerator reads from folders of the
	// overlay (values/podinfo.yaml): never those of another folder, which
	// other overlays may share.
	if k, err := readKustomization(o.Kustomization); err == nil {
		for _, g := range generatedFiles(k) {
			rel, ok := strings.CutPrefix(g.path, dir+"/")
			if dir == "." {
				rel, ok = g.path, true
			}
			if !ok || seen[g.path] || rel == ".." || strings.HasPrefix(rel, "../") || markers.Skip(path.Base(rel)) {
				continue
			}
			f, err := read(rel)
			if err != nil {
				continue // kustomize reports the missing file
			}
			o.Files = append(o.Files, f)
			seen[f.Path] = true
		}
	}
	return o, nil
}
