package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"strings"

	kustypes "sigs.k8s.io/kustomize/api/types"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// locate turns a failed build into an error that names the file and line to
// edit. kustomize's own messages carry absolute paths and no lines, so the
// kustomization files the root reaches are checked again, the way kustomize
// reads them, to find the first entry at fault; kustomize's message is kept
// as the cause.
func (e *Engine) locate(root Root, fsys *kfs.FS, err error) error {
	refused := fsys.Refused()
	if d, ok := diag.As(refused); ok {
		return d
	}
	if d, ok := diag.As(err); ok && refused == nil {
		return d
	}
	dg := &diagnoser{fsys: fsys, rootOnly: root.Kustomization == nil, onStack: map[string]bool{}, done: map[string]bool{}}
	if d := dg.dir(root.Path, nil); d != nil {
		inWritten(root, fsys, d)
		if d.Err == nil {
			d.Err = err // else what the diagnosis found (a refused remote), kept for errors.Is
		}
		return d
	}
	if refused != nil {
		err = refused
	}
	return &diag.Error{File: root.file(fsys), Line: root.line(), Msg: "kustomize build failed: " + e.relative(err.Error()), Err: err}
}

// inWritten places d, found in a kustomization file the render
// generated (the one Flux's generator writes back for a Kustomization's
// folder, its fields in another order), at the line of the file as it is
// written that holds the same entry; an entry only the generator wrote (a
// component of spec.components) is the Flux Kustomization's.
func inWritten(root Root, fsys *kfs.FS, d *diag.Error) {
	gen, ok := fsys.Generated(d.File)
	if !ok || d.Line <= 0 {
		return
	}
	lines := strings.Split(string(gen), "\n")
	if d.Line > len(lines) {
		return
	}
	want := entryText(lines[d.Line-1])
	if data, err := fsys.Tree().ReadFile(d.File); err == nil && want != "" {
		written := strings.Split(string(data), "\n")
		for i, l := range written {
			if entryText(l) == want {
				d.Line, d.Column = i+1, 0
				return
			}
		}
		// Written in flow style ([a.yaml, b.yaml]): the line holding the
		// entry's value.
		value := strings.TrimPrefix(want, "- ")
		if _, v, ok := strings.Cut(value, ": "); ok {
			value = v
		}
		for i, l := range written {
			if value != "" && strings.Contains(entryText(l), value) {
				d.Line, d.Column = i+1, 0
				return
			}
		}
	}
	if k := root.Kustomization; k != nil {
		d.File, d.Line, d.Column = k.Object.File, k.Object.Line, 0
	}
}

// entryText is a YAML line's content as a generator may write it
// otherwise: without indentation, comment or quotes.
func entryText(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		l = l[:i]
	}
	return strings.NewReplacer(`"`, "", "'", "").Replace(strings.TrimSpace(l))
}

// relative strips the repository's absolute path out of a message.
func (e *Engine) relative(msg string) string {
	return strings.ReplaceAll(msg, e.abs+"/", "")
}

// file is where a root is defined: its Flux Kustomization, or its
// kustomization file.
func (r Root) file(fsys *kfs.FS) string {
	if r.Kustomization != nil {
		return r.Kustomization.Object.File
	}
	if kfile, ok := kustomizationFileIn(fsys, r.Path); ok {
		return kfile
	}
	return r.Path
}

func (r Root) line() int {
	if r.Kustomization != nil {
		return r.Kustomization.Object.Line
	}
	return 0
}

// diagnoser walks kustomization files as kustomize loads them.
type diagnoser struct {
	fsys     *kfs.FS
	rootOnly bool // a plain root reads files only from inside each kustomization's directory
	stack    []string
	onStack  map[string]bool
	done     map[string]bool
}

// at is where a reference to a directory is written.
type at struct {
	file  string
	line  int
	value string
}

