package schema

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
)

// objectMetaDef names the schema of metadata in the embedded data.
const objectMetaDef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

// compiled is everything Validate needs for one kind, or for one
// definition checked on its own.
type compiled struct {
	// schema returns the schema with every reference resolved, for
	// kube-openapi's validator: only a value that fails the quick check
	// needs it, and a built-in kind's is resolved then (inlined), once.
	schema func() (*spec.Schema, error)
	// root drives the walk that finds unknown fields, nulls and the values
	// to check against another definition.
	root *node
	// fast is the quick check that spares valid objects the full validator.
	fast *fastNode
	// crd is set for kinds defined by a CRD.
	crd *crdSchema
	// formats are the string formats the schema's values are checked
	// against.
	formats strfmt.Registry
}

// crdSchema is what the API server derives from one version of a CRD.
type crdSchema struct {
	structural  *structuralschema.Structural
	cel         *cel.Validator // nil when the schema has no rules
	hasDefaults bool
}

// node is the part of a schema the walk needs.
type node struct {
	// props and additional are set by expand, when there is one, on the
	// walk's first visit: a built-in kind's schema reaches hundreds of
	// definitions, an object a few dozen.
	expand     func(*node)
	once       sync.Once
	props      map[string]*node
	additional *node // schema of the values of other keys; nil when none
	items      *node
	// preserve keeps fields the schema does not declare
	// (x-kubernetes-preserve-unknown-fields, or a built-in object with no
	// declared fields, which the Go types decode as free-form).
	preserve bool
	// closed makes a key that is neither a property nor allowed by
	// additional an unknown field.
	closed bool
	// embedded marks an x-kubernetes-embedded-resource: apiVersion, kind
	// and metadata are the API server's business, metadata being an
	// ObjectMeta.
	embedded bool
	nullable bool
	// leaf says the walk finds nothing below: a scalar, or a free-form
	// value.
	leaf bool
	// ref, when set, names a definition to check the value against on its
	// own: the schema is recursive there.
	ref string
}

// children returns n with its props and additional set.
func (n *node) children() *node {
	if n.expand != nil {
		n.once.Do(func() { n.expand(n) })
	}
	return n
}

// anyNode returns a node that accepts any value.
func anyNode() *node { return &node{preserve: true, leaf: true} }

// setLeaf sets n.leaf from the rest of n.
func (n *node) setLeaf() {
	n.leaf = n.ref == "" && len(n.props) == 0 && n.additional == nil && !n.closed && !n.embedded &&
		n.items != nil && n.items.leaf
}

// lookupKind returns the compiled schema of gvk, compiling it the first
// time, or nil when v knows no schema for it.
func (v *Validator) lookupKind(gvk schema.GroupVersionKind) (*compiled, error) {
	v.mu.RLock()
	once, ok := v.kinds[gvk]
	v.mu.RUnlock()
	if !ok {
		v.mu.Lock()
		if once, ok = v.kinds[gvk]; !ok {
			build := v.kindBuilder(gvk)
			if build == nil {
				v.mu.Unlock()
				return nil, nil
			}
			once = &compileOnce{build: build}
			v.kinds[gvk] = once
		}
		v.mu.Unlock()
	}
	return once.get()
}

// kindBuilder returns the function that compiles gvk's schema, or nil.
// v.mu is held.
func (v *Validator) kindBuilder(gvk schema.GroupVersionKind) func() (*compiled, error) {
	if k, ok := v.builtins[gvk]; ok {
		return func() (*compiled, error) { return v.compileDefinition(k.Definition) }
	}
	if info, ok := v.crd(gvk.GroupKind()); ok && info.served(gvk.Version) {
		return func() (*compiled, error) { return info.compile(gvk.Version, v.crdFormats) }
	}
	return nil
}

// lookupDefinition returns a definition compiled on its own, for the
// values the walk checks apart.
func (v *Validator) lookupDefinition(name string) (*compiled, error) {
	v.mu.RLock()
	once, ok := v.compDefs[name]
	v.mu.RUnlock()
	if !ok {
		v.mu.Lock()
		if once, ok = v.compDefs[name]; !ok {
			once = &compileOnce{build: func() (*compiled, error) { return v.compileDefinition(name) }}
			v.compDefs[name] = once
		}
		v.mu.Unlock()
	}
	return once.get()
}

