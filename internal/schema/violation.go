package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
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
	rel := strings.TrimPrefix(strings.TrimPrefix(err.Field, prefix.apiString()), ".")
	path := prefix.append(parsePath(value, rel)...)
	return Violation{Path: path, Reason: reason, Message: err.Error()}
}

// openAPIViolations maps the errors of a kube-openapi validation to
// Violations, with the field errors the API server makes of them
// (apiextensions-apiserver's ValidateCustomResource), so that the messages
// read the same. value is what was validated, at prefix. blocking reports
// whether one of them would make the server skip CEL rules.
func openAPIViolations(res *validate.Result, value any, prefix Path, formats strfmt.Registry) (out []Violation, blocking bool) {
	if res == nil || res.IsValid() {
		return nil, false
	}
	for _, e := range res.Errors {
		verr, ok := e.(*openapierrors.Validation)
		if !ok {
			// anyOf, oneOf and not failures, and numbers out of their
			// format's range, name their path only in the message; the
			// API server reports them at the root.
			reason := ReasonInvalid
			p := quotedPath(e.Error())
			if p == "" {
				if p = rangePath(e.Error()); p != "" {
					reason = ReasonFormat
				}
			}
			var errPath *field.Path
			if p != "" {
				errPath = field.NewPath(p)
			}
			fe := field.Invalid(errPath, "", e.Error())
			blocking = blocking || blocksCEL(fe)
			out = append(out, fromFieldError(fe, reason, value, prefix))
			continue
		}
		name := strings.TrimPrefix(verr.Name, ".")
		var errPath *field.Path
		if name != "" {
			errPath = field.NewPath(name)
		}
		fe, reason := fieldError(verr, errPath, formats)
		blocking = blocking || blocksCEL(fe)
		out = append(out, fromFieldError(fe, reason, value, prefix))
	}
	return out, blocking
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

// fieldError builds the field error the API server builds for a
// kube-openapi error, and the Reason it stands for.
func fieldError(err *openapierrors.Validation, errPath *field.Path, formats strfmt.Registry) (*field.Error, Reason) {
	value := err.Value
	if value == nil {
		value = ""
	}
	switch err.Code() {
	case openapierrors.RequiredFailCode:
		return field.Required(errPath, ""), ReasonRequired
	case openapierrors.EnumFailCode:
		var allowed []string
		for _, a := range err.Values {
			if s, ok := a.(string); ok {
				allowed = append(allowed, s)
				continue
			}
			b, _ := json.Marshal(a)
			allowed = append(allowed, string(b))
		}
		return field.NotSupported(errPath, err.Value, allowed), ReasonEnum
	case openapierrors.TooLongFailCode:
		limit := int64(-1)
		if i, ok := err.Valid.(int64); ok {
			limit = i
		}
		return field.TooLong(errPath, "", int(limit)), ReasonMax
	case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
		actual, limit := int64(-1), int64(-1)
		if i, ok := err.Value.(int64); ok {
			actual = i
		}
		if i, ok := err.Valid.(int64); ok {
			limit = i
		}
		return field.TooMany(errPath, int(actual), int(limit)), ReasonMax
	case openapierrors.InvalidTypeCode:
		// A string that fails its format is reported as being "of type"
		// the format's name.
		reason := ReasonType
		if f := typeInMessage(err.Error()); f != "" && !isJSONType(f) && formats.ContainsName(f) {
			reason = ReasonFormat
		}
		return field.TypeInvalid(errPath, value, err.Error()), reason
	}
	return field.Invalid(errPath, value, err.Error()), invalidReason(err.Code())
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

// quotedPath returns P from a kube-openapi message `"P" must validate ...`.
func quotedPath(msg string) string {
	if !strings.HasPrefix(msg, `"`) {
		return ""
	}
	end := strings.Index(msg, `" must `)
	if end < 0 {
		return ""
	}
	p, err := strconv.Unquote(msg[:end+1])
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(p, ".")
}

// rangeMessage matches kube-openapi's message for a number outside the
// range of its format: "Checked value must be of type integer with format
// int32 in spec.ports[0].port".
var rangeMessage = regexp.MustCompile(`^\w+(?: \w+)* value must be of type \w+ (?:with format \w+|\(default format\)) in (.+)$`)

// rangePath returns the path of a rangeMessage.
func rangePath(msg string) string {
	m := rangeMessage.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return strings.TrimPrefix(m[1], ".")
}

// typeInMessage returns X from a kube-openapi message "... must be of
// type X: ...".
func typeInMessage(msg string) string {
	const marker = " must be of type "
	i := strings.Index(msg, marker)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(marker):]
	if j := strings.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}

// isJSONType reports whether t names JSON types ("integer", "string,number").
func isJSONType(t string) bool {
	for _, part := range strings.Split(t, ",") {
		switch part {
		case "object", "array", "string", "integer", "number", "boolean", "null":
		default:
			return false
		}
	}
	return true
}

// unknownField is the violation the API server's strict field validation
// reports for a field the schema does not declare.
func unknownField(p Path) Violation {
	return Violation{Path: p, Reason: ReasonUnknownField, Message: fmt.Sprintf("unknown field %q", p.String())}
}