// dir checks the kustomization at dir, reached from ref (nil for the root).
func (d *diagnoser) dir(dir string, ref *at) *diag.Error {
	// Directories are told apart by their real path: a symlink to a
	// directory above (app/loop -> .) names the same one by ever longer
	// paths.
	real := dir
	if p, _, err := d.fsys.Tree().Resolve(dir); err == nil {
		real = p
	}
	if d.onStack[real] {
		cycle := append(append([]string(nil), d.stack[indexOf(d.stack, real):]...), real)
		return &diag.Error{File: ref.file, Line: ref.line, Msg: fmt.Sprintf("cycle: %s refers back to %s (%s)", ref.value, real, strings.Join(cycle, " -> "))}
	}
	if d.done[real] {
		return nil
	}
	d.done[real] = true
	kfile, ok := kustomizationFileIn(d.fsys, dir)
	if !ok {
		if ref == nil {
			return &diag.Error{File: dir, Msg: "no kustomization file here (kustomization.yaml, kustomization.yml or Kustomization)"}
		}
		return &diag.Error{File: ref.file, Line: ref.line, Msg: fmt.Sprintf("%q: directory %s has no kustomization file", ref.value, dir)}
	}
	data, err := d.fsys.ReadFile(d.fsys.Abs(kfile))
	if err != nil {
		if de, ok := diag.As(err); ok {
			return de
		}
		return diag.Errorf(kfile, 0, "%v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		se := manifest.SyntaxError(kfile, 1, err)
		manifest.ExplainTab(data, se)
		return se
	}
	if de, ok := manifest.DecodeErrorOf(kfile, data); ok {
		return de
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return diag.Errorf(kfile, 1, "a kustomization file must be a mapping of fields")
	}
	m := doc.Content[0]
	if errs := manifest.UnknownFields(kfile, m, reflect.TypeFor[kustypes.Kustomization]()); len(errs) > 0 {
		errs[0].Msg += " in kustomization file"
		return errs[0]
	}
	if de := d.helm(kfile, m); de != nil {
		return de
	}
	d.stack = append(d.stack, real)
	d.onStack[real] = true
	defer func() {
		d.stack = d.stack[:len(d.stack)-1]
		delete(d.onStack, real)
	}()
	for _, field := range [...]string{"resources", "bases", "components"} {
		for _, item := range sequence(manifest.Lookup(m, field)) {
			if de := d.entry(dir, kfile, field, item); de != nil {
				return de
			}
		}
	}
	return d.files(dir, kfile, m)
}

// ErrInflates is why a kustomization that inflates Helm charts does not
// build: it needs `kustomize build --enable-helm`.
var ErrInflates = errors.New("the kustomization inflates Helm charts")

// helm reports a kustomization that inflates Helm charts, which needs
// `kustomize build --enable-helm`: kustomize-controller never passes it,
// and kubectl gitops runs no Helm from a kustomization either.
func (d *diagnoser) helm(kfile string, m *yaml.Node) *diag.Error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := m.Content[i]
		if key.Value != "helmCharts" && key.Value != "helmGlobals" {
			continue
		}
		var e *diag.Error
		if d.rootOnly {
			e = diag.Errorf(kfile, key.Line, "%s: inflating Helm charts needs `kustomize build --enable-helm`, which kubectl gitops never runs (nor does Flux's kustomize-controller): deploy the chart with a Flux HelmRelease, or render it into the repository", key.Value)
		} else {
			e = diag.Errorf(kfile, key.Line, "%s: Flux's kustomize-controller does not inflate Helm charts (it never builds with --enable-helm), so it fails on this kustomization: deploy the chart with a Flux HelmRelease", key.Value)
		}
		e.Err = ErrInflates
		return e
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

func sequence(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// entry checks one resources, bases or components entry.
func (d *diagnoser) entry(dir, kfile, field string, item *yaml.Node) *diag.Error {
	v := item.Value
	if item.Kind != yaml.ScalarNode || v == "" {
		return &diag.Error{File: kfile, Line: item.Line, Msg: fmt.Sprintf("%s entries must be paths", field)}
	}
	if kfs.IsRemote(v) {
		return nil // refused or fetched by the filesystem, never a local problem
	}
	if path.IsAbs(v) {
		return &diag.Error{File: kfile, Line: item.Line, Msg: fmt.Sprintf("%s entry %q must be a relative path", field, v)}
	}
	target := path.Join(dir, v)
	ref := &at{file: kfile, line: item.Line, value: v}
	kind, err := d.fsys.Tree().Stat(target)
	var sub *repo.SubmoduleError
	switch {
	case repo.IsOutside(err):
		return &diag.Error{File: kfile, Line: item.Line, Msg: fmt.Sprintf("%s entry %q leaves the repository", field, v)}
	case errors.As(err, &sub):
		return &diag.Error{File: kfile, Line: item.Line, Msg: fmt.Sprintf("%s entry %q: %v", field, v, sub)}
	case err != nil:
		return d.missing(kfile, item.Line, field, dir, v)
	case kind == repo.Dir:
		return d.dir(target, ref)
	case field == "components":
		return &diag.Error{File: kfile, Line: item.Line, Msg: fmt.Sprintf("component %q must be a directory with a kustomization file", v)}
	}
	if de := d.outsideRoot(kfile, item.Line, dir, v); de != nil {
		return de
	}
	data, err := d.fsys.ReadFile(d.fsys.Abs(target))
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = fmt.Errorf("%s cannot be read: %w", target, pe.Err)
		}
		return diag.Errorf(kfile, item.Line, "%s entry %q: %v", field, v, err)
	}
	if se, ok := manifest.DecodeErrorOf(target, data); ok {
		manifest.ExplainTab(data, se)
		return se
	}
	for _, doc := range manifest.Split(data) {
		var n yaml.Node
		if yaml.Unmarshal(doc.Text, &n) != nil || len(n.Content) == 0 {
			continue
		}
		if msg := manifest.NotAnObject(n.Content[0]); msg != "" {
			return &diag.Error{File: target, Line: doc.Line - 1 + n.Content[0].Line, Msg: msg}
		}
	}
	return nil
}

