package schema

import (
	"math"
	"reflect"
	"regexp"
	"sync"
	"unicode/utf8"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// fastNode is a schema compiled for a quick yes-or-no check that follows
// kube-openapi's validator rule for rule, without building results or
// sub-validators. It errs on one side only: when it says valid,
// kube-openapi finds no error; when it says invalid (or meets something it
// does not mirror), the object goes through kube-openapi, whose errors are
// what gets reported. Most objects are valid, so most never pay for the
// full validator.
type fastNode struct {
	// unsupported marks a schema that uses what the quick check does not
	// mirror (patternProperties, uniqueItems, tuple items, dependencies):
	// any value is sent to the full validator.
	unsupported bool

	types     []string
	format    string
	formatOK  func(string) bool // nil when the format is not a known string format
	nullable  bool
	enum      []any
	enumStrs  map[string]bool // the enum, when every value is a string
	maxLength *int64
	minLength *int64
	pattern   *regexp.Regexp
	badRegexp bool

	maximum, minimum      *float64
	exclusiveMax, exclMin bool
	multipleOf            *float64
	numType, numFormat    string // as kube-openapi's numberValidator
	maxItems, minItems    *int64
	maxProps, minProps    *int64
	required              []string
	props                 map[string]*fastNode
	noAdditional          bool // additionalProperties: false
	additional            *fastNode
	items                 *fastNode
	allOf, anyOf, oneOf   []*fastNode
	not                   *fastNode

	// expand sets the nodes below on first use.
	expand func(*fastNode)
	once   sync.Once
}

// kids returns n with the nodes below it compiled.
func (n *fastNode) kids() *fastNode {
	if n.expand != nil {
		n.once.Do(func() { n.expand(n) })
	}
	return n
}

// newFastNode compiles s, whose references are resolved.
func newFastNode(s *spec.Schema, formats strfmt.Registry) *fastNode {
	return newFastNodeWith(s, formats, func(c *spec.Schema) *fastNode { return newFastNode(c, formats) })
}

// newFastNodeWith compiles s, and with child each schema below it, when
// the check first needs them.
func newFastNodeWith(s *spec.Schema, formats strfmt.Registry, child func(*spec.Schema) *fastNode) *fastNode {
	n := &fastNode{
		types:        s.Type,
		format:       s.Format,
		nullable:     s.Nullable,
		enum:         s.Enum,
		maxLength:    s.MaxLength,
		minLength:    s.MinLength,
		maximum:      s.Maximum,
		minimum:      s.Minimum,
		exclusiveMax: s.ExclusiveMaximum,
		exclMin:      s.ExclusiveMinimum,
		multipleOf:   s.MultipleOf,
		maxItems:     s.MaxItems,
		minItems:     s.MinItems,
		maxProps:     s.MaxProperties,
		minProps:     s.MinProperties,
		required:     s.Required,
	}
	if len(s.PatternProperties) > 0 || s.UniqueItems || len(s.Dependencies) > 0 || s.AdditionalItems != nil ||
		(s.Items != nil && len(s.Items.Schemas) > 0) {
		n.unsupported = true
		return n
	}
	if s.Format != "" && formats.ContainsName(s.Format) {
		name := s.Format
		n.formatOK = func(v string) bool { return formats.Validates(name, v) }
	}
	if len(s.Enum) > 0 {
		n.enumStrs = make(map[string]bool, len(s.Enum))
		for _, e := range s.Enum {
			str, ok := e.(string)
			if !ok {
				n.enumStrs = nil
				break
			}
			n.enumStrs[str] = true
		}
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			n.badRegexp = true
		}
		n.pattern = re
	}
	if len(s.Type) == 1 {
		switch s.Type[0] {
		case "integer":
			n.numType = "integer"
			if s.Format == "int32" || s.Format == "int64" {
				n.numFormat = s.Format
			}
		case "number":
			n.numType = "number"
			if s.Format == "float" || s.Format == "double" {
				n.numFormat = s.Format
			}
		}
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Schema == nil && !ap.Allows {
		n.noAdditional = true
	}
	n.expand = func(n *fastNode) {
		if len(s.Properties) > 0 {
			n.props = make(map[string]*fastNode, len(s.Properties))
			for k := range s.Properties {
				p := s.Properties[k]
				n.props[k] = child(&p)
			}
		}
		if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
			n.additional = child(ap.Schema)
		}
		if s.Items != nil && s.Items.Schema != nil {
			n.items = child(s.Items.Schema)
		}
		for _, l := range []struct {
			in  []spec.Schema
			out *[]*fastNode
		}{{s.AllOf, &n.allOf}, {s.AnyOf, &n.anyOf}, {s.OneOf, &n.oneOf}} {
			for i := range l.in {
				*l.out = append(*l.out, child(&l.in[i]))
			}
		}
		if s.Not != nil {
			n.not = child(s.Not)
		}
	}
	return n
}

