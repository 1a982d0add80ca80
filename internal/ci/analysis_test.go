package ci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

func part(shard, head string, roots ...string) *Analysis {
	a := &Analysis{Kind: AnalysisKind, Head: head, Base: "b", Shard: shard, Broken: []Broken{}, Report: &validate.Report{Findings: []validate.Finding{}}}
	for _, r := range roots {
		a.Diffs = append(a.Diffs, diff.RootDiff{Path: r})
		a.Report.Findings = append(a.Report.Findings, validate.Finding{Rule: "build", Severity: validate.Error, File: r + "/kustomization.yaml", Line: 1, Message: "x"})
		a.Report.Summary.Roots++
		a.Report.Summary.Errors++
	}
	return a
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []*Analysis
		err   string
		roots string
	}{
		{name: "whole", parts: []*Analysis{part("", "h", "b", "a")}, roots: "b a"},
		{name: "shards", parts: []*Analysis{part("2/2", "h", "c"), part("1/2", "h", "b", "a")}, roots: "a b c"},
		{name: "missing", parts: []*Analysis{part("1/3", "h"), part("3/3", "h")}, err: "shard 2/3 is missing"},
		{name: "twice", parts: []*Analysis{part("1/2", "h"), part("1/2", "h"), part("2/2", "h")}, err: "shard 1/2 is given twice: p0 and p1"},
		{name: "other split", parts: []*Analysis{part("1/2", "h"), part("2/3", "h")}, err: "p0 is a shard of 2, p1 of 3"},
		{name: "other run", parts: []*Analysis{part("1/2", "h"), part("2/2", "g")}, err: "analyses of different runs"},
		{name: "whole and shard", parts: []*Analysis{part("1/2", "h"), part("", "h")}, err: "p1 analyses every root"},
		{name: "bad shard", parts: []*Analysis{part("0/2", "h")}, err: "p0: --shard"},
		{name: "none", err: "no analysis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for i := range tc.parts {
				names = append(names, "p"+string(rune('0'+i)))
			}
			got, err := Merge(tc.parts, names)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Merge = %v; want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var roots []string
			for _, d := range got.Diffs {
				roots = append(roots, d.Path)
			}
			if strings.Join(roots, " ") != tc.roots {
				t.Errorf("roots %v, want %s", roots, tc.roots)
			}
			if s := got.Report.Summary; s.Roots != len(roots) || s.Errors != len(roots) {
				t.Errorf("summary %+v, want %d roots and errors", s, len(roots))
			}
		})
	}
}

func TestReadAnalyses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		data, _ := json.Marshal(v)
		if s, ok := v.(string); ok {
			data = []byte(s)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("shards/analysis-1/a.json", part("1/2", "h", "a"))
	write("shards/analysis-2/a.json", part("2/2", "h", "b"))
	got, names, err := ReadAnalyses([]string{filepath.Join(dir, "shards")})
	if err != nil || len(got) != 2 || len(names) != 2 {
		t.Fatalf("ReadAnalyses = %d, %v, %v", len(got), names, err)
	}
	for _, tc := range []struct{ file, content, err string }{
		{"not-json.json", "{", "not an analysis written by `kubectl gitops ci analyze`"},
		{"other-kind.json", `{"kind":"x","validation":{}}`, "its kind is not"},
		{"sarif.json", `{"version":"2.1.0","runs":[]}`, "unknown field"},
	} {
		p := write(tc.file, tc.content)
		if _, _, err := ReadAnalyses([]string{p}); err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("%s: %v; want an error naming it with %q", tc.file, err, tc.err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	if _, _, err := ReadAnalyses([]string{filepath.Join(dir, "empty")}); err == nil || !strings.Contains(err.Error(), "no .json file") {
		t.Errorf("an empty folder: %v", err)
	}
}