// outsideRoot reports a file a plain root reads from outside its
// kustomization's directory, which `kustomize build` refuses.
func (d *diagnoser) outsideRoot(kfile string, line int, dir, v string) *diag.Error {
	if !d.rootOnly {
		return nil
	}
	target := path.Join(dir, v)
	if dir == "." || strings.HasPrefix(target, dir+"/") {
		return nil
	}
	return &diag.Error{File: kfile, Line: line, Msg: fmt.Sprintf(
		"%q is outside %s: kustomize build reads files only from inside the kustomization's directory (move the file there, or refer to a directory holding a kustomization that includes it)", v, dir)}
}

// missing reports a path that does not exist, suggesting the nearest name at
// the first step of the path that went wrong.
func (d *diagnoser) missing(kfile string, line int, field, dir, v string) *diag.Error {
	what := map[string]string{"resources": "resource", "bases": "base", "components": "component"}[field]
	if what == "" {
		what = field + " entry"
	}
	msg := fmt.Sprintf("%s %q not found", what, v)
	if s := d.suggest(dir, v); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &diag.Error{File: kfile, Line: line, Msg: msg}
}

// suggest rewrites the first component of v that does not exist into the
// nearest sibling name, when one is close.
func (d *diagnoser) suggest(dir, v string) string {
	parts := strings.Split(path.Clean(v), "/")
	cur := dir
	for i, p := range parts {
		next := path.Join(cur, p)
		if p == ".." || p == "." {
			cur = next
			continue
		}
		if _, err := d.fsys.Tree().Stat(next); err == nil {
			cur = next
			continue
		}
		entries, err := d.fsys.Tree().ReadDir(cur)
		if err != nil {
			return ""
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name)
		}
		n := manifest.Nearest(p, names)
		if n == "" {
			return ""
		}
		parts[i] = n
		return strings.Join(parts, "/")
	}
	return ""
}

