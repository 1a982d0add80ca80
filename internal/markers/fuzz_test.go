package markers

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addSeeds adds every YAML file under dir to the corpus.
func addSeeds(f *testing.F, dir string) {
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !Skip(p) && info.Size() < 64<<10 {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
}

// FuzzFind checks that Scan never panics, is deterministic, and locates
// every finding inside the file.
func FuzzFind(f *testing.F) {
	addSeeds(f, "../setters/testdata")
	addSeeds(f, "../../testdata/examples")
	for _, s := range []string{
		"a: x " + mk + "\n",
		"a: |\n  x\n---\nb: 'y' " + mk + "\r\n",
		"l:\n" + mk + "\n- x\n- {a: b, " + mk + "\n  c: d}\n",
		"metadata:\n  annotations: ''\nmetadata: ~\na: &x one\n  two " + mk + "\nb: *x\n",
		"\ufeff--- # c\na: \"x\\\n  y\" " + mk + "\n...\n",
		"a: x\u0085b: y " + mk + "\rc: z\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err1 := Scan("f.yaml", data)
		second, err2 := Scan("f.yaml", data)
		if !reflect.DeepEqual(first, second) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("Scan is not deterministic")
		}
		if err1 != nil {
			if !errors.Is(err1, ErrUnreadable) {
				t.Fatalf("error does not wrap ErrUnreadable: %v", err1)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, m := range first.Markers {
			if m.Line < 1 || m.Line > lines || m.Column < 1 {
				t.Fatalf("marker at %d:%d outside the file's %d lines", m.Line, m.Column, lines)
			}
			if m.Start < 0 || m.Start > len(data) || (m.End >= 0 && (m.End < m.Start || m.End > len(data))) {
				t.Fatalf("marker span [%d,%d) outside the file's %d bytes", m.Start, m.End, len(data))
			}
			if m.Policy.Namespace == "" || m.Policy.Name == "" {
				t.Fatalf("marker without a policy: %+v", m)
			}
		}
		for _, m := range first.Malformed {
			if m.Line < 1 || m.Line > lines {
				t.Fatalf("finding at line %d outside the file's %d lines", m.Line, lines)
			}
		}
	})
}
