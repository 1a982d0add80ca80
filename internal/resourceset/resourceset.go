// Package resourceset builds the objects a Flux Operator ResourceSet
// generates, as the operator's controller does: its inputs (written in the
// ResourceSet, and exported by Static ResourceSetInputProviders) combined by
// its input strategy, each set given to its resource templates (Go
// templates with << >> delimiters, slim-sprig's hermetic functions,
// slugify and toYaml), the results deduplicated, then its commonMetadata
// and the owner labels set.
//
// Inputs that only a cluster knows (a provider that lists pull requests,
// branches, tags or an external service) are not made up: Inputs returns a
// *NotRendered error naming the provider. So does a ResourceSet whose
// reconciliation is disabled.
//
// The operator's own code is AGPL-3.0 and not linked here: its CLI,
// `flux-operator build resourceset`, is the oracle the tests hold this
// package to.
package resourceset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	ssautil "github.com/fluxcd/pkg/ssa/utils"
	sprig "github.com/go-task/slim-sprig/v3"
	"github.com/gosimple/slug"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	kjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Group is the Flux Operator's API group.
const Group = "fluxcd.controlplane.io"

// The kinds this package reads.
const (
	Kind         = "ResourceSet"
	ProviderKind = "ResourceSetInputProvider"
)

// The owner labels the operator sets on every object a ResourceSet
// generates.
const (
	OwnerNameLabel      = "resourceset." + Group + "/name"
	OwnerNamespaceLabel = "resourceset." + Group + "/namespace"
)

// reconcileAnnotation set to disabled excludes a generated object, and
// stops the reconciliation of a ResourceSet.
const reconcileAnnotation = Group + "/reconcile"

// StaticProvider is the one provider type whose inputs are written in the
// repository.
const StaticProvider = "Static"

// maxPermutations is where the operator stops a Permute strategy.
const maxPermutations = 10000

// ResourceSet is a ResourceSet as its Kustomization renders it.
type ResourceSet struct {
	APIVersion string `json:"apiVersion"`
	Metadata   meta   `json:"metadata"`
	Spec       Spec   `json:"spec"`
}

type meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec is the part of a ResourceSet's spec that decides its objects.
type Spec struct {
	CommonMetadata    *CommonMetadata              `json:"commonMetadata,omitempty"`
	InputStrategy     *InputStrategy               `json:"inputStrategy,omitempty"`
	Inputs            []map[string]json.RawMessage `json:"inputs,omitempty"`
	InputsFrom        []ProviderRef                `json:"inputsFrom,omitempty"`
	Resources         []json.RawMessage            `json:"resources,omitempty"`
	ResourcesTemplate string                       `json:"resourcesTemplate,omitempty"`
	Steps             []Step                       `json:"steps,omitempty"`
}

// CommonMetadata are labels and annotations set on every object.
type CommonMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// InputStrategy says how the inputs of several providers combine:
// Flatten (the default) or Permute.
type InputStrategy struct {
	Name                  string `json:"name,omitempty"`
	IncludeEmptyProviders bool   `json:"includeEmptyProviders,omitempty"`
}

// ProviderRef names input providers in the ResourceSet's namespace, by
// name or by labels.
type ProviderRef struct {
	APIVersion string                `json:"apiVersion,omitempty"`
	Kind       string                `json:"kind,omitempty"`
	Name       string                `json:"name,omitempty"`
	Selector   *metav1.LabelSelector `json:"selector,omitempty"`
}

// Step is a named group of resources, applied in order.
type Step struct {
	Name              string            `json:"name"`
	Resources         []json.RawMessage `json:"resources,omitempty"`
	ResourcesTemplate string            `json:"resourcesTemplate,omitempty"`
}

// Provider is a ResourceSetInputProvider as its Kustomization renders it.
type Provider struct {
	APIVersion string       `json:"apiVersion"`
	Metadata   meta         `json:"metadata"`
	Spec       ProviderSpec `json:"spec"`
}

