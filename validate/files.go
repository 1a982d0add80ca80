package validate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/encoding/unicode"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// maxFileSize bounds the files the file rules parse.
const maxFileSize = 16 << 20

func isYAMLFile(f string) bool {
	return strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")
}

// checkSyntax parses every YAML file in scope, but those of an archive set
// aside (aside), and checks that the files kustomizations list as
// resources hold Kubernetes objects. A file whose
// blob was checked before is not read again.
func checkSyntax(c *checker) error {
	c.checkNames()
	for _, d := range c.in.Repository.Unreadable {
		if c.inScope(d.File) && !c.aside(d.File) {
			c.add("syntax", Finding{File: d.File, Message: d.Msg})
		}
	}
	return c.eachFile(func(f string, facts fileFacts) {
		if c.aside(f) {
			return
		}
		// A resource only kustomizations nothing builds list: that it
		// holds no object (what reading it as no resource does not find)
		// is a warning, as their build's failure is.
		unbuilt, plain := false, []Finding(nil)
		if c.resourceFiles()[f] && !c.builtResources()[f] {
			if p, err := c.fileFactsOf(f, false); err == nil {
				unbuilt, plain = true, p.Findings
			}
		}
		template := sync.OnceValue(func() bool { return c.template(f) })
		for _, x := range facts.Findings {
			if x.Rule != "syntax" {
				continue
			}
			objectCheck := unbuilt && !slices.Contains(plain, x)
			x.File = f
			switch {
			case objectCheck:
				x.Message += " (only kustomizations no cluster's tree builds list it)"
				c.addRaw(rawFinding{Finding: x, Default: Warning})
			case template():
				x.Message += " (a template of another tool: it holds {{ }} and nothing Flux builds reads it)"
				c.addRaw(rawFinding{Finding: x, Default: Warning})
			default:
				c.add("syntax", x)
			}
		}
	})
}

// checkNotRendered names every Flux Kustomization of the repository that
// no root renders because its source is not this repository. One whose
// source is not defined at all is flux-reference's; one Flux would render
// and kubectl gitops cannot is build's.
func checkNotRendered(c *checker) error {
	for _, s := range c.in.Repository.SkippedUnder([]string{"."}) {
		k := s.Kustomization
		if s.Unsupported || s.Blocked || s.Undefined || !c.inScope(k.Object.File) {
			continue
		}
		c.add("not-rendered", Finding{File: k.Object.File, Line: k.Object.LineOf("spec", "sourceRef"), Message: fmt.Sprintf("Kustomization %s is not rendered nor checked: %s", k.ID(), s.Reason)})
	}
	seen := map[render.Unrendered]bool{}
	for _, res := range c.in.Results {
		for _, u := range res.Unrendered {
			if seen[u] || !c.writtenInScope(u.File, res) {
				continue
			}
			seen[u] = true
			c.add("not-rendered", Finding{File: u.File, Line: u.Line, Object: render.OperatorGroup + "/v1/" + u.Kind + "/" + u.ID(), Message: fmt.Sprintf("%s %s is not rendered nor checked: %s", u.Kind, u.ID(), u.Reason)})
		}
	}
	for _, rr := range c.releases() {
		if rel := rr.rel; rel.Unchecked != "" && !strings.HasPrefix(rel.Unchecked, "spec.suspend") {
			c.add("not-rendered", c.releaseFinding("not-rendered", rr, fmt.Sprintf("HelmRelease %s is not rendered nor checked: %s", rel.ID(), rel.Unchecked)))
		}
	}
	return nil
}

// rootRelease is a HelmRelease and the root that renders it.
type rootRelease struct {
	rel *render.Release
	res *render.Result
}

// releaseFinding is a finding of rule id about a HelmRelease, at its file
// and line; one a root renders from another revision (a tenant's branch)
// is placed in that revision's file, as an object finding is.
func (c *checker) releaseFinding(id string, rr rootRelease, msg string) Finding {
	rel := rr.rel
	f := Finding{File: rel.File, Line: rel.Line, Object: releaseObject(rel), Message: msg}
	if rel.File != "" || rr.res.Root.At == nil {
		return f
	}
	objs, err := c.objectsOf(rr.res)
	if err != nil {
		return f
	}
	for _, o := range objs {
		if o.node.GetKind() == "HelmRelease" && o.node.GetName() == rel.Name && namespace(o.node) == rel.Namespace {
			return c.objectFinding(id, o, nil, msg)
		}
	}
	return f
}

