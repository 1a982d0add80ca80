package schema

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TestLazyCompileAsInline: the walk's nodes and the quick check's, built a
// level at a time as objects reach them, are the ones inlining every
// definition of a kind builds, for every embedded kind of every version.
func TestLazyCompileAsInline(t *testing.T) {
	for _, version := range Versions() {
		v := newValidator(t, version)
		for _, gvk := range allKinds(v) {
			k, ok := v.builtins[gvk]
			if !ok {
				continue
			}
			t.Run(version+"/"+gvkName(gvk), func(t *testing.T) {
				top := &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + k.Definition)}}
				s, want, err := v.inline(top, nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := compareNodes(v.lazyNode(top, nil), want, "$"); d != "" {
					t.Errorf("walk node: %s", d)
				}
				if d := compareFast(v.lazyFast(top, nil), newFastNode(s, v.formats), "$"); d != "" {
					t.Errorf("quick check node: %s", d)
				}
			})
		}
	}
}

func compareNodes(got, want *node, at string) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("%s: node %v, want %v", at, got, want)
		}
		return ""
	}
	got.children()
	type flags struct {
		preserve, closed, embedded, nullable, leaf bool
		ref                                        string
		props                                      []string
	}
	f := func(n *node) flags {
		return flags{n.preserve, n.closed, n.embedded, n.nullable, n.leaf, n.ref, sortedNames(n.props)}
	}
	if g, w := f(got), f(want); !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("%s: %+v, want %+v", at, g, w)
	}
	for k := range want.props {
		if d := compareNodes(got.props[k], want.props[k], at+"."+k); d != "" {
			return d
		}
	}
	if d := compareNodes(got.additional, want.additional, at+"{*}"); d != "" {
		return d
	}
	return compareNodes(got.items, want.items, at+"[*]")
}

func compareFast(got, want *fastNode, at string) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("%s: node %v, want %v", at, got, want)
		}
		return ""
	}
	got.kids()
	want.kids()
	own := func(n *fastNode) string {
		pattern := ""
		if n.pattern != nil {
			pattern = n.pattern.String()
		}
		return fmt.Sprintf("%v %v %q %v %v %v %v %v %q %v %v %v %v %v %v %q %q %v %v %v %v %v %v %v", n.unsupported, n.types, n.format, n.formatOK != nil,
			n.nullable, n.enum, n.enumStrs, ptr(n.maxLength), ptr(n.minLength), pattern, n.badRegexp, ptr(n.maximum), ptr(n.minimum),
			n.exclusiveMax, n.exclMin, n.numType, n.numFormat, ptr(n.multipleOf), ptr(n.maxItems), ptr(n.minItems), ptr(n.maxProps),
			ptr(n.minProps), n.required, n.noAdditional) + fmt.Sprint(sortedNames(n.props))
	}
	if g, w := own(got), own(want); g != w {
		return fmt.Sprintf("%s:\n%s\nwant\n%s", at, g, w)
	}
	for k := range want.props {
		if d := compareFast(got.props[k], want.props[k], at+"."+k); d != "" {
			return d
		}
	}
	for _, l := range []struct {
		name      string
		got, want []*fastNode
	}{{"allOf", got.allOf, want.allOf}, {"anyOf", got.anyOf, want.anyOf}, {"oneOf", got.oneOf, want.oneOf}} {
		if len(l.got) != len(l.want) {
			return fmt.Sprintf("%s: %d %s, want %d", at, len(l.got), l.name, len(l.want))
		}
		for i := range l.want {
			if d := compareFast(l.got[i], l.want[i], fmt.Sprintf("%s/%s/%d", at, l.name, i)); d != "" {
				return d
			}
		}
	}
	for _, p := range []struct {
		name      string
		got, want *fastNode
	}{{"{*}", got.additional, want.additional}, {"[*]", got.items, want.items}, {"/not", got.not, want.not}} {
		if d := compareFast(p.got, p.want, at+p.name); d != "" {
			return d
		}
	}
	return ""
}

func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func sortedNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