// files checks the other paths a kustomization names: patches, generator
// sources, CRDs, replacements and the OpenAPI schema.
func (d *diagnoser) files(dir, kfile string, m *yaml.Node) *diag.Error {
	check := func(field string, n *yaml.Node, v string) *diag.Error {
		if v == "" || strings.Contains(v, "\n") || kfs.IsRemote(v) {
			return nil
		}
		target := path.Join(dir, v)
		if _, err := d.fsys.Tree().Stat(target); err != nil {
			if repo.IsOutside(err) {
				return &diag.Error{File: kfile, Line: n.Line, Msg: fmt.Sprintf("%s %q leaves the repository", field, v)}
			}
			if sub := (*repo.SubmoduleError)(nil); errors.As(err, &sub) {
				return &diag.Error{File: kfile, Line: n.Line, Msg: fmt.Sprintf("%s %q: %v", field, v, sub)}
			}
			return d.missing(kfile, n.Line, field, dir, v)
		}
		return d.outsideRoot(kfile, n.Line, dir, v)
	}
	for _, p := range sequence(manifest.Lookup(m, "patches")) {
		if n := manifest.Lookup(p, "path"); n != nil {
			if de := check("patch", n, n.Value); de != nil {
				return de
			}
		}
	}
	for _, p := range sequence(manifest.Lookup(m, "patchesJson6902")) {
		if n := manifest.Lookup(p, "path"); n != nil {
			if de := check("patch", n, n.Value); de != nil {
				return de
			}
		}
	}
	for _, p := range sequence(manifest.Lookup(m, "patchesStrategicMerge")) {
		if p.Kind == yaml.ScalarNode && !strings.ContainsAny(p.Value, ":\n") {
			if de := check("patch", p, p.Value); de != nil {
				return de
			}
		}
	}
	for _, gen := range [...]string{"configMapGenerator", "secretGenerator"} {
		for _, g := range sequence(manifest.Lookup(m, gen)) {
			for _, f := range sequence(manifest.Lookup(g, "files")) {
				v := f.Value
				if _, after, ok := strings.Cut(v, "="); ok {
					v = after
				}
				if de := check(gen+" file", f, v); de != nil {
					return de
				}
			}
			envs := sequence(manifest.Lookup(g, "envs"))
			if env := manifest.Lookup(g, "env"); env != nil {
				envs = append(envs, env)
			}
			for _, f := range envs {
				if de := check(gen+" env file", f, f.Value); de != nil {
					return de
				}
			}
		}
	}
	for _, field := range [...]string{"crds", "generators", "transformers", "validators"} {
		for _, f := range sequence(manifest.Lookup(m, field)) {
			if f.Kind == yaml.ScalarNode {
				if de := check(field+" entry", f, f.Value); de != nil {
					return de
				}
			}
		}
	}
	for _, r := range sequence(manifest.Lookup(m, "replacements")) {
		if n := manifest.Lookup(r, "path"); n != nil {
			if de := check("replacement", n, n.Value); de != nil {
				return de
			}
		}
	}
	if n := manifest.Path(m, "openapi", "path"); n != nil {
		return check("openapi path", n, n.Value)
	}
	return nil
}

// checkFluxPath reports a Flux Kustomization whose spec.path is not a
// directory of the repository, or one its source's ignore rules (filter)
// leave out of the artifact, at the line of spec.path.
func (e *Engine) checkFluxPath(root Root, filter *sourceFilter) error {
	k := root.Kustomization
	if k == nil {
		return nil
	}
	line := k.Object.LineOf("spec", "path")
	if kind, err := e.tree.Stat(root.Path); err != nil || kind != repo.Dir {
		msg := fmt.Sprintf("Kustomization %s: spec.path %q is not a directory of this repository", k.ID(), k.Spec.Path)
		if top, ok := e.holderOf(k.Object.File, root.Path); ok {
			msg += fmt.Sprintf("; %s is: if %s is the root of the repository its source fetches (a folder copied into a repository of its own), pass --root %s", path.Join(top, root.Path), top, top)
		}
		return diag.Errorf(k.Object.File, line, "%s", msg)
	}
	if filter != nil && root.Path != "." && filter.hidden(root.Path, true) {
		return diag.Errorf(k.Object.File, line, "Kustomization %s: spec.path %q is not in the artifact of its source %s: its ignore rules leave it out", k.ID(), k.Spec.Path, strings.Replace(k.SourceID(), "/", " ", 1))
	}
	return nil
}

// holderOf returns the nearest folder above file, the repository's root
// aside, that holds the directory p: where a spec.path that is not a
// directory of the repository would lead if that folder were the root of
// the source (repositories kept as folders of one, to be copied out).
func (e *Engine) holderOf(file, p string) (string, bool) {
	for d := path.Dir(file); d != "." && d != "/"; d = path.Dir(d) {
		if kind, err := e.tree.Stat(path.Join(d, p)); err == nil && kind == repo.Dir {
			return d, true
		}
	}
	return "", false
}

// lintKustomizations refuses a build that read a kustomization file with a
// field kustomize does not know in any case (an images entry's "newTagg"):
// kustomize-controller decodes the file leniently and drops it, so the
// typo would silently change what is deployed.
func lintKustomizations(fsys *kfs.FS) error {
	for _, in := range fsys.Recorder().Inputs() {
		if !kfs.IsKustomizationFile(in.Path) {
			continue
		}
		data, err := fsys.Tree().ReadFile(in.Path)
		if err != nil {
			return err
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		if errs := manifest.UnknownFields(in.Path, doc.Content[0], reflect.TypeFor[kustypes.Kustomization]()); len(errs) > 0 {
			errs[0].Msg += " in kustomization file"
			return errs[0]
		}
	}
	return nil
}
