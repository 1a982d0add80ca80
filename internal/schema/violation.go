package schema

import (
	"fmt"
	"strings"

	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// Reason is a short, stable name for the kind of a Violation.
type Reason string

// The reasons a Violation can have.
const (
	// ReasonUnknownField: a field the schema does not declare.
	ReasonUnknownField Reason = "unknown-field"
	// ReasonType: a value of the wrong JSON type.
	ReasonType Reason = "type"
	// ReasonRequired: a required field is missing.
	ReasonRequired Reason = "required"
	// ReasonEnum: a value outside the schema's enum.
	ReasonEnum Reason = "enum"
	// ReasonFormat: a string that does not parse as its format says
	// (date-time, byte, quantity, ...).
	ReasonFormat Reason = "format"
	// ReasonPattern: a string that does not match the schema's pattern.
	ReasonPattern Reason = "pattern"
	// ReasonMax: above a maximum, or too long, or too many items or
	// properties.
	ReasonMax Reason = "max"
	// ReasonMin: below a minimum, or too short, or too few items or
	// properties.
	ReasonMin Reason = "min"
	// ReasonUnique: duplicate items in a list whose items must be unique,
	// or duplicate keys in an x-kubernetes-list-type map or set.
	ReasonUnique Reason = "unique"
	// ReasonCEL: an x-kubernetes-validations rule of a CRD failed.
	ReasonCEL Reason = "cel"
	// ReasonInvalid: any other violation (multipleOf, oneOf, anyOf, not, an
	// embedded object's metadata, a missing apiVersion or kind).
	ReasonInvalid Reason = "invalid"
)

// Violation is one way an object breaks its schema.
type Violation struct {
	// Path is where, from the object's root; empty for the object itself.
	Path Path
	// Reason is the kind of violation.
	Reason Reason
	// Message is the API server's wording, path first:
	// `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
	Message string
}

// String returns the message.
func (v Violation) String() string { return v.Message }

// fromFieldError turns an API server field error into a Violation; value is
// the object (or sub-object, at prefix) its path points into.
func fromFieldError(err *field.Error, reason Reason, value any, prefix Path) Violation {
	return Violation{Path: prefix.append(relPath(err, value, prefix)...), Reason: reason, Message: err.Error()}
}

// relPath is where err points in value, which is at prefix in the object.
func relPath(err *field.Error, value any, prefix Path) Path {
	return parsePath(value, strings.TrimPrefix(strings.TrimPrefix(err.Field, prefix.apiString()), "."))
}

// openAPIViolations validates data, found at prefix in the object, with
// sv and returns the field errors apiextensions-apiserver's
// ValidateCustomResource makes of the result, as Violations. Each field
// error keeps the server's path and wording; its Reason comes from the
// kube-openapi error it was made from (the server makes exactly one of
// each, in order). The server reports a failed anyOf, oneOf or not, and a
// number outside its format's range, at the object's root: such an error
// is placed where the schema's own check fails, when that is one place.
// blocking reports whether one of the errors makes the server skip CEL
// rules.
func openAPIViolations(sv *validate.SchemaValidator, c *compiled, data any, prefix Path) (out []Violation, blocking bool) {
	run := &recordingValidator{sv: sv}
	errs := apiservervalidation.ValidateCustomResource(nil, data, run)
	if len(errs) == 0 {
		return nil, false
	}
	if run.result == nil || len(run.result.Errors) != len(errs) {
		// Not the one-to-one mapping this relies on: keep the server's
		// errors, with their types only.
		run.result = nil
	}
	var failures []failure
	located := false
	for i, fe := range errs {
		blocking = blocking || blocksCEL(fe)
		var source error
		if run.result != nil {
			source = run.result.Errors[i]
		}
		if fe.Field != atRoot {
			rel := relPath(fe, data, prefix)
			out = append(out, Violation{Path: prefix.append(rel...), Reason: reasonOf(fe, source, valueAt(data, rel)), Message: fe.Error()})
			continue
		}
		reason := reasonOf(fe, source, nil)
		if !located {
			failures, located = c.fast.failing(data, nil, nil), true
		}
		at := prefix
		if p, ok := onlyCause(failures, reason); ok {
			at = prefix.append(p...)
		}
		msg := fe.ErrorBody()
		if len(at) > 0 {
			placed := *fe
			placed.Field = at.apiString()
			msg = placed.Error()
		}
		out = append(out, Violation{Path: at, Reason: reason, Message: msg})
	}
	return out, blocking
}

// onlyCause returns the one failure that can have caused an error the
// server reports at the root: a number outside its format's range (reason
// format) or a failed anyOf, oneOf or not.
func onlyCause(failures []failure, reason Reason) (Path, bool) {
	var found []Path
	for _, f := range failures {
		typ, _ := jsonType(f.value)
		numeric := f.node.numType != "" && (typ == "number" || typ == "integer")
		composite := len(f.node.anyOf) > 0 || len(f.node.oneOf) > 0 || f.node.not != nil
		if (reason == ReasonFormat && numeric) || (reason != ReasonFormat && composite) {
			found = append(found, f.path)
		}
	}
	if len(found) != 1 {
		return nil, false
	}
	return found[0], true
}

// atRoot is the Field of a field error made without a path.
var atRoot = (*field.Path)(nil).String()

// recordingValidator is kube-openapi's validator for
// ValidateCustomResource, keeping the result it returns.
type recordingValidator struct {
	sv     *validate.SchemaValidator
	result *validate.Result
}

func (r *recordingValidator) Validate(data any, _ ...apiservervalidation.ValidationOption) *validate.Result {
	r.result = r.sv.Validate(data)
	return r.result
}

// reasonOf names the kind of fe, which the API server made of source (nil
// when unknown); value is what fe's path points to.
func reasonOf(fe *field.Error, source error, value any) Reason {
	switch fe.Type {
	case field.ErrorTypeRequired:
		return ReasonRequired
	case field.ErrorTypeNotSupported:
		return ReasonEnum
	case field.ErrorTypeTooLong, field.ErrorTypeTooMany:
		return ReasonMax
	case field.ErrorTypeTypeInvalid:
		// kube-openapi reports a string that fails its format as a type
		// error whose value is the string itself; a value of the wrong
		// JSON type as one whose value is that type's name.
		verr, ok := source.(*openapierrors.Validation)
		if !ok {
			return ReasonType
		}
		s, isString := value.(string)
		if isString && verr.Value == s && s != "string" {
			return ReasonFormat
		}
		return ReasonType
	}
	switch source := source.(type) {
	case *openapierrors.Validation:
		return invalidReason(source.Code())
	case openapierrors.Error:
		return ReasonInvalid // anyOf, oneOf, not
	case error:
		// The one error kube-openapi makes without a code: a number
		// outside the range of its format.
		return ReasonFormat
	}
	return ReasonInvalid
}

// blocksCEL reports whether the API server skips the CEL rules of a custom
// resource after this error (its hasBlockingErr).
func blocksCEL(e *field.Error) bool {
	switch e.Type {
	case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
		return true
	}
	return false
}

// invalidReason names the codes that the API server reports as plain
// "Invalid value" errors.
func invalidReason(code int32) Reason {
	switch code {
	case openapierrors.PatternFailCode:
		return ReasonPattern
	case openapierrors.MaxFailCode:
		return ReasonMax
	case openapierrors.MinFailCode, openapierrors.TooShortFailCode, openapierrors.MinItemsFailCode, openapierrors.TooFewPropertiesCode:
		return ReasonMin
	case openapierrors.UniqueFailCode:
		return ReasonUnique
	}
	return ReasonInvalid
}

// unknownField is the violation the API server's strict field validation
// reports for a field the schema does not declare.
func unknownField(p Path) Violation {
	return Violation{Path: p, Reason: ReasonUnknownField, Message: fmt.Sprintf("unknown field %q", p.String())}
}
