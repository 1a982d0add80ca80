package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/envsubst"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// Flux's rules for post-build variable substitution, as kustomize-controller
// applies them (fluxcd/pkg/kustomize, SubstituteVariables).
const (
	substituteKey      = "kustomize.toolkit.fluxcd.io/substitute"
	substituteDisabled = "disabled"
	// SOPSValue stands for a variable read from a SOPS-encrypted Secret,
	// whose value only the cluster can decrypt: SOPS-ENCRYPTED-<key>, a
	// plain YAML scalar, so it can land anywhere a variable can, and one
	// per key, so that two objects named after two secret values are still
	// two objects.
	SOPSValue = "SOPS-ENCRYPTED"
)

// varName is the form a substitution variable's name must have.
var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// Produced is a ConfigMap or Secret a root renders: what a Kustomization's
// postBuild.substituteFrom may read.
type Produced struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Data      map[string]string `json:"data,omitempty"`
	// SOPS is set for a SOPS-encrypted Secret: its keys are known, its
	// values are not.
	SOPS bool `json:"sops,omitempty"`
	// Made names the object that makes the Secret in the cluster
	// ("ExternalSecret default/cluster-vars"), for a Secret the repository
	// does not hold but an operator writes from a secret manager. Data
	// then holds the values its manifest gives, and "${key}" for each key
	// whose value only the cluster knows: substituted, a variable of that
	// key stays as it is written.
	Made string `json:"made,omitempty"`
	// Open is set when Made's Secret may hold keys its manifest does not
	// name (an ExternalSecret's dataFrom): any variable may be one.
	Open bool `json:"open,omitempty"`
}

// openVars is the key, never a variable's name, that marks a set of
// variables as open: one of them comes from a Secret whose keys only the
// cluster knows, so a variable not in the set stays as it is written
// rather than taking its default or failing strict substitution.
const openVars = "*"

// SecretValues are the values of the Secrets the roots render (SOPS-
// encrypted ones aside, whose values are not known): a Kustomization may
// substitute them into any object, and a diff masks them wherever they
// land; no finding may quote one.
func SecretValues(results []*Result) []string {
	var out []string
	for _, r := range results {
		for _, p := range r.Produced {
			if p.Kind != "Secret" || p.SOPS || p.Made != "" {
				continue
			}
			for _, v := range p.Data {
				out = append(out, v)
			}
		}
	}
	return out
}

// mapEntries calls fn with each entry of the mapping under field, in one
// pass: kyaml's GetDataMap and VisitFields look every key up again, which
// is quadratic in a mapping's entries.
func mapEntries(n *kyaml.RNode, field string, fn func(k, v string)) {
	f := n.Field(field)
	if f == nil || f.Value == nil || f.Value.YNode().Kind != kyaml.MappingNode {
		return
	}
	c := f.Value.YNode().Content
	for i := 0; i+1 < len(c); i += 2 {
		fn(c[i].Value, c[i+1].Value)
	}
}

// produced collects the ConfigMaps and Secrets of a render, and the
// Secrets its operators' objects make in the cluster (madeSecret).
func produced(m resourceSet) []Produced {
	var out []Produced
	for _, res := range m.Resources() {
		if made, ok := madeSecrets(res); ok {
			out = append(out, made...)
			continue
		}
		if res.GetApiVersion() != "v1" || (res.GetKind() != "ConfigMap" && res.GetKind() != "Secret") {
			continue
		}
		p := Produced{Kind: res.GetKind(), Namespace: namespaceOr(res.GetNamespace()), Name: res.GetName(), Data: map[string]string{}}
		p.SOPS = res.Field("sops") != nil
		mapEntries(&res.RNode, "data", func(k, v string) {
			if p.Kind == "Secret" && !p.SOPS {
				if b, err := base64.StdEncoding.DecodeString(v); err == nil {
					v = string(b)
				}
			}
			p.Data[k] = v
		})
		if p.Kind == "Secret" {
			mapEntries(&res.RNode, "stringData", func(k, v string) { p.Data[k] = v })
		}
		if p.SOPS {
			for k := range p.Data {
				p.Data[k] = SOPSValue + "-" + k
			}
		}
		out = append(out, p)
	}
	return out
}

