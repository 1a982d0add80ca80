package ci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// AnalysisKind marks the JSON `ci analyze` writes.
const AnalysisKind = "kubectl-gitops/ci-analysis/v1"

// Analysis is what a pull request does, or what one shard of a CI matrix
// found of it: the rendered diff, the roots it breaks and the validation
// of what it touches.
type Analysis struct {
	Kind string `json:"kind"`
	// Head and Base are the commits compared: the pull request's head and
	// its merge-base with the target branch.
	Head string `json:"head"`
	Base string `json:"base"`
	// Shard is the part of the roots analysed, as i/n; empty for all.
	Shard  string           `json:"shard,omitempty"`
	Diffs  []diff.RootDiff  `json:"diff"`
	Broken []Broken         `json:"broken"`
	Report *validate.Report `json:"validation"`
}

// Broken is a root the pull request breaks: it does not render on the
// head side.
type Broken struct {
	Root  string `json:"root"`
	Error string `json:"error"`
}

func (b Broken) String() string { return b.Root + ": " + b.Error }

// Failed tells whether the analysis fails the pull request's check: a
// finding of error severity, or a root that does not render.
func (a *Analysis) Failed() bool { return a.Report.Failed() || len(a.Broken) > 0 }

// ReadAnalyses reads the analyses at paths, each a file or a directory
// searched for *.json files (as a CI system downloads the shards'
// artifacts, each in a folder of its own).
func ReadAnalyses(paths []string) ([]*Analysis, []string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		n := len(files)
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(f, ".json") {
				files = append(files, f)
			}
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		if len(files) == n {
			return nil, nil, fmt.Errorf("%s: no .json file in it", p)
		}
	}
	var out []*Analysis
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		a := &Analysis{}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(a); err != nil || a.Kind != AnalysisKind || a.Report == nil {
			why := "its kind is not " + AnalysisKind
			if err != nil {
				why = err.Error()
			}
			return nil, nil, fmt.Errorf("%s: not an analysis written by `kubectl gitops ci analyze`: %s", f, why)
		}
		out = append(out, a)
	}
	return out, files, nil
}

// Merge combines the analyses of the shards of one pull request into the
// analysis of the whole: every shard of the same split once, of the same
// head and base. names name the analyses in errors.
func Merge(parts []*Analysis, names []string) (*Analysis, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no analysis to merge")
	}
	first := parts[0]
	seen := map[int]string{}
	n := 0
	for i, a := range parts {
		if a.Head != first.Head || a.Base != first.Base {
			return nil, fmt.Errorf("%s compares %.12s..%.12s, %s %.12s..%.12s: analyses of different runs", names[0], first.Base, first.Head, names[i], a.Base, a.Head)
		}
		if a.Shard == "" {
			if len(parts) > 1 {
				return nil, fmt.Errorf("%s analyses every root: it cannot be merged with others", names[i])
			}
			return a, nil
		}
		s, err := render.ParseShard(a.Shard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		if n != 0 && s.N != n {
			return nil, fmt.Errorf("%s is a shard of %d, %s of %d", names[0], n, names[i], s.N)
		}
		n = s.N
		if other, ok := seen[s.I]; ok {
			return nil, fmt.Errorf("shard %s is given twice: %s and %s", a.Shard, other, names[i])
		}
		seen[s.I] = names[i]
	}
	for i := 1; i <= n; i++ {
		if _, ok := seen[i]; !ok {
			return nil, fmt.Errorf("shard %d/%d is missing: merge the analyses of every shard", i, n)
		}
	}
	out := &Analysis{Kind: AnalysisKind, Head: first.Head, Base: first.Base, Broken: []Broken{}, Diffs: []diff.RootDiff{}}
	var reports []*validate.Report
	for _, a := range parts {
		out.Diffs = append(out.Diffs, a.Diffs...)
		out.Broken = append(out.Broken, a.Broken...)
		reports = append(reports, a.Report)
	}
	diff.SortRoots(out.Diffs)
	slices.SortFunc(out.Broken, func(a, b Broken) int { return strings.Compare(a.Root, b.Root) })
	out.Report = validate.Merge(reports...)
	return out, nil
}

// WriteFile writes data to path whole or not at all: to a temporary file
// beside it, renamed over it. Missing folders on the way are made.
func WriteFile(path string, data []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
