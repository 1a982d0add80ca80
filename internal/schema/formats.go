package schema

import (
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

// newFormats returns kube-openapi's formats (date-time, byte, ...) plus
// "quantity".
func newFormats() strfmt.Registry {
	r := strfmt.NewFormats()
	q := quantityFormat("")
	r.Add("quantity", &q, func(s string) bool {
		_, err := resource.ParseQuantity(s)
		return err == nil
	})
	return r
}