// checkReleases reports the HelmReleases that do not render. One only
// roots no cluster's tree applies render is read as it is written,
// without what a parent would give it: a warning, as their build's
// failure is.
func checkReleases(c *checker) error {
	applied := map[string]bool{}
	for _, res := range c.in.Results {
		if !c.in.Repository.Unreached(res.Root) {
			for _, rel := range res.Releases {
				applied[releaseKey(rel)] = true
			}
		}
	}
	for _, rr := range c.releases() {
		if rr.rel.Err == nil {
			continue
		}
		msg := rr.rel.Err.Error()
		if d, ok := diag.As(rr.rel.Err); ok {
			msg = d.Msg
		}
		if applied[releaseKey(rr.rel)] {
			c.add("helm-release", c.releaseFinding("helm-release", rr, msg))
			continue
		}
		f := c.releaseFinding("helm-release", rr, fmt.Sprintf("%s (no cluster's tree applies it: read as it is written)", msg))
		f.Rule = "helm-release"
		c.addRaw(rawFinding{Finding: f, Default: Warning})
	}
	return nil
}

// releases are the HelmReleases written in a file in scope, or written
// nowhere and rendered by a root in scope, each once (two roots may apply
// the same one). Every root that reads a file in scope is rendered, and in
// scope unless a shard of the check takes it: the file tells which shard
// names the release.
func (c *checker) releases() []rootRelease {
	seen := map[string]bool{}
	var out []rootRelease
	for _, res := range c.in.Results {
		for _, rel := range res.Releases {
			key := releaseKey(rel)
			if seen[key] || !c.writtenInScope(rel.File, res) {
				continue
			}
			seen[key] = true
			out = append(out, rootRelease{rel, res})
		}
	}
	return out
}

// releaseKey names a HelmRelease where it is written: two roots may
// render it.
func releaseKey(rel *render.Release) string { return rel.ID() + "\x00" + rel.File }

// writtenInScope tells whether an object a render makes is in scope: the
// file it is written in, or, written nowhere, the root res that renders it.
func (c *checker) writtenInScope(file string, res *render.Result) bool {
	if file != "" {
		return c.inScope(file)
	}
	return c.rootInScope(res)
}

func releaseObject(rel *render.Release) string {
	return render.HelmGroup + "/v2/HelmRelease/" + rel.ID()
}

// checkNames reports each file or directory in scope whose name holds a
// character no output prints as it is (a newline, an escape sequence, a
// bidirectional override): every output quotes it, and the name itself is
// a finding, once for the outermost such directory.
func (c *checker) checkNames() {
	seen := map[string]bool{}
	for _, f := range c.in.Repository.Files {
		if safetext.Printable(f) || !c.inScope(f) {
			continue
		}
		bad := f
		parts := strings.Split(f, "/")
		for i, part := range parts {
			if !safetext.Printable(part) {
				bad = strings.Join(parts[:i+1], "/")
				break
			}
		}
		if seen[bad] {
			continue
		}
		seen[bad] = true
		// A character that can break a line is an error: it is what forges
		// output where it is not escaped. An invisible but inert one (a
		// bidirectional mark left by an editor) is a warning.
		f := rawFinding{Finding: Finding{Rule: "syntax", File: bad, Message: fmt.Sprintf("the name %s holds a character no output prints as it is (a line break, a control or an invisible formatting character): rename it", safetext.Text(path.Base(bad)))}}
		if !safetext.BreaksLines(bad) {
			f.Default = Warning
		}
		c.addRaw(f)
	}
}

// eachFile calls fn with the file rules' facts of every YAML file in scope.
func (c *checker) eachFile(fn func(string, fileFacts)) error {
	resources := c.resourceFiles()
	for _, f := range c.in.Repository.Files {
		if !isYAMLFile(f) || !c.inScope(f) || c.in.Repository.IsChartTemplate(f) {
			continue
		}
		facts, err := c.fileFactsOf(f, resources[f])
		if err != nil {
			// The same finding discovery's list gives, once.
			d := render.Unreadable(f, err)
			facts = fileFacts{Findings: []Finding{{Rule: "syntax", Line: d.Line, Message: d.Msg}}}
		}
		fn(f, facts)
	}
	return nil
}

// template tells whether f is a template another tool fills before any
// YAML parser reads it (Go templates, Jinja, a CLI's bootstrap files):
// it holds {{ }}, no kustomization lists it and no rendered root reads
// it. Its syntax is that tool's concern.
func (c *checker) template(f string) bool {
	if c.resourceFiles()[f] || c.readByRoot(f) {
		return false
	}
	data, err := c.in.Tree.ReadFile(f)
	if err != nil {
		return false
	}
	open := bytes.Index(data, []byte("{{"))
	return open >= 0 && bytes.Contains(data[open:], []byte("}}"))
}