// ProviderSpec is the part of a provider's spec its inputs come from.
type ProviderSpec struct {
	Type          string                     `json:"type"`
	DefaultValues map[string]json.RawMessage `json:"defaultValues,omitempty"`
}

// Decode reads a ResourceSet from its JSON, giving it namespace when it
// names none.
func Decode(data []byte, namespace string) (*ResourceSet, error) {
	var rs ResourceSet
	if err := decodeObject(data, Kind, &rs, &rs.Metadata, namespace); err != nil {
		return nil, err
	}
	return &rs, nil
}

// DecodeProvider reads a ResourceSetInputProvider from its JSON, giving it
// namespace when it names none.
func DecodeProvider(data []byte, namespace string) (*Provider, error) {
	var p Provider
	if err := decodeObject(data, ProviderKind, &p, &p.Metadata, namespace); err != nil {
		return nil, err
	}
	return &p, nil
}

// decodeObject decodes data into v, whose metadata is m, defaulting its
// namespace.
func decodeObject(data []byte, kind string, v any, m *meta, namespace string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	if m.Namespace == "" {
		m.Namespace = namespace
	}
	return nil
}

// ID is the provider's namespace/name.
func (p *Provider) ID() string { return p.Metadata.Namespace + "/" + p.Metadata.Name }

// Error is a ResourceSet that does not build, with where in it.
type Error struct {
	// Path leads to the field that fails, as keys and indices:
	// spec resources 2, spec steps 0 resourcesTemplate.
	Path []string
	// Line is the line of the resourcesTemplate that fails, from 1, when
	// the template says it.
	Line int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// templateLine finds the line text/template names in its errors.
var templateLine = regexp.MustCompile(`template: resourceset:(\d+)`)

// located says err is at field (its i-th element when i >= 0) under at.
func located(at []string, field string, i int, err error) *Error {
	e := &Error{Path: append(slices.Clone(at), field), Err: err}
	if i >= 0 {
		e.Path = append(e.Path, strconv.Itoa(i))
	} else if m := templateLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
	}
	return e
}

// NotRendered says why a ResourceSet's objects cannot be known from the
// repository: nothing is wrong with it.
type NotRendered struct{ Reason string }

func (e *NotRendered) Error() string { return e.Reason }

// Objects returns the objects the ResourceSet generates from the providers
// among available it refers to, with its commonMetadata and the owner
// labels set, in the order the operator applies them.
func (rs *ResourceSet) Objects(available []*Provider, lim Limits) ([]*unstructured.Unstructured, error) {
	if strings.EqualFold(rs.Metadata.Annotations[reconcileAnnotation], "disabled") {
		return nil, &NotRendered{Reason: "its reconciliation is disabled (" + reconcileAnnotation + ": disabled)"}
	}
	if err := rs.validate(); err != nil {
		return nil, err
	}
	providers, err := rs.providers(available)
	if err != nil {
		return nil, err
	}
	inputs, err := rs.inputs(providers)
	if err != nil {
		return nil, err
	}
	var objects []*unstructured.Unstructured
	if len(rs.Spec.InputsFrom) == 0 || len(inputs) > 0 {
		if objects, err = rs.build(inputs, newBudget(lim)); err != nil {
			return nil, err
		}
	}
	// The controller sets the owner labels first: commonMetadata may
	// override them.
	ssautil.SetCommonMetadata(objects, map[string]string{OwnerNameLabel: rs.Metadata.Name, OwnerNamespaceLabel: rs.Metadata.Namespace}, nil)
	if cm := rs.Spec.CommonMetadata; cm != nil {
		ssautil.SetCommonMetadata(objects, cm.Labels, cm.Annotations)
	}
	return objects, nil
}

// validate holds the rules the operator enforces on a spec before it
// builds anything.
func (rs *ResourceSet) validate() error {
	s := rs.Spec
	if len(s.Steps) > 0 && (len(s.Resources) > 0 || s.ResourcesTemplate != "") {
		return errors.New("spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate")
	}
	for _, st := range s.Steps {
		if len(st.Resources) == 0 && st.ResourcesTemplate == "" {
			return fmt.Errorf("step %q: at least one of resources or resourcesTemplate must be set", st.Name)
		}
	}
	if name := rs.strategy(); name != "Flatten" && name != "Permute" {
		return fmt.Errorf("unknown input strategy: '%s'", name)
	}
	return nil
}