// valid reports whether kube-openapi would find x valid against n; false
// may also mean "not sure". A map entry whose value is null, and whose
// schema is not nullable, counts as absent, as the API server drops it
// before validating.
func (n *fastNode) valid(x any) bool {
	if n.unsupported || n.badRegexp {
		return false
	}
	n.kids()
	if x == nil {
		// kube-openapi checks only the type and the enum of a null.
		if len(n.types) > 0 && !n.nullable && !containsType(n.types, "null") {
			return false
		}
		return len(n.enum) == 0 && n.validProps(x)
	}
	if !n.validType(x) || !n.validProps(x) || !n.validEnum(x) {
		return false
	}
	switch v := x.(type) {
	case string:
		return n.validString(v)
	case float64:
		return n.validNumber(v)
	case int64:
		return n.validNumber(float64(v)) && (v < 1<<53 && v > -(1<<53))
	case int:
		return n.validNumber(float64(v)) && (v < 1<<53 && v > -(1<<53))
	case bool:
		return true
	case map[string]any:
		return n.validObject(v)
	case []any:
		return n.validArray(v)
	}
	return false // anything else (json.Number, typed values) goes the long way
}

// jsonType names the JSON type of a decoded value, as kube-openapi's
// schemaInfoForType does, with the format it infers.
func jsonType(x any) (typ, format string) {
	switch x.(type) {
	case string:
		return "string", ""
	case bool:
		return "boolean", ""
	case float64:
		return "number", "double"
	case int64, int:
		return "integer", "int64"
	case map[string]any:
		return "object", ""
	case []any:
		return "array", ""
	}
	return "", ""
}

func containsType(types []string, t string) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// validType mirrors kube-openapi's typeValidator.
func (n *fastNode) validType(x any) bool {
	if len(n.types) == 0 && n.format == "" {
		return true
	}
	schType, format := jsonType(x)
	if schType == "" {
		return false
	}
	isFloatInt := false
	if f, ok := x.(float64); ok && schType == "number" {
		isFloatInt = f == math.Trunc(f) && !math.IsInf(f, 0) && containsType(n.types, "integer")
	}
	isIntFloat := schType == "integer" && containsType(n.types, "number")
	isString := schType == "string"
	isSlice := schType == "array"
	if !isString && !isSlice && n.format != "" &&
		!(containsType(n.types, schType) || format == n.format || isFloatInt || isIntFloat) {
		return false
	}
	if !(containsType(n.types, "number") || containsType(n.types, "integer")) && n.format != "" && (isString || isSlice) {
		return true
	}
	return containsType(n.types, schType) || isFloatInt || isIntFloat
}

// validEnum mirrors kube-openapi's basicCommonValidator.
func (n *fastNode) validEnum(x any) bool {
	if len(n.enum) == 0 {
		return true
	}
	if s, ok := x.(string); ok && n.enumStrs != nil {
		return n.enumStrs[s]
	}
	val := reflect.ValueOf(x)
	for _, e := range n.enum {
		t := reflect.TypeOf(e)
		if t != nil && val.IsValid() && val.Type().ConvertibleTo(t) && reflect.DeepEqual(val.Convert(t).Interface(), e) {
			return true
		}
	}
	return false
}

