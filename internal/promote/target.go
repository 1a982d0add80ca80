package promote

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// want is what a target field is to hold, and where that comes from.
type want struct {
	// version holds the version keys of an images entry.
	version map[string]string
	// value is the value of a scalar.
	value string
	image string
	from  string
}

// planner decides what changes in the target overlay.
type planner struct {
	dst *kustomization
	// kfile holds the kustomization's scalars outside its images list,
	// files the other target files.
	kfile *yamlFile
	files []*yamlFile
	data  map[string][]byte
	// claimed holds the entries a source entry of the same name promotes.
	claimed    map[*entry]bool
	entryWant  map[*entry]*want
	scalarWant map[*scalar]*want
	added      []*entryUnit
	skips      []Skip
}

func newPlanner(dst *kustomization, files []File) *planner {
	p := &planner{
		dst:        dst,
		kfile:      dst.scalars(),
		data:       map[string][]byte{dst.file: dst.t.data},
		claimed:    map[*entry]bool{},
		entryWant:  map[*entry]*want{},
		scalarWant: map[*scalar]*want{},
	}
	for _, f := range files {
		if _, dup := p.data[f.Path]; dup {
			continue
		}
		y, err := readYAMLFile(f)
		if err != nil {
			d, _ := diag.As(err)
			p.skips = append(p.skips, Skip{File: f.Path, Line: d.Line,
				Reason: "the file is not YAML, so no version is promoted into it: " + d.Msg})
			continue
		}
		p.data[f.Path] = f.Data
		p.files = append(p.files, y)
	}
	findGenerated(dst, p.files)
	return p
}

// allFiles returns the target files with candidate scalars, the
// kustomization first.
func (p *planner) allFiles() []*yamlFile {
	return append([]*yamlFile{p.kfile}, p.files...)
}