func (rs *ResourceSet) strategy() string {
	if rs.Spec.InputStrategy == nil || rs.Spec.InputStrategy.Name == "" {
		return "Flatten"
	}
	return rs.Spec.InputStrategy.Name
}

// providers picks the providers spec.inputsFrom names, in the
// ResourceSet's namespace, sorted as the operator sorts them.
func (rs *ResourceSet) providers(available []*Provider) ([]*Provider, error) {
	picked := map[string]*Provider{}
	for _, ref := range rs.Spec.InputsFrom {
		switch {
		case ref.Name != "":
			i := slices.IndexFunc(available, func(p *Provider) bool {
				return p.Metadata.Name == ref.Name && p.Metadata.Namespace == rs.Metadata.Namespace
			})
			if i < 0 {
				return nil, &NotRendered{Reason: fmt.Sprintf("its input provider %s/%s is not among the objects this root renders", rs.Metadata.Namespace, ref.Name)}
			}
			picked[available[i].ID()] = available[i]
		case ref.Selector != nil:
			sel, err := metav1.LabelSelectorAsSelector(ref.Selector)
			if err != nil {
				return nil, fmt.Errorf("failed to parse selector %s: %w", ref.Selector, err)
			}
			for _, p := range available {
				if p.Metadata.Namespace == rs.Metadata.Namespace && sel.Matches(labels.Set(p.Metadata.Labels)) {
					picked[p.ID()] = p
				}
			}
		default:
			return nil, errors.New("input provider reference must have either name or selector set")
		}
	}
	// All are of one kind and namespace: the operator's order is by name.
	out := slices.SortedFunc(maps.Values(picked), func(a, b *Provider) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	for _, p := range out {
		if p.Spec.Type != StaticProvider {
			return nil, &NotRendered{Reason: fmt.Sprintf("the inputs of its %s provider %s are known only in the cluster", p.Spec.Type, p.ID())}
		}
	}
	return out, nil
}

// source is a provider of input sets, the ResourceSet itself first.
type source struct {
	apiVersion, kind, name, namespace string
	sets                              []map[string]any
}

// inputs combines the input sets of the ResourceSet and its providers by
// its strategy. Each set names the provider it comes from.
func (rs *ResourceSet) inputs(providers []*Provider) ([]map[string]any, error) {
	own, err := decodeSets(rs.Spec.Inputs, "inputs")
	if err != nil {
		return nil, err
	}
	sources := []source{{apiVersion: rs.APIVersion, kind: Kind, name: rs.Metadata.Name, namespace: rs.Metadata.Namespace, sets: own}}
	for _, p := range providers {
		defaults, err := decodeValues(p.Spec.DefaultValues, "default values")
		if err != nil {
			return nil, fmt.Errorf("failed to get inputs from %s/%s: %w", ProviderKind, p.Metadata.Name, err)
		}
		// A Static provider exports its default values and an id: the
		// cluster's is the checksum of the object's UID, which only the
		// cluster knows; as the operator's CLI does, the checksum of its
		// name stands in.
		defaults["id"] = id(p.Metadata.Name)
		sources = append(sources, source{apiVersion: p.APIVersion, kind: ProviderKind, name: p.Metadata.Name, namespace: p.Metadata.Namespace, sets: []map[string]any{defaults}})
	}
	for _, s := range sources {
		for _, set := range s.sets {
			set["provider"] = map[string]any{"apiVersion": s.apiVersion, "kind": s.kind, "name": s.name, "namespace": s.namespace}
		}
	}
	if rs.strategy() == "Flatten" {
		var out []map[string]any
		for _, s := range sources {
			out = append(out, s.sets...)
		}
		return out, nil
	}
	return permute(sources, rs.Spec.InputStrategy.IncludeEmptyProviders)
}

// permute returns every combination of one set of each source, each set
// under its source's normalized name, with an id naming the combination.
func permute(sources []source, includeEmpty bool) ([]map[string]any, error) {
	var kept []source
	total := uint64(0)
	for _, s := range sources {
		if !includeEmpty && len(s.sets) == 0 {
			continue
		}
		if len(kept) == 0 {
			total = uint64(len(s.sets))
		} else {
			total *= uint64(len(s.sets))
		}
		if total > maxPermutations {
			return nil, fmt.Errorf("failed to get inputs from %s/%s: adding provider '%s' with %d inputs would exceed the maximum allowed permutations. max: %d, got: %d",
				s.kind, s.name, s.name, len(s.sets), maxPermutations, total)
		}
		if normalizeKey(s.name) == "" {
			return nil, fmt.Errorf("failed to get inputs from %s/%s: normalized provider name is empty: '%s'", s.kind, s.name, s.name)
		}
		kept = append(kept, s)
	}
	out := []map[string]any{}
	if len(kept) == 0 || slices.ContainsFunc(kept, func(s source) bool { return len(s.sets) == 0 }) {
		return out, nil
	}
	pick := make([]int, len(kept))
	for {
		perm := map[string]any{}
		parts := make([]string, len(kept))
		for i, s := range kept {
			key := normalizeKey(s.name)
			perm[key] = s.sets[pick[i]]
			parts[i] = fmt.Sprintf("%s=%d", key, pick[i])
		}
		perm["id"] = id(strings.Join(parts, "/"))
		out = append(out, perm)
		// The next combination, the last source turning fastest.
		i := len(kept) - 1
		for ; i >= 0; i-- {
			if pick[i]++; pick[i] < len(kept[i].sets) {
				break
			}
			pick[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// normalizeKey makes a provider's name a template key: lower case, words
// of [a-z0-9] joined by '_'.
func normalizeKey(name string) string {
	mapped := strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		switch {
		case unicode.IsSpace(r) || unicode.IsPunct(r):
			return '_'
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		}
		return -1
	}, name)
	return strings.Join(slices.DeleteFunc(strings.Split(mapped, "_"), func(w string) bool { return w == "" }), "_")
}

// id is the operator's short opaque id of a string.
func id(s string) string { return fmt.Sprint(adler32.Checksum([]byte(s))) }

func decodeSets(sets []map[string]json.RawMessage, what string) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(sets))
	for i, set := range sets {
		m, err := decodeValues(set, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// decodeValues decodes as the API server's JSON does: whole numbers as
// int64, so a template prints 3, not 3e+00.
func decodeValues(set map[string]json.RawMessage, what string) (map[string]any, error) {
	m := make(map[string]any, len(set))
	for k, raw := range set {
		var v any
		if err := kjson.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("failed to unmarshal %s: %w", what, err)
		}
		m[k] = v
	}
	return m, nil
}

// build renders the resources of each step (or of the spec, one anonymous
// step) for every input set. A resource two steps generate is an error.
func (rs *ResourceSet) build(inputs []map[string]any, b *budget) ([]*unstructured.Unstructured, error) {
	if len(rs.Spec.Steps) == 0 {
		return b.buildStep([]string{"spec"}, rs.Spec.ResourcesTemplate, rs.Spec.Resources, inputs)
	}
	var out []*unstructured.Unstructured
	stepOf := map[string]string{}
	for i, st := range rs.Spec.Steps {
		objects, err := b.buildStep([]string{"spec", "steps", strconv.Itoa(i)}, st.ResourcesTemplate, st.Resources, inputs)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Err = fmt.Errorf("step %q: %w", st.Name, e.Err)
				return nil, e
			}
			return nil, fmt.Errorf("step %q: %w", st.Name, err)
		}
		for _, o := range objects {
			key := objectKey(o)
			if prev, ok := stepOf[key]; ok && prev != st.Name {
				return nil, fmt.Errorf("duplicate resource %s in step %q, already defined in step %q", describe(o), st.Name, prev)
			}
			stepOf[key] = st.Name
		}
		out = append(out, objects...)
	}
	return out, nil
}

// buildStep renders each resource template for every input set, then the
// multi-document template for every input set. An object generated twice
// is kept once, the first; with inputs, one annotated as not reconciled
// is left out.
func (b *budget) buildStep(at []string, yamlTemplate string, resources []json.RawMessage, inputs []map[string]any) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	seen := map[string]bool{}
	add := func(o *unstructured.Unstructured, dedup bool) {
		key := objectKey(o)
		if dedup && seen[key] {
			return
		}
		seen[key] = true
		out = append(out, o)
	}
	for i, raw := range resources {
		text, err := yaml.JSONToYAML(raw)
		if err != nil {
			return nil, located(at, "resources", i, fmt.Errorf("failed to build resource: failed to convert template to YAML: %w", err))
		}
		if len(inputs) == 0 {
			o, err := b.buildObject(string(text), nil)
			if err != nil {
				return nil, located(at, "resources", i, fmt.Errorf("failed to build resource: %w", err))
			}
			add(o, false)
			continue
		}
		for _, set := range inputs {
			o, err := b.buildObject(string(text), set)
			if err != nil {
				return nil, located(at, "resources", i, fmt.Errorf("failed to build resources[%d]: %w", i, err))
			}
			if !excluded(o) {
				add(o, true)
			}
		}
	}
	if yamlTemplate == "" {
		return out, nil
	}
	var generated []*unstructured.Unstructured
	sets := inputs
	if len(sets) == 0 {
		sets = []map[string]any{nil}
	}
	for _, set := range sets {
		objs, err := b.buildObjects(yamlTemplate, set)
		if err != nil {
			if len(inputs) == 0 {
				return nil, located(at, "resourcesTemplate", -1, fmt.Errorf("failed to build resource: %w", err))
			}
			return nil, located(at, "resourcesTemplate", -1, fmt.Errorf("failed to build resources: %w", err))
		}
		generated = append(generated, objs...)
	}
	for _, o := range generated {
		if !excluded(o) {
			add(o, true)
		}
	}
	return out, nil
}