// resourceFiles are the files kustomizations list under resources.
func (c *checker) resourceFiles() map[string]bool {
	if c.resources != nil {
		return c.resources
	}
	out := map[string]bool{}
	for _, kf := range c.in.Repository.Kustomizations {
		for _, p := range kf.Resources() {
			if k, err := c.in.Tree.Stat(p); err == nil && k == repo.File {
				out[p] = true
			}
		}
	}
	c.resources = out
	return out
}

// builtResources are the files listed as resources by the kustomizations
// a build of a root some cluster's tree applies may read (of any root, in
// a repository without entry points).
func (c *checker) builtResources() map[string]bool {
	c.built.once.Do(func() {
		r := c.in.Repository
		dirs := map[string]bool{}
		for _, root := range r.Roots {
			if root.At == nil && !r.Unreached(root) {
				for _, d := range r.Reaches(root.Path) {
					dirs[d] = true
				}
			}
		}
		c.built.files = map[string]bool{}
		for dir, kf := range r.Kustomizations {
			if !dirs[dir] {
				continue
			}
			for _, p := range kf.Resources() {
				c.built.files[p] = true
			}
		}
	})
	return c.built.files
}

// syntaxOf checks a YAML file's content: encoding, syntax, duplicate keys,
// and, for a resource file, that each document is a Kubernetes object.
func syntaxOf(data []byte, resource bool) []Finding {
	var out []Finding
	add := func(f Finding) {
		f.Rule = "syntax"
		out = append(out, f)
	}
	switch {
	case len(data) > maxFileSize:
		add(Finding{Severity: Warning, Message: fmt.Sprintf("file is %d MB, too large to check", len(data)>>20)})
		return out
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		// kustomize and Flux read it (YAML allows UTF-16 with a byte order
		// mark), so it is checked as they read it.
		utf8Data, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			add(Finding{Line: 1, Message: "file starts as UTF-16 but is not valid UTF-16"})
			return out
		}
		add(Finding{Severity: Warning, Line: 1, Message: "file is UTF-16: kustomize and Flux read it, but Flux's image automation writes it back as UTF-8 and Git shows it as binary; save it as UTF-8"})
		return append(out, syntaxOf(utf8Data, resource)...)
	case bytes.IndexByte(data, 0) >= 0:
		add(Finding{Line: 1, Message: "binary content in a YAML file"})
		return out
	case !utf8.Valid(data):
		add(Finding{Line: firstInvalidLine(data), Message: "file is not valid UTF-8"})
		return out
	}
	for _, d := range manifest.Split(data) {
		var doc yaml.Node
		if err := yaml.Unmarshal(d.Text, &doc); err != nil {
			se := manifest.SyntaxError("", d.Line, err)
			manifest.ExplainTab(data, se)
			add(Finding{Line: se.Line, Message: se.Msg})
			continue
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		for _, e := range duplicateKeys(root, d.Line-1) {
			add(Finding{Line: e.Line, Column: e.Column, Message: e.Msg})
		}
		if resource {
			if msg := manifest.NotAnObject(root); msg != "" {
				add(Finding{Line: d.Line - 1 + root.Line, Message: msg})
			}
		}
	}
	return out
}

func firstInvalidLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}