// madeSecrets reads the Secrets an operator's object makes in the cluster
// from a secret manager or a sealed value: madeSecret's, a
// ClusterExternalSecret's, one in each namespace it selects, or a
// SopsSecret's (isindir.github.com), one per secret template.
func madeSecrets(res *resource.Resource) ([]Produced, bool) {
	group, _, _ := strings.Cut(res.GetApiVersion(), "/")
	if group == "external-secrets.io" && res.GetKind() == "ClusterExternalSecret" {
		return clusterExternalSecrets(res), true
	}
	if group == "isindir.github.com" && res.GetKind() == "SopsSecret" {
		return sopsSecrets(res), true
	}
	p, ok := madeSecret(res)
	return []Produced{p}, ok
}

// madeSecret reads the Secret an operator's object makes in the cluster
// from a secret manager or a sealed value: an ExternalSecret
// (external-secrets.io), a SealedSecret (bitnami.com) or a 1Password
// OnePasswordItem (onepassword.com).
func madeSecret(res *resource.Resource) (Produced, bool) {
	group, _, _ := strings.Cut(res.GetApiVersion(), "/")
	p := Produced{Kind: "Secret", Namespace: namespaceOr(res.GetNamespace()), Name: res.GetName(), Data: map[string]string{}}
	switch {
	case group == "external-secrets.io" && res.GetKind() == "ExternalSecret":
		if spec := lookupNode(&res.RNode, "spec"); spec != nil {
			externalSecretKeys(&p, spec)
		}
	case group == "bitnami.com" && res.GetKind() == "SealedSecret":
		if spec := lookupNode(&res.RNode, "spec"); spec != nil {
			mapEntries(spec, "encryptedData", func(k, _ string) { p.Data[k] = "${" + k + "}" })
		}
	case group == "onepassword.com" && res.GetKind() == "OnePasswordItem":
		p.Open = true
	default:
		return Produced{}, false
	}
	p.Made = res.GetKind() + " " + p.Namespace + "/" + res.GetName()
	return p, true
}

// sopsSecrets reads the Secrets a SopsSecret makes once its operator
// decrypts it: one per spec.secretTemplates entry, in its namespace, with
// the keys of the template's stringData and data, whose values only the
// cluster's key decrypts.
func sopsSecrets(res *resource.Resource) []Produced {
	var out []Produced
	templates := lookupNode(&res.RNode, "spec", "secretTemplates")
	if templates == nil || templates.YNode().Kind != kyaml.SequenceNode {
		return nil
	}
	for _, e := range templates.YNode().Content {
		t := kyaml.NewRNode(e)
		name, _ := t.GetString("name")
		if name == "" {
			continue
		}
		p := Produced{Kind: "Secret", Namespace: namespaceOr(res.GetNamespace()), Name: name, Data: map[string]string{},
			Made: "SopsSecret " + namespaceOr(res.GetNamespace()) + "/" + res.GetName()}
		for _, field := range []string{"stringData", "data"} {
			mapEntries(t, field, func(k, _ string) { p.Data[k] = "${" + k + "}" })
		}
		out = append(out, p)
	}
	return out
}

// externalSecretKeys reads into p the Secret an ExternalSecret's spec
// makes: its target's name, and the keys its template and data give, each
// value "${key}" when only the secret manager knows it.
func externalSecretKeys(p *Produced, spec *kyaml.RNode) {
	unknown := func(k string) { p.Data[k] = "${" + k + "}" }
	if name, _ := spec.GetString("target.name"); name != "" {
		p.Name = name
	}
	// With a template, the Secret holds the template's keys, and the data's
	// too when the template merges them; else the data's.
	template := lookupNode(spec, "target", "template")
	merge, _ := spec.GetString("target.template.mergePolicy")
	withData := template == nil || merge == "Merge"
	p.Open = withData && lookupNode(spec, "dataFrom") != nil || template != nil && template.Field("templateFrom") != nil
	if template != nil {
		mapEntries(template, "data", func(k, v string) {
			if strings.Contains(v, "{{") {
				unknown(k)
			} else {
				p.Data[k] = v
			}
		})
	}
	if data := lookupNode(spec, "data"); withData && data != nil && data.YNode().Kind == kyaml.SequenceNode {
		for _, e := range data.YNode().Content {
			if k, _ := kyaml.NewRNode(e).GetString("secretKey"); k != "" {
				unknown(k)
			}
		}
	}
}

// anyNamespace is the namespace of a Secret made in whichever namespace
// asks for it: a ClusterExternalSecret's, selecting namespaces by labels
// only the cluster knows.
const anyNamespace = "*"

