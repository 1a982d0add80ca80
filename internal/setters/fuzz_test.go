package setters

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

// FuzzApply checks that Apply never panics and that, when it succeeds, the
// result holds the new values at the markers and differs from the input only
// inside the spans of the markers it changed.
func FuzzApply(f *testing.F) {
	_ = filepath.Walk("testdata", func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Base(filepath.Dir(p)) == "input" {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data, "v9.9.9", "ghcr.io/org/app")
			}
		}
		return nil
	})
	f.Add([]byte("a: 'x' # {\"$imagepolicy\": \"a:b:tag\"}\nb: |\n  y\n"), "1.10", "n")
	f.Add([]byte("a: x # {\"$imagepolicy\": \"a:b\"}\r\n"), "", "n")
	f.Fuzz(func(t *testing.T, data []byte, tag, name string) {
		ms, err := markers.Find("f.yaml", data)
		if err != nil {
			return
		}
		values := map[markers.Policy]Latest{}
		for _, m := range ms {
			values[m.Policy] = Latest{Name: name, Tag: tag}
		}
		out, changes, err := Apply(data, ms, values)
		if err != nil {
			if !bytes.Equal(out, data) || changes != nil {
				t.Fatalf("Apply changed the content and failed: %v", err)
			}
			return
		}
		got, err := markers.Find("f.yaml", out)
		if err != nil || len(got) != len(ms) {
			t.Fatalf("the result does not read back: %v", err)
		}
		// Walk the input and the output together, span by span.
		in, o := 0, 0
		for i, m := range ms {
			want := values[m.Policy].Value(m.Field)
			if got[i].Value != want {
				t.Fatalf("marker %d holds %q, want %q", i, got[i].Value, want)
			}
			if m.Value == want {
				continue
			}
			gap := m.Start - in
			if !bytes.Equal(out[o:o+gap], data[in:m.Start]) {
				t.Fatalf("bytes before marker %d changed", i)
			}
			o += gap + (got[i].End - got[i].Start)
			if got[i].Start != o-(got[i].End-got[i].Start) {
				t.Fatalf("marker %d moved", i)
			}
			in = m.End
		}
		if !bytes.Equal(out[o:], data[in:]) {
			t.Fatalf("bytes after the last change differ")
		}
	})
}
