package schema

import (
	"encoding/base64"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// quantityFormat is the "quantity" string format that hack/schemas gives
// resource.Quantity: a string that resource.ParseQuantity accepts.
type quantityFormat string

// String returns the quantity.
func (q quantityFormat) String() string { return string(q) }

// MarshalText returns the quantity.
func (q quantityFormat) MarshalText() ([]byte, error) { return []byte(q), nil }

// UnmarshalText sets the quantity.
func (q *quantityFormat) UnmarshalText(b []byte) error {
	*q = quantityFormat(b)
	return nil
}

// newFormats returns the string formats of built-in kinds: kube-openapi's,
// "quantity", and "byte" as the API server reads a []byte field, decoding
// JSON: base64 whose line breaks are ignored (kustomize's secretGenerator
// breaks it every 70 characters).
func newFormats() strfmt.Registry {
	r := strfmt.NewFormats()
	q := quantityFormat("")
	r.Add("quantity", &q, func(s string) bool {
		_, err := resource.ParseQuantity(s)
		return err == nil
	})
	b := strfmt.Base64(nil)
	r.Add("byte", &b, func(s string) bool {
		_, err := base64.StdEncoding.DecodeString(s)
		return err == nil
	})
	return r
}

// newCRDFormats returns the string formats of custom resources: kube-openapi's
// own, which the CRD handler validates with (its "byte" takes no line
// break).
func newCRDFormats() strfmt.Registry { return strfmt.NewFormats() }