// compileDefinition compiles one embedded definition. The walk's nodes and
// the quick check's follow references as inline does, a level at a time
// when first used; the schema for kube-openapi is inlined when a value
// first fails the quick check. A reference back to a definition already
// being resolved on the way down (JSONSchemaProps holds JSONSchemaProps)
// becomes a node that checks the value against that definition on its
// own.
func (v *Validator) compileDefinition(name string) (*compiled, error) {
	top := &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + name)}}
	if _, err := v.definition(name); err != nil {
		return nil, err
	}
	return &compiled{
		root:    v.lazyNode(top, nil),
		fast:    v.lazyFast(top, nil),
		formats: v.formats,
		schema: sync.OnceValues(func() (*spec.Schema, error) {
			s, _, err := v.inline(top, nil)
			return s, err
		}),
	}, nil
}

// resolve follows s's reference, as inline does: it returns the schema
// to compile and the definitions being resolved on the way down, with
// cycle set when the reference leads back to one of them, and ok false
// when it names no definition.
func (v *Validator) resolve(s *spec.Schema, stack []string) (out *spec.Schema, down []string, name string, cycle, ok bool) {
	ref := s.Ref.String()
	if ref == "" {
		return s, stack, "", false, true
	}
	name = strings.TrimPrefix(ref, "#/definitions/")
	if slices.Contains(stack, name) {
		return nil, stack, name, true, true
	}
	def, err := v.definition(name)
	if err != nil {
		return nil, stack, name, false, false
	}
	// A fresh slice: a child compiled later must not see a sibling's
	// way down.
	return v.resolve(def, append(stack[:len(stack):len(stack)], name))
}

// lazyNode is the walk's node of s, as inline builds it, its children
// built on first use.
func (v *Validator) lazyNode(s *spec.Schema, stack []string) *node {
	s, stack, name, cycle, ok := v.resolve(s, stack)
	switch {
	case cycle:
		return &node{preserve: true, ref: name, items: anyNode()}
	case !ok:
		// Not in the data: the quick check sends the value to
		// kube-openapi, whose schema then does not resolve.
		return anyNode()
	}
	n := &node{nullable: s.Nullable, items: anyNode()}
	if s.Items != nil && s.Items.Schema != nil {
		n.items = v.lazyNode(s.Items.Schema, stack)
	}
	ap := s.AdditionalProperties
	fields := len(s.Properties) > 0
	other := ap != nil && (ap.Schema != nil || ap.Allows)
	n.preserve, n.closed, n.embedded = objectShape(s, fields, other)
	n.leaf = !fields && !other && !n.closed && !n.embedded && n.items.leaf
	if fields || other {
		n.expand = func(n *node) {
			if fields {
				n.props = make(map[string]*node, len(s.Properties))
				for k, p := range s.Properties {
					n.props[k] = v.lazyNode(&p, stack)
				}
			}
			switch {
			case ap == nil:
			case ap.Schema != nil:
				n.additional = v.lazyNode(ap.Schema, stack)
			case ap.Allows:
				n.additional = anyNode()
			}
		}
	}
	return n
}

// lazyFast is the quick check's node of s, as newFastNode compiles the
// schema inline resolves, its children compiled on first use.
func (v *Validator) lazyFast(s *spec.Schema, stack []string) *fastNode {
	s, stack, _, cycle, ok := v.resolve(s, stack)
	switch {
	case cycle:
		return newFastNode(&spec.Schema{}, v.formats)
	case !ok:
		return &fastNode{unsupported: true}
	}
	return newFastNodeWith(s, v.formats, func(c *spec.Schema) *fastNode { return v.lazyFast(c, stack) })
}

// definition parses an embedded definition once.
func (v *Validator) definition(name string) (*spec.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.parsed[name]; ok {
		return s, nil
	}
	raw, ok := v.defs[name]
	if !ok {
		return nil, fmt.Errorf("no definition %s in the Kubernetes %s schemas", name, v.version)
	}
	s := new(spec.Schema)
	// Its own decoder, without encoding/json's scan of the text first.
	if err := s.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("decoding definition %s: %w", name, err)
	}
	v.parsed[name] = s
	return s, nil
}