// clusterExternalSecrets reads the Secrets a ClusterExternalSecret makes:
// the ExternalSecret it stamps out (named externalSecretName, else as
// itself), in each namespace it selects.
func clusterExternalSecrets(res *resource.Resource) []Produced {
	p := Produced{Kind: "Secret", Name: res.GetName(), Data: map[string]string{}, Made: "ClusterExternalSecret " + res.GetName()}
	if name, _ := res.GetString("spec.externalSecretName"); name != "" {
		p.Name = name
	}
	if spec := lookupNode(&res.RNode, "spec", "externalSecretSpec"); spec != nil {
		externalSecretKeys(&p, spec)
	}
	var out []Produced
	for _, ns := range selectedNamespaces(res) {
		q := p
		q.Namespace, q.Data = ns, maps.Clone(p.Data)
		out = append(out, q)
	}
	return out
}

// selectedNamespaces names the namespaces a ClusterExternalSecret selects
// (spec.namespaces, spec.namespaceSelectors, the older
// spec.namespaceSelector): by name, or anyNamespace for a selector on
// labels other than kubernetes.io/metadata.name, which only the cluster
// can match.
func selectedNamespaces(res *resource.Resource) []string {
	var names []string
	if list, err := res.GetSlice("spec.namespaces"); err == nil {
		for _, v := range list {
			if s, ok := v.(string); ok {
				names = append(names, s)
			}
		}
	}
	var selectors []*kyaml.RNode
	if list := lookupNode(&res.RNode, "spec", "namespaceSelectors"); list != nil && list.YNode().Kind == kyaml.SequenceNode {
		for _, n := range list.YNode().Content {
			selectors = append(selectors, kyaml.NewRNode(n))
		}
	}
	if sel := lookupNode(&res.RNode, "spec", "namespaceSelector"); sel != nil {
		selectors = append(selectors, sel)
	}
	const nameLabel = "kubernetes.io/metadata.name"
	for _, sel := range selectors {
		var selected []string
		exact := true
		mapEntries(sel, "matchLabels", func(k, v string) {
			exact = exact && k == nameLabel
			selected = append(selected, v)
		})
		if exprs := lookupNode(sel, "matchExpressions"); exprs != nil && exprs.YNode().Kind == kyaml.SequenceNode {
			for _, e := range exprs.YNode().Content {
				expr := kyaml.NewRNode(e)
				key, _ := expr.GetString("key")
				op, _ := expr.GetString("operator")
				values, _ := expr.GetSlice("values")
				exact = exact && key == nameLabel && op == "In"
				for _, v := range values {
					if s, ok := v.(string); ok {
						selected = append(selected, s)
					}
				}
			}
		}
		if !exact || len(selected) == 0 {
			return []string{anyNamespace}
		}
		names = append(names, selected...)
	}
	return names
}

// writtenOutside finds a ConfigMap or Secret (id is Kind/namespace/name)
// no root renders that a file of the repository writes: a manifest no
// Kustomization applies, or one a bootstrap script fills in
// (secrets.yaml.tpl for `op inject`, .tmpl, .templ, Jinja's .j2), which puts it in the
// cluster before Flux reads it. Its values are what the file writes, a
// key whose value is a reference or a template as yet unknown, and it may
// hold keys the file does not show (Produced.Open).
func (r *Repository) writtenOutside(id string) (Produced, bool) {
	r.outsideOnce.Do(func() {
		r.outside = map[string]Produced{}
		for _, f := range r.Files {
			if !isYAML(f) && !manifestTemplate(f) {
				continue
			}
			data, err := r.tree.ReadFile(f)
			if err != nil || !(bytes.Contains(data, []byte("kind: Secret")) || bytes.Contains(data, []byte("kind: ConfigMap"))) {
				continue
			}
			for _, d := range manifest.Split(data) {
				o, err := manifest.Decode(f, d)
				if err != nil || o.APIVersion != "v1" || (o.Kind != "Secret" && o.Kind != "ConfigMap") {
					continue
				}
				p := Produced{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Data: map[string]string{}, Open: true,
					Made: fmt.Sprintf("%s %s written in %s", o.Kind, o.ID(), f)}
				for _, field := range []string{"data", "stringData"} {
					m := manifest.Lookup(o.Node(), field)
					if m == nil || m.Kind != yaml.MappingNode {
						continue
					}
					for i := 1; i < len(m.Content); i += 2 {
						k, v := m.Content[i-1].Value, m.Content[i].Value
						if o.Kind == "Secret" || strings.Contains(v, "{{") || strings.Contains(v, "://") {
							v = "${" + k + "}" // a secret, or a reference: known in the cluster
						}
						p.Data[k] = v
					}
				}
				key := o.Kind + "/" + o.Namespace + "/" + o.Name
				if _, seen := r.outside[key]; !seen {
					r.outside[key] = p
				}
			}
		}
	})
	kind, ns, name, _ := splitID(id)
	if p, ok := r.outside[kind+"/"+ns+"/"+name]; ok {
		return p, true
	}
	p, ok := r.outside[kind+"//"+name] // one the script applies to whatever namespace it is told
	p.Namespace = ns
	return p, ok
}