func excluded(o *unstructured.Unstructured) bool {
	return o.GetAnnotations()[reconcileAnnotation] == "disabled"
}

func (b *budget) buildObject(text string, set map[string]any) (*unstructured.Unstructured, error) {
	out, err := b.execute(text, set, "")
	if err != nil {
		return nil, err
	}
	o, err := ssautil.ReadObject(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("failed to read object: %w", err)
	}
	return o, nil
}

func (b *budget) buildObjects(text string, set map[string]any) ([]*unstructured.Unstructured, error) {
	out, err := b.execute(text, set, "multi-doc YAML ")
	if err != nil {
		return nil, err
	}
	objs, err := ssautil.ReadObjects(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("failed to read objects from multi-doc YAML: %w", err)
	}
	return objs, nil
}

// execute runs a template with the operator's delimiters and functions;
// inputs is the input set. what names the template in errors. A
// repository is not trusted: the output, the lists the template makes and
// the time it runs are bounded (the operator's are not), so a hostile
// template is an error, not a stalled CI job.
func (b *budget) execute(text string, set map[string]any, what string) ([]byte, error) {
	funcs := sprig.HermeticTxtFuncMap()
	b.bound(funcs)
	t, err := template.New("resourceset").
		Delims("<<", ">>").
		Funcs(funcs).
		Funcs(template.FuncMap{
			"slugify":    slugify,
			"inputs":     func() any { return set },
			"toYaml":     toYAML,
			"mustToYaml": mustToYAML,
		}).
		Option("missingkey=error").
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("failed to parse %stemplate: %w", what, err)
	}
	out := &limitedBuffer{left: b.bytes}
	done := make(chan error, 1)
	go func() { done <- t.Execute(out, nil) }()
	timer := time.NewTimer(b.time)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		// text/template cannot be stopped: its goroutine is left to end
		// with the process.
		err = fmt.Errorf("did not finish in %s", b.time)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to execute %stemplate: %w", what, err)
	}
	b.bytes = out.left
	return out.buf.Bytes(), nil
}