// inline returns a copy of s with references resolved, and its node.
// stack holds the definitions being resolved on the way down.
func (v *Validator) inline(s *spec.Schema, stack []string) (*spec.Schema, *node, error) {
	if ref := s.Ref.String(); ref != "" {
		name := strings.TrimPrefix(ref, "#/definitions/")
		for _, onStack := range stack {
			if onStack == name {
				return &spec.Schema{}, &node{preserve: true, ref: name, items: anyNode()}, nil
			}
		}
		def, err := v.definition(name)
		if err != nil {
			return nil, nil, err
		}
		return v.inline(def, append(stack, name))
	}
	out := *s
	n := &node{nullable: s.Nullable}
	if len(s.Properties) > 0 {
		out.Properties = make(map[string]spec.Schema, len(s.Properties))
		n.props = make(map[string]*node, len(s.Properties))
		for k, p := range s.Properties {
			ps, pn, err := v.inline(&p, stack)
			if err != nil {
				return nil, nil, err
			}
			out.Properties[k] = *ps
			n.props[k] = pn
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		out.AdditionalProperties = &spec.SchemaOrBool{Allows: ap.Allows}
		switch {
		case ap.Schema != nil:
			as, an, err := v.inline(ap.Schema, stack)
			if err != nil {
				return nil, nil, err
			}
			out.AdditionalProperties.Schema = as
			n.additional = an
		case ap.Allows:
			n.additional = anyNode()
		}
	}
	n.items = anyNode()
	if s.Items != nil && s.Items.Schema != nil {
		is, in, err := v.inline(s.Items.Schema, stack)
		if err != nil {
			return nil, nil, err
		}
		out.Items = &spec.SchemaOrArray{Schema: is}
		n.items = in
	}
	for _, list := range []*[]spec.Schema{&out.AllOf, &out.AnyOf, &out.OneOf} {
		if len(*list) == 0 {
			continue
		}
		resolved := make([]spec.Schema, len(*list))
		for i := range *list {
			rs, _, err := v.inline(&(*list)[i], stack)
			if err != nil {
				return nil, nil, err
			}
			resolved[i] = *rs
		}
		*list = resolved
	}
	if s.Not != nil {
		ns, _, err := v.inline(s.Not, stack)
		if err != nil {
			return nil, nil, err
		}
		out.Not = ns
	}
	n.preserve, n.closed, n.embedded = objectShape(s, len(n.props) > 0, n.additional != nil)
	n.setLeaf()
	return &out, n, nil
}

// objectShape is what the walk knows of a built-in schema's object, from
// whether it declares fields and takes other keys: whether it keeps
// fields it does not declare, calls them unknown, and is an embedded
// resource.
func objectShape(s *spec.Schema, fields, other bool) (preserve, closed, embedded bool) {
	preserve, _ = s.Extensions.GetBool("x-kubernetes-preserve-unknown-fields")
	// The Go types behind an object without declared fields (RawExtension,
	// JSON) take anything; scalars have no fields.
	isObject := len(s.Type) == 0 || s.Type.Contains("object")
	preserve = preserve || !isObject || (!fields && !other)
	embedded, _ = s.Extensions.GetBool("x-kubernetes-embedded-resource")
	return preserve, !preserve && !other, embedded
}

// structuralNode builds the walk's node for a CRD's structural schema, with
// the pruning algorithm's view of unknown fields: an object that declares
// no fields and does not preserve unknown ones has none.
func structuralNode(s *structuralschema.Structural) *node {
	if s == nil {
		return nil
	}
	n := &node{
		preserve: s.XPreserveUnknownFields,
		embedded: s.XEmbeddedResource,
		nullable: s.Nullable,
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*node, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			n.props[k] = structuralNode(&p)
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		switch {
		case ap.Structural != nil:
			n.additional = structuralNode(ap.Structural)
		case ap.Bool:
			n.additional = anyNode()
		}
	}
	n.items = structuralNode(s.Items)
	// Scalars get a type error for a map; pruning would also call each of
	// its keys unknown, which says nothing more.
	isObject := s.Type == "object" || (s.Type == "" && !s.XIntOrString)
	n.closed = !n.preserve && n.additional == nil && isObject
	n.setLeaf()
	return n
}