// splitID reads an object's Kind/namespace/name.
func splitID(id string) (kind, namespace, name string, ok bool) {
	kind, rest, ok1 := strings.Cut(id, "/")
	namespace, name, ok2 := strings.Cut(rest, "/")
	return kind, namespace, name, ok1 && ok2
}

// manifestTemplate tells whether f is a manifest a bootstrap script fills
// in before applying it: secrets.yaml.tpl, cluster.yaml.tmpl, and the
// Jinja templates of makejinja-based templates (resources.yaml.j2).
func manifestTemplate(f string) bool {
	for _, ext := range []string{".tpl", ".tmpl", ".templ", ".j2", ".jinja", ".jinja2"} {
		if base, ok := strings.CutSuffix(f, ext); ok && isYAML(base) {
			return true
		}
	}
	return false
}

// lookupNode returns the node at path under n, or nil.
func lookupNode(n *kyaml.RNode, path ...string) *kyaml.RNode {
	v, err := n.Pipe(kyaml.Lookup(path...))
	if err != nil {
		return nil
	}
	return v
}

// resolveVars resolves a Kustomization's substituteFrom references against
// the objects the repository renders (object looks one up by
// Kind/namespace/name), then lays the inline substitute map over
// them. A missing optional reference is skipped, a missing required one is
// an error, as in the cluster.
func resolveVars(k *Kustomization, object func(id string) (Produced, bool)) (vars map[string]string, absent []string, err error) {
	pb := k.Spec.PostBuild
	vars = map[string]string{}
	for _, ref := range pb.SubstituteFrom {
		p, ok := object(ref.Kind + "/" + k.Namespace() + "/" + ref.Name)
		if !ok {
			if ref.Optional {
				absent = append(absent, ref.Kind+" "+k.Namespace()+"/"+ref.Name)
				continue
			}
			return nil, nil, diag.Errorf(k.Object.File, k.Object.Line,
				"Kustomization %s: postBuild.substituteFrom: %s %s/%s is not rendered by any root of this repository (mark it optional if it lives only in the cluster)",
				k.ID(), ref.Kind, k.Namespace(), ref.Name)
		}
		for key, v := range p.Data {
			vars[key] = strings.ReplaceAll(v, "\n", "")
		}
		if p.Open {
			vars[openVars] = p.Made
		}
	}
	for key, v := range pb.Substitute {
		vars[key] = strings.ReplaceAll(v, "\n", "")
	}
	return vars, absent, nil
}

// varsDigest identifies a set of variables for cache keys.
func varsDigest(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, k, vars[k])
	}
	return cache.Key(parts...)
}

// unsetVariable reads the name out of envsubst's strict-mode error.
var unsetVariable = regexp.MustCompile(`variable not set \(strict mode\): "([^"]+)"`)

// locateVariable places a substitution that failed on a variable nothing
// sets at the first line, among the files the root read, that uses it: in
// a cluster's tree that is most often a child Kustomization's file, which
// its parent substitutes. Nil when err is no such failure, or no file
// read names the variable.
func locateVariable(fsys *kfs.FS, err error, assumed bool) *diag.Error {
	if err == nil {
		return nil
	}
	m := unsetVariable.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	file, line, ok := variableUse(fsys, m[1])
	if !ok {
		return nil
	}
	msg := err.Error() + " (set it in the substitute or substituteFrom of the Kustomization that applies this file, or give it a default: ${" + m[1] + ":=value})"
	if assumed {
		msg += fmt.Sprintf("; substitution is strict from Flux v2.%d, and %s", strictFrom, deprecation.AssumedFlux())
	}
	return &diag.Error{File: file, Line: line, Msg: msg, Err: fmt.Errorf("%w: %w", ErrUnsetVariable, err)}
}

