package schema

import (
	"context"
	"fmt"

	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// Validate checks obj, a Kubernetes object as decoded from YAML or JSON,
// against the schema of its apiVersion and kind. It returns NoSchema, and
// no violations, when v knows no schema for the kind. obj is not changed.
func (v *Validator) Validate(obj map[string]any) (violations []Violation, status Status) {
	defer func() {
		// The API server's validators are not meant to panic; should one,
		// the object gets a violation rather than the caller a crash.
		if r := recover(); r != nil {
			violations = append(violations, Violation{Reason: ReasonInvalid, Message: field.InternalError(nil, fmt.Errorf("validating: %v", r)).Error()})
			status = Validated
		}
	}()
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		var out []Violation
		for _, f := range []string{"apiVersion", "kind"} {
			if s, _ := obj[f].(string); s == "" {
				out = append(out, Violation{Path: Path{Key(f)}, Reason: ReasonRequired, Message: field.Required(field.NewPath(f), "").Error()})
			}
		}
		return out, Validated
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return []Violation{{
			Path:    Path{Key("apiVersion")},
			Reason:  ReasonInvalid,
			Message: field.Invalid(field.NewPath("apiVersion"), apiVersion, err.Error()).Error(),
		}}, Validated
	}
	c, err := v.lookupKind(gv.WithKind(kind))
	if err != nil {
		// A schema that does not compile (a CRD whose rules do not, say)
		// is reported on the object rather than dropped.
		return []Violation{{Reason: ReasonInvalid, Message: field.InternalError(nil, err).Error()}}, Validated
	}
	if c == nil {
		return nil, NoSchema
	}
	out := v.check(c, obj, nil)
	sortViolations(out)
	return out, Validated
}

// check validates value, found at prefix in the object, against c.
func (v *Validator) check(c *compiled, value any, prefix Path) []Violation {
	w := walker{v: v}
	w.path = append(w.buf[:0], prefix...)
	w.walk(c.root, value)
	out := w.out

	// What the API server validates is decoded from JSON and has, for a
	// CRD, its nulls dropped and its defaults applied: do all that on a
	// copy. CEL rules, which see int64 and float64 apart, need the copy.
	data := value
	copied := false
	if c.crd != nil && (w.nulls || c.crd.hasDefaults || c.crd.cel != nil) {
		data, copied = normalizedCopy(value), true
		prepareCRDData(c.crd, data)
	}
	blocking := false
	if !c.fast.valid(data) {
		if !copied {
			data = normalizedCopy(value)
			if c.crd != nil {
				prepareCRDData(c.crd, data)
			} else {
				// The Go types of a built-in kind ignore a null field.
				pruneNulls(c.root, data)
			}
		}
		schema, err := c.schema()
		if err != nil {
			return append(out, Violation{Path: prefix, Reason: ReasonInvalid, Message: field.InternalError(nil, err).Error()})
		}
		sv := validate.NewSchemaValidator(schema, nil, prefix.apiString(), c.formats)
		var schemaErrs []Violation
		schemaErrs, blocking = openAPIViolations(sv, c, data, prefix)
		out = append(out, schemaErrs...)
	}
	if c.crd != nil {
		out = append(out, v.checkCRD(c.crd, data, blocking)...)
	}
	for _, sub := range w.subs {
		out = append(out, v.checkDefinition(sub.def, sub.value, sub.path)...)
	}
	return out
}

// prepareCRDData does to data, in place, what the API server does to a
// custom resource before validating it: drop the nulls of fields that are
// not nullable and have no default, then apply defaults.
func prepareCRDData(c *crdSchema, data any) {
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(data, c.structural)
	structuraldefaulting.Default(data, c.structural)
}

// gvkOf returns the group, version and kind obj declares; empty parts when
// it declares none or an apiVersion that does not parse.
func gvkOf(obj map[string]any) schema.GroupVersionKind {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionKind{Kind: kind}
	}
	return gv.WithKind(kind)
}

// checkCRD runs what the API server runs for a custom resource beyond its
// OpenAPI schema: the metadata of embedded resources, list-type
// invariants and the CEL rules. As the server does, the rules run only
// when nothing more basic failed (blocking says the schema check did).
func (v *Validator) checkCRD(c *crdSchema, data any, blocking bool) []Violation {
	root, ok := data.(map[string]any)
	if !ok {
		return nil
	}
	var out []Violation
	for _, e := range schemaobjectmeta.Validate(context.Background(), nil, root, c.structural, false) {
		blocking = blocking || blocksCEL(e)
		out = append(out, fromFieldError(e, ReasonInvalid, data, nil))
	}
	for _, e := range structurallisttype.ValidateListSetsAndMaps(nil, c.structural, root) {
		blocking = blocking || blocksCEL(e)
		reason := ReasonInvalid
		if e.Type == field.ErrorTypeDuplicate {
			reason = ReasonUnique
		}
		out = append(out, fromFieldError(e, reason, data, nil))
	}
	if c.cel == nil || blocking {
		return out
	}
	errs, _ := c.cel.Validate(context.Background(), nil, c.structural, root, nil, celconfig.RuntimeCELCostBudget)
	for _, e := range errs {
		out = append(out, fromFieldError(e, ReasonCEL, data, nil))
	}
	return out
}

// checkDefinition validates value, found at path, against an embedded
// definition on its own.
func (v *Validator) checkDefinition(def string, value any, path Path) []Violation {
	c, err := v.lookupDefinition(def)
	if err != nil {
		return []Violation{{Path: path, Reason: ReasonInvalid, Message: field.InternalError(nil, err).Error()}}
	}
	return v.check(c, value, path)
}