// budget is what the templates of one ResourceSet may use.
type budget struct {
	bytes int64         // output, all templates together
	items int           // one list made by until, untilStep or seq
	time  time.Duration // one template's run
}

// Limits bound what the templates of one ResourceSet may make; a zero
// field takes its default, far above what a real ResourceSet needs.
type Limits struct {
	// Bytes bounds the output of all its templates together (64 MiB).
	Bytes int64
	// Time bounds the run of one template (30 s).
	Time time.Duration
}

const (
	defaultBytes = 64 << 20
	defaultTime  = 30 * time.Second
	maxListItems = 100000
)

func newBudget(lim Limits) *budget {
	b := &budget{bytes: lim.Bytes, items: maxListItems, time: lim.Time}
	if b.bytes <= 0 {
		b.bytes = defaultBytes
	}
	if b.time <= 0 {
		b.time = defaultTime
	}
	return b
}

// bound wraps the functions of funcs that can allocate without limit.
func (b *budget) bound(funcs template.FuncMap) {
	tooMany := func(n int) error {
		return fmt.Errorf("a list of %d items is past the limit of %d", n, b.items)
	}
	span := func(from, to, step int) int {
		if step == 0 {
			return 0
		}
		return abs(to-from) / abs(step)
	}
	until := funcs["until"].(func(int) []int)
	funcs["until"] = func(n int) ([]int, error) {
		if abs(n) > b.items {
			return nil, tooMany(abs(n))
		}
		return until(n), nil
	}
	untilStep := funcs["untilStep"].(func(int, int, int) []int)
	funcs["untilStep"] = func(start, stop, step int) ([]int, error) {
		if n := span(start, stop, step); n > b.items {
			return nil, tooMany(n)
		}
		return untilStep(start, stop, step), nil
	}
	seq := funcs["seq"].(func(...int) string)
	funcs["seq"] = func(params ...int) (string, error) {
		if len(params) > 0 && len(params) <= 3 {
			from, to := 1, params[0]
			if len(params) > 1 {
				from, to = params[0], params[len(params)-1]
			}
			if n := abs(to - from); n > b.items {
				return "", tooMany(n)
			}
		}
		return seq(params...), nil
	}
	funcs["repeat"] = func(count int, s string) (string, error) {
		if count > 0 && len(s) > 0 && int64(count) > b.bytes/int64(len(s)) {
			return "", fmt.Errorf("repeat: %d times %d bytes is past the limit of %d bytes", count, len(s), b.bytes)
		}
		return strings.Repeat(s, max(count, 0)), nil
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// limitedBuffer fails a write past its limit, which ends the template.
type limitedBuffer struct {
	buf  bytes.Buffer
	left int64
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if int64(len(p)) > w.left {
		return 0, errors.New("the output is past the limit")
	}
	w.left -= int64(len(p))
	return w.buf.Write(p)
}

// slugLength is the longest slug: a label value's limit.
const slugLength = 63

// slugify is slug.Make as the operator configures it, cut to 63
// characters at the last dash that fits (at 63 when there is none). The
// operator sets the slug package's globals for that; this cuts the
// default result the same way instead.
func slugify(s string) string {
	out := slug.Make(s)
	if len(out) <= slugLength {
		return out
	}
	if i := strings.LastIndexByte(out[:slugLength+1], '-'); i >= 0 {
		return out[:i]
	}
	return out[:slugLength]
}

func toYAML(v any) string {
	s, _ := mustToYAML(v)
	return s
}

func mustToYAML(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// objectKey is an object's identity on a cluster: group, kind, namespace
// and name.
func objectKey(o *unstructured.Unstructured) string {
	return strings.Join([]string{o.GroupVersionKind().Group, o.GetKind(), o.GetNamespace(), o.GetName()}, "/")
}

// describe names an object as Flux's messages do: Kind/namespace/name.
func describe(o *unstructured.Unstructured) string { return ssautil.FmtUnstructured(o) }