// ErrUnsetVariable is why a root whose strict post-build substitution
// meets a variable nothing sets does not render.
var ErrUnsetVariable = errors.New("a variable nothing sets")

// variableUse finds the first line, among the files the root read, that
// uses the variable name.
func variableUse(fsys *kfs.FS, name string) (string, int, bool) {
	use := regexp.MustCompile(`\$\{` + regexp.QuoteMeta(name) + `([^_[:alnum:]]|$)`)
	for _, in := range fsys.Recorder().Inputs() {
		data, err := fsys.Tree().ReadFile(in.Path)
		if err != nil {
			continue
		}
		if loc := use.FindIndex(data); loc != nil {
			return in.Path, 1 + bytes.Count(data[:loc[0]], []byte("\n")), true
		}
	}
	return "", 0, false
}

// Unset is a variable a lenient substitution (a Flux release before strict
// substitution became the default) made empty: where it is used, and
// what Flux does with it.
type Unset struct {
	Name, File string
	Line       int
}

// unsetVariables places each variable a lenient substitution left empty.
func unsetVariables(fsys *kfs.FS, k *Kustomization, names []string) []Unset {
	var out []Unset
	for _, n := range names {
		u := Unset{Name: n, File: k.Object.File, Line: k.Object.Line}
		if file, line, ok := variableUse(fsys, n); ok {
			u.File, u.Line = file, line
		}
		out = append(out, u)
	}
	return out
}

// substitute runs Flux's post-build substitution over every resource of m.
// Lenient (not strict), it returns the variables it made empty, sorted.
func substitute(m resourceSet, k *Kustomization, vars map[string]string, strict bool) ([]string, error) {
	always := k.Spec.PostBuild.SubstituteStrategy == kustomizev1.SubstituteStrategyAlways
	if len(vars) == 0 && !always {
		return nil, nil
	}
	for name := range vars {
		if !varName.MatchString(name) && name != openVars {
			return nil, diag.Errorf(k.Object.File, k.Object.Line,
				"Kustomization %s: postBuild: variable name %q is invalid, it must match %s", k.ID(), name, varName)
		}
	}
	empty := map[string]bool{} // lenient: the variables made empty
	for _, res := range m.Resources() {
		if res.GetLabels()[substituteKey] == substituteDisabled || res.GetAnnotations()[substituteKey] == substituteDisabled {
			continue
		}
		if err := substituteResource(res, vars, strict, empty); err != nil {
			return nil, fmt.Errorf("post build failed for '%s/%s': envsubst error: %w", res.GetGvk(), res.GetName(), err)
		}
		if _, err := m.Replace(res); err != nil {
			return nil, err
		}
	}
	return slices.Sorted(maps.Keys(empty)), nil
}

// substituteResource substitutes one resource through its YAML text, as
// kustomize-controller does; the resource is then rebuilt from JSON, so its
// keys come out sorted, as they do in the cluster. Lenient, a variable
// nothing sets and that has no default becomes empty, and is added to
// empty.
func substituteResource(res *resource.Resource, vars map[string]string, strict bool, empty map[string]bool) error {
	data, err := printYAML(res)
	if err != nil {
		return err
	}
	_, open := vars[openVars]
	lookup := func(s string) (string, bool) {
		v, ok := vars[s]
		switch {
		case ok:
			return v, true
		case open:
			return "${" + s + "}", true // only the cluster knows it
		}
		return "", empty[s]
	}
	// Strict first: its error names a variable without a default that
	// nothing sets, which lenient substitution makes empty.
	var out string
	for {
		out, err = envsubst.Eval(string(data), lookup)
		if err == nil {
			break
		}
		m := unsetVariable.FindStringSubmatch(err.Error())
		if strict || m == nil || empty[m[1]] {
			return fmt.Errorf("variable substitution failed: %w", err)
		}
		empty[m[1]] = true
	}
	j, err := sigsyaml.YAMLToJSON([]byte(out))
	if err != nil {
		return fmt.Errorf("YAMLToJSON: %w", err)
	}
	return res.UnmarshalJSON(j)
}