// validProps mirrors allOf, anyOf, oneOf and not.
func (n *fastNode) validProps(x any) bool {
	for _, s := range n.allOf {
		if !s.valid(x) {
			return false
		}
	}
	if len(n.anyOf) > 0 {
		ok := false
		for _, s := range n.anyOf {
			if s.valid(x) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(n.oneOf) > 0 {
		count := 0
		for _, s := range n.oneOf {
			if s.valid(x) {
				count++
			}
		}
		if count != 1 {
			return false
		}
	}
	if n.not != nil {
		// "valid" may mean "not sure": only a clear pass of the negated
		// schema can be trusted, so a not is always checked the long way.
		return false
	}
	return true
}

func (n *fastNode) validString(s string) bool {
	if n.maxLength != nil || n.minLength != nil {
		l := int64(utf8.RuneCountInString(s))
		if (n.maxLength != nil && l > *n.maxLength) || (n.minLength != nil && l < *n.minLength) {
			return false
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	if n.formatOK != nil && !n.formatOK(s) {
		return false
	}
	return true
}

// validNumber mirrors kube-openapi's numberValidator, keeping to values
// whose range checks agree for certain.
func (n *fastNode) validNumber(f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	switch n.numType {
	case "integer":
		if f != math.Trunc(f) {
			return false
		}
		limit := float64(1 << 53) // exact in float64, inside int64
		if n.numFormat == "int32" {
			limit = math.MaxInt32
			if f < math.MinInt32 {
				return false
			}
		}
		if f > limit || f < -float64(1<<53) {
			return false
		}
	case "number":
		if n.numFormat == "float" && math.Abs(f) > math.MaxFloat32 {
			return false
		}
	}
	if n.multipleOf != nil {
		if *n.multipleOf <= 0 {
			return false
		}
		q := f / *n.multipleOf
		if q != math.Trunc(q) {
			return false
		}
	}
	if n.maximum != nil && (f > *n.maximum || (n.exclusiveMax && f == *n.maximum)) {
		return false
	}
	if n.minimum != nil && (f < *n.minimum || (n.exclMin && f == *n.minimum)) {
		return false
	}
	return true
}

func (n *fastNode) validObject(m map[string]any) bool {
	l := int64(len(m))
	if (n.maxProps != nil && l > *n.maxProps) || (n.minProps != nil && l < *n.minProps) {
		return false
	}
	for _, r := range n.required {
		v, ok := m[r]
		if !ok {
			return false
		}
		if v == nil {
			if p := n.props[r]; p == nil || !p.nullable {
				return false // dropped by the server, then missing
			}
		}
	}
	for k, v := range m {
		p, ok := n.props[k]
		if !ok {
			if n.noAdditional {
				return false
			}
			p = n.additional
			if p == nil {
				continue
			}
		}
		if v == nil && !p.nullable {
			continue // dropped by the server
		}
		if !p.valid(v) {
			return false
		}
	}
	return true
}

func (n *fastNode) validArray(a []any) bool {
	l := int64(len(a))
	if (n.maxItems != nil && l > *n.maxItems) || (n.minItems != nil && l < *n.minItems) {
		return false
	}
	if n.items == nil {
		return true
	}
	for _, e := range a {
		if !n.items.valid(e) {
			return false
		}
	}
	return true
}

// failure is a place where a value fails its schema while every value
// under it passes.
type failure struct {
	path  Path
	node  *fastNode
	value any
}

// failing appends to out the failures of x, found at at, against n: the
// deepest places whose value fails the quick check.
func (n *fastNode) failing(x any, at Path, out []failure) []failure {
	if n.valid(x) {
		return out
	}
	n.kids()
	before := len(out)
	switch v := x.(type) {
	case map[string]any:
		for k, val := range v {
			child, ok := n.props[k]
			if !ok {
				child = n.additional
			}
			if child != nil && val != nil {
				out = child.failing(val, at.append(Key(k)), out)
			}
		}
	case []any:
		if n.items != nil {
			for i, e := range v {
				out = n.items.failing(e, at.append(Index(i)), out)
			}
		}
	}
	if len(out) == before {
		out = append(out, failure{path: at, node: n, value: x})
	}
	return out
}