// duplicateKeys finds keys repeated in a mapping, anywhere in n: YAML
// parsers keep the last silently, so one of the two values is lost. Lines
// are shifted by offset.
func duplicateKeys(n *yaml.Node, offset int) []*diag.Error {
	var out []*diag.Error
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.ScalarNode && k.Value != "<<" {
					if first, dup := seen[k.Value]; dup {
						out = append(out, &diag.Error{Line: k.Line + offset, Column: k.Column,
							Msg: fmt.Sprintf("duplicate key %q (first at line %d): only the last value is kept", k.Value, first+offset)})
					} else {
						seen[k.Value] = k.Line
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// unsetVariables names, as build warnings, the variables res's lenient
// substitution made empty.
func (c *checker) unsetVariables(res *render.Result) {
	why := "Flux " + cmp.Or(c.in.Repository.FluxRelease(res.Root), "its release") + " substitutes an empty string (from Flux v2.9 on, strict substitution makes it an error)"
	if c.in.Repository.StrictGate(res.Root) == "false" {
		why = "kustomize-controller, with its StrictPostBuildSubstitutions feature gate off, substitutes an empty string"
	}
	for _, u := range res.Unset {
		c.addRaw(rawFinding{Finding: Finding{Rule: "build", File: u.File, Line: u.Line, Message: fmt.Sprintf(
			"Kustomization %s: variable %s is not set and has no default: %s", res.Root.KustomizationID(), u.Name, why)}, Default: Warning})
	}
}

// clusterSources names, as build warnings, what res's Kustomization
// substitutes from that no root of the repository renders: Flux fails if
// the cluster lacks it, which only the cluster can tell.
func (c *checker) clusterSources(res *render.Result) {
	k := res.Root.Kustomization
	for _, id := range res.Outside {
		c.addRaw(rawFinding{Finding: Finding{Rule: "build", File: k.Object.File, Line: k.Object.Line, Message: fmt.Sprintf(
			"Kustomization %s: postBuild.substituteFrom: %s is not rendered by any root of this repository, so it must be the cluster's (made by hand or at bootstrap; mark it optional if it may be missing): the variables it gives are left as written",
			res.Root.KustomizationID(), strings.Replace(id, "/", " ", 1))}, Default: Warning})
	}
}

// checkBuild reports the roots that did not render, where the render error
// points.
func checkBuild(c *checker) error {
	for _, res := range c.scopedResults() {
		if res.Err == nil {
			c.unsetVariables(res)
			c.clusterSources(res)
			continue
		}
		f := rawFinding{Finding: Finding{Rule: "build", Message: res.Err.Error()}}
		if d, ok := diag.As(res.Err); ok {
			f.File, f.Line, f.Column, f.Message = d.File, d.Line, d.Column, d.Msg
		}
		if f.File == "" {
			f.File, f.Line = rootAt(res.Root)
		}
		switch {
		case errors.Is(res.Err, kfs.ErrRemoteRefused):
			f.Default = Warning // not rendered here, not broken
		case errors.Is(res.Err, render.ErrUnsetVariable) && len(res.Absent) > 0:
			// It may come from an optional source made in the cluster
			// (by an operator from a custom resource, by hand).
			f.Default = Warning
			f.Message += fmt.Sprintf("; it may come from %s, optional in substituteFrom, which no root of this repository makes: one made in the cluster would set it", strings.Join(res.Absent, ", "))
		case c.in.Repository.Unreached(res.Root) && res.Root.Kustomization != nil:
			// Read as written, without what a parent would give it (its
			// patches, its variables): nothing deploys it as it fails.
			f.Default = Warning
			f.Message = fmt.Sprintf("Kustomization %s, which no cluster's tree applies, read as it is written: %s", res.Root.KustomizationID(), f.Message)
		case c.in.Repository.Unreached(res.Root):
			f.Default = Warning
			f.Message = fmt.Sprintf("%s, which no cluster's tree builds: %s", res.Root.Path, f.Message)
		case errors.Is(res.Err, render.ErrInflates) && res.Root.Kustomization == nil && !c.in.Repository.FluxBuilds(res.Root):
			// Built by another tool (Argo CD builds with --enable-helm):
			// no Flux Kustomization builds the folder.
			f.Default = Warning
			f.Message += "; no Flux Kustomization builds this folder, so it is not rendered nor checked"
		case res.Root.Cluster != nil && res.Root.Cluster.Named:
			// Each cluster renders a Kustomization as its own tree
			// gives it: say which one fails.
			f.Message += " (in cluster " + res.Root.Cluster.Name + ")"
		}
		c.addRaw(f)
	}
	for _, s := range c.in.Repository.Unsupported([]string{"."}) {
		k := s.Kustomization
		if !c.inScope(k.Object.File) {
			continue
		}
		c.addRaw(rawFinding{Finding: Finding{Rule: "build", File: k.Object.File, Line: k.Object.LineOf("spec", "path"),
			Message: fmt.Sprintf("Kustomization %s is not rendered nor checked: %s", k.ID(), s.Reason)}, Default: Warning})
	}
	for _, d := range c.in.Repository.Broken {
		if c.inScope(d.File) {
			c.add("build", Finding{File: d.File, Line: d.Line, Column: d.Column, Message: d.Msg})
		}
	}
	for _, d := range c.in.Repository.Cycles {
		if c.inScope(d.File) {
			c.addRaw(rawFinding{Finding: Finding{Rule: "build", File: d.File, Line: d.Line, Column: d.Column, Message: d.Msg}, Default: Warning})
		}
	}
	for _, k := range c.in.Repository.Flux {
		if !k.LeavesSource() || !c.inScope(k.Object.File) {
			continue
		}
		c.addRaw(rawFinding{Finding: Finding{Rule: "flux-reference", File: k.Object.File, Line: k.Object.LineOf("spec", "path"), Message: fmt.Sprintf(
			"Kustomization %s: spec.path %q climbs above the root of its source: Flux stops at the root and reads %q", k.ID(), k.Spec.Path, k.Path())}, Default: Warning})
	}
	return nil
}