// plan decides the target's new versions: source entries first, then
// policies, then HelmRelease values.
func (p *planner) plan(s *source) error {
	for _, u := range s.entries {
		if err := p.planEntry(u); err != nil {
			return err
		}
	}
	for _, u := range s.policies {
		if err := p.planPolicy(u); err != nil {
			return err
		}
	}
	for _, u := range s.values {
		if err := p.planValues(u); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) planEntry(u *entryUnit) error {
	e := u.entry
	if len(u.version) == 0 {
		p.skips = append(p.skips, Skip{File: u.file, Line: e.node.Line, Image: e.name,
			Reason: "the source entry sets no newTag, digest or tagSuffix, so it has no version to promote"})
		return nil
	}
	from := fmt.Sprintf("%s:%d", u.file, e.node.Line)
	found := false
	for _, t := range p.dst.entries {
		if t.name != e.name {
			continue
		}
		found = true
		p.claimed[t] = true
		if err := p.wantEntry(t, u.version, e.name, from); err != nil {
			return err
		}
	}
	if !found {
		p.added = append(p.added, u)
	}
	return nil
}

func (p *planner) planPolicy(u *policyUnit) error {
	version := u.version()
	if len(version) == 0 {
		p.skips = append(p.skips, Skip{File: u.file, Line: u.line, Image: u.image(),
			Reason: fmt.Sprintf("the markers of policy %s give no tag or digest, so there is no version to promote", u.policy)})
		return nil
	}
	from := fmt.Sprintf("%s:%d", u.file, u.line)
	matched := false
	for _, e := range p.dst.entries {
		if !p.entryHasPolicy(e, u.policy) {
			continue
		}
		matched = true
		if !p.claimed[e] {
			if err := p.wantEntry(e, version, u.image(), from); err != nil {
				return err
			}
		}
	}
	for _, y := range p.allFiles() {
		for _, sc := range y.scalars {
			if sc.mark == nil || sc.mark.Policy != u.policy {
				continue
			}
			matched = true
			if v, ok := policyValue(u, sc); ok {
				if err := p.wantScalar(sc, v, u.image(), from); err != nil {
					return err
				}
			}
		}
	}
	if matched {
		return nil
	}
	if u.repo != "" {
		for _, e := range p.dst.entries {
			if p.claimed[e] || !sameRepo(effectiveName(e), u.repo) {
				continue
			}
			matched = true
			if err := p.wantEntry(e, version, u.image(), from); err != nil {
				return err
			}
		}
		for _, y := range p.allFiles() {
			for _, sc := range y.scalars {
				if !sc.wholeRef() {
					continue
				}
				repo, _, _ := splitRef(sc.value())
				if repo == "" || !sameRepo(repo, u.repo) {
					continue
				}
				matched = true
				if err := p.wantScalar(sc, joinRef(repo, u.tagValue(), u.digestValue()), u.image(), from); err != nil {
					return err
				}
			}
		}
	}
	if !matched {
		p.skips = append(p.skips, Skip{File: u.file, Line: u.line, Image: u.image(),
			Reason: fmt.Sprintf("no field of the target carries a marker of policy %s or names the image %s", u.policy, u.image())})
	}
	return nil
}

// policyValue returns what target scalar sc, marked with the policy of u,
// is to hold, and false when u does not give it.
func policyValue(u *policyUnit, sc *scalar) (string, bool) {
	switch sc.mark.Field {
	case markers.FieldImage:
		repo, _, _ := splitRef(sc.value())
		if repo == "" {
			return "", false
		}
		return joinRef(repo, u.tagValue(), u.digestValue()), true
	case markers.FieldTag:
		return u.tagValue(), u.tagValue() != ""
	case markers.FieldDigest:
		return u.digestValue(), u.digest != nil
	}
	return "", false
}

// effectiveName is the image an entry makes: its newName, or its name.
func effectiveName(e *entry) string {
	if n := e.fields[keyNewName].str(); n != "" {
		return n
	}
	return e.name
}

// entryHasPolicy tells whether a field of target entry e carries a marker
// of policy pol.
func (p *planner) entryHasPolicy(e *entry, pol markers.Policy) bool {
	for _, f := range e.fields {
		if m, ok := p.dst.marker(f.value, e.flow); ok && m.Policy == pol {
			return true
		}
	}
	return false
}

func (p *planner) wantEntry(e *entry, version map[string]string, image, from string) error {
	if w := p.entryWant[e]; w != nil {
		if !maps.Equal(w.version, version) {
			return diag.Errorf(p.dst.file, e.node.Line,
				"images entry %s would get two versions: %s from %s and %s from %s; promote one with --image",
				e.name, describe(w.version), w.from, describe(version), from)
		}
		return nil
	}
	p.entryWant[e] = &want{version: version, image: image, from: from}
	return nil
}

func (p *planner) wantScalar(sc *scalar, v, image, from string) error {
	if w := p.scalarWant[sc]; w != nil {
		if w.value != v {
			return diag.Errorf(sc.file, sc.node.Line, "%s would get two values: %q from %s and %q from %s; promote one with --image",
				sc.path, w.value, w.from, v, from)
		}
		return nil
	}
	p.scalarWant[sc] = &want{value: v, image: image, from: from}
	return nil
}

// describe writes a version for a message.
func describe(v map[string]string) string {
	var parts []string
	for _, k := range versionKeys {
		if x, ok := v[k]; ok {
			parts = append(parts, k+"="+x)
		}
	}
	return strings.Join(parts, " ")
}

// build turns the plan into edits, applies them and checks the result.
func (p *planner) build() (Result, error) {
	res := Result{Skipped: p.skips}
	kedits, dropped, err := p.kustomizationEdits()
	if err != nil {
		return Result{}, err
	}
	type job struct {
		y     *yamlFile
		edits []*edit
	}
	jobs := []job{{p.kfile, kedits}}
	for _, y := range p.files {
		jobs = append(jobs, job{y: y})
	}
	for i := range jobs {
		edits, err := p.scalarEdits(jobs[i].y)
		if err != nil {
			return Result{}, err
		}
		jobs[i].edits = append(jobs[i].edits, edits...)
	}
	for i, j := range jobs {
		if len(j.edits) == 0 {
			continue
		}
		out, changes, err := apply(j.y.path, p.data[j.y.path], j.edits)
		if err != nil {
			return Result{}, err
		}
		if i == 0 {
			err = p.verifyKustomization(out, dropped)
		} else {
			err = p.verifyFile(j.y, out)
		}
		if err != nil {
			return Result{}, err
		}
		if res.Files == nil {
			res.Files = map[string][]byte{}
		}
		res.Files[j.y.path] = out
		res.Changes = append(res.Changes, changes...)
	}
	sort.SliceStable(res.Changes, func(i, j int) bool {
		a, b := res.Changes[i], res.Changes[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res, nil
}

// scalarEdits rewrites the scalars of y that are to change.
func (p *planner) scalarEdits(y *yamlFile) ([]*edit, error) {
	var edits []*edit
	for _, sc := range y.scalars {
		w := p.scalarWant[sc]
		if w == nil || w.value == sc.value() {
			continue
		}
		sp, why := y.t.scalarSpan(sc.node, sc.flow)
		if why == "" && sp.start == sp.end {
			why = "it holds no value"
		}
		if why == "" {
			why = yamlscalar.Check(w.value)
		}
		if why != "" {
			return nil, &diag.Error{File: sc.file, Line: sc.node.Line,
				Msg: fmt.Sprintf("cannot promote %s into %s: %s; edit it by hand", w.value, sc.path, why), Err: ErrCannotRewrite}
		}
		e := &edit{start: sp.start, end: sp.end, text: yamlscalar.Encode(w.value, yamlscalar.StyleOf(sc.node), sc.flow)}
		c := Change{File: sc.file, Image: w.image, Field: sc.path, Action: Set, Old: sc.value(), New: w.value}
		if sc.mark != nil {
			c.Marker = sc.mark.Setter()
		}
		e.note(c, 0)
		edits = append(edits, e)
	}
	return edits, nil
}
