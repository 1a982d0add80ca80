package promote

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// fuzzOverlay makes an overlay of a kustomization and one other file.
func fuzzOverlay(dir string, k, other []byte) Overlay {
	return Overlay{
		Kustomization: File{Path: dir + "/kustomization.yaml", Data: k},
		Files:         []File{{Path: dir + "/patch.yaml", Data: other}},
	}
}

// withResult returns o with the files of r.
func withResult(o Overlay, r Result) Overlay {
	if d, ok := r.Files[o.Kustomization.Path]; ok {
		o.Kustomization.Data = d
	}
	o.Files = append([]File(nil), o.Files...)
	for i, f := range o.Files {
		if d, ok := r.Files[f.Path]; ok {
			o.Files[i].Data = d
		}
	}
	return o
}

// parses tells whether every document of data reads as YAML.
func parses(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func first(dir string) []byte {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, m := range matches {
		if filepath.Base(m) != "kustomization.yaml" {
			data, _ := os.ReadFile(m)
			return data
		}
	}
	return nil
}

// FuzzPlan checks that Plan never panics, that the files it returns read
// as YAML, and that promoting again into its result changes nothing.
func FuzzPlan(f *testing.F) {
	cases, _ := os.ReadDir("testdata")
	for _, c := range cases {
		dir := filepath.Join("testdata", c.Name())
		src, _ := os.ReadFile(filepath.Join(dir, "from", "kustomization.yaml"))
		dst, _ := os.ReadFile(filepath.Join(dir, "to", "kustomization.yaml"))
		f.Add(src, dst, first(filepath.Join(dir, "from")), first(filepath.Join(dir, "to")))
	}
	f.Add([]byte("images:\n- name: a\n  digest: sha256:1\n"), []byte("images:\n- newTag: v1\n  name: a\n  digest: ''\n"), []byte(""), []byte(""))
	f.Add([]byte("images:\n- name: a\n  newTag: v1\n"), []byte("images: ~\n"), []byte("x: a:v1 # {\"$imagepolicy\": \"n:p\"}\n"), []byte("image: a:v0\r\n"))
	gen := []byte("configMapGenerator:\n- name: v\n  files: [values.yaml=patch.yaml]\n")
	f.Add(gen, gen, []byte("image: {repository: r, tag: '1.1', digest: sha256:1}\n"), []byte("image: {tag: 1.0, digest: ~}\nsidecar: {image: r:1}\n"))
	f.Fuzz(func(t *testing.T, src, dst, srcOther, dstOther []byte) {
		from, to := fuzzOverlay("from", src, srcOther), fuzzOverlay("to", dst, dstOther)
		r, err := Plan(from, to, nil)
		if err != nil {
			return
		}
		if (len(r.Files) == 0) != (len(r.Changes) == 0) {
			t.Fatalf("%d files but %d changes", len(r.Files), len(r.Changes))
		}
		for p, data := range r.Files {
			if err := parses(data); err != nil {
				t.Fatalf("%s does not parse: %v\n%s", p, err, data)
			}
		}
		again, err := Plan(from, withResult(to, r), nil)
		if err != nil {
			t.Fatalf("Plan on its own result: %v", err)
		}
		if len(again.Files) != 0 || len(again.Changes) != 0 {
			t.Fatalf("Plan on its own result changes %+v", again.Changes)
		}
		if self, err := Plan(from, from, nil); err == nil && (len(self.Files) != 0 || len(self.Changes) != 0) {
			t.Fatalf("promoting the source to itself changes %+v", self.Changes)
		}
	})
}
