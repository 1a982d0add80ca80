package promote

import (
	"fmt"
	"maps"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// verifyKustomization reads the rewritten kustomization back and checks
// that it holds what was planned, and nothing else changed: every entry
// planned holds its version, every entry added is there, the other
// scalars hold their values, and only the markers of removed lines are
// gone.
func (p *planner) verifyKustomization(out []byte, dropped int) error {
	k := p.dst
	fail := func(format string, args ...any) error {
		return &diag.Error{File: k.file, Msg: "the promoted file does not read back as planned: " + fmt.Sprintf(format, args...) + "; edit it by hand",
			Err: ErrCannotRewrite}
	}
	nk, err := readKustomization(File{Path: k.file, Data: out})
	if err != nil {
		return fail("%v", err)
	}
	if len(nk.entries) != len(k.entries)+len(p.added) {
		return fail("it has %d images entries instead of %d", len(nk.entries), len(k.entries)+len(p.added))
	}
	for i, e := range k.entries {
		ne := nk.entries[i]
		want := e.version()
		if w := p.entryWant[e]; w != nil {
			want = w.version
		}
		if ne.name != e.name || effectiveName(ne) != effectiveName(e) || !maps.Equal(ne.version(), want) {
			return fail("images entry %s holds %s instead of %s", e.name, describe(ne.version()), describe(want))
		}
	}
	for i, u := range p.added {
		ne := nk.entries[len(k.entries)+i]
		if ne.name != u.entry.name || ne.fields[keyNewName].str() != u.entry.fields[keyNewName].str() || !maps.Equal(ne.version(), u.version) {
			return fail("the added images entry %s does not hold its version", u.entry.name)
		}
	}
	if got, want := len(nk.marks), len(k.marks)-dropped; got != want {
		return fail("it holds %d markers instead of %d", got, want)
	}
	return p.checkScalars(p.kfile, nk.scalars())
}

// verifyFile reads a rewritten file back and checks its scalars.
func (p *planner) verifyFile(y *yamlFile, out []byte) error {
	ny, err := readYAMLFile(File{Path: y.path, Data: out})
	if err != nil {
		return &diag.Error{File: y.path, Msg: fmt.Sprintf("the promoted file does not read back: %v; edit it by hand", err), Err: ErrCannotRewrite}
	}
	findGenerated(p.dst, []*yamlFile{ny})
	if len(markMap(y.path, out)) != len(markMap(y.path, p.data[y.path])) {
		return &diag.Error{File: y.path, Msg: "the promoted file lost a marker; edit it by hand", Err: ErrCannotRewrite}
	}
	return p.checkScalars(y, ny)
}

// checkScalars checks that each scalar of old holds in new its planned
// value, or its old one.
func (p *planner) checkScalars(old, new *yamlFile) error {
	got := map[string]*scalar{}
	for _, sc := range new.scalars {
		got[sc.id()] = sc
	}
	for _, sc := range old.scalars {
		want := sc.value()
		if w := p.scalarWant[sc]; w != nil {
			want = w.value
		}
		n := got[sc.id()]
		if n == nil || n.value() != want || (sc.mark == nil) != (n.mark == nil) {
			return &diag.Error{File: sc.file, Line: sc.node.Line,
				Msg: fmt.Sprintf("the promoted file does not hold %q at %s as planned; edit it by hand", want, sc.path), Err: ErrCannotRewrite}
		}
	}
	return nil
}
