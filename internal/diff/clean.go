package diff

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// noise are fields the cluster sets that say nothing about a change.
func noise() [][]string {
	return [][]string{
		{"status"},
		{"metadata", "generation"},
		{"metadata", "managedFields"},
		{"metadata", "resourceVersion"},
		{"metadata", "uid"},
		{"metadata", "creationTimestamp"},
		{"metadata", "selfLink"},
		{"metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"},
		{"metadata", "annotations", "deployment.kubernetes.io/revision"},
	}
}

// Ignore presets (Options.Preset).
const (
	PresetHelm = "helm"
	PresetNone = "none"
)

// dropChartNoise removes, from every metadata of o (its own, a pod
// template's, a job template's), the labels and annotations a chart bump
// changes on every object: helm.sh/chart, app.kubernetes.io/version and
// checksum/* annotations. Selectors keep them: a change there is a change.
func dropChartNoise(o map[string]any) {
	for k, v := range o {
		child, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if k == "metadata" {
			if labels, ok := child["labels"].(map[string]any); ok {
				delete(labels, "helm.sh/chart")
				delete(labels, "app.kubernetes.io/version")
				if len(labels) == 0 {
					delete(child, "labels")
				}
			}
			if annotations, ok := child["annotations"].(map[string]any); ok {
				for a := range annotations {
					if strings.HasPrefix(a, "checksum/") {
						delete(annotations, a)
					}
				}
				if len(annotations) == 0 {
					delete(child, "annotations")
				}
			}
			continue
		}
		dropChartNoise(child)
	}
}

// parseIgnore reads --ignore paths: dotted (spec.replicas), with a leading
// dot, or JSON pointers (/spec/replicas, ~1 for a slash in a key).
func parseIgnore(paths []string) ([][]string, error) {
	out := noise()
	for _, p := range paths {
		var parts []string
		switch {
		case strings.HasPrefix(p, "/"):
			for _, s := range strings.Split(p[1:], "/") {
				parts = append(parts, strings.NewReplacer("~1", "/", "~0", "~").Replace(s))
			}
		default:
			parts = strings.Split(strings.TrimPrefix(p, "."), ".")
		}
		for _, s := range parts {
			if s == "" {
				return nil, fmt.Errorf("--ignore %q: empty path element", p)
			}
		}
		out = append(out, parts)
	}
	return out, nil
}

// clean copies o without the ignored fields.
func clean(o Object, ignore [][]string) Object {
	if o == nil {
		return nil
	}
	c := deepCopy(o).(map[string]any)
	for _, p := range ignore {
		drop(c, p)
	}
	return c
}

func drop(m map[string]any, p []string) {
	if len(p) == 1 {
		delete(m, p[0])
		return
	}
	child, ok := m[p[0]].(map[string]any)
	if !ok {
		return
	}
	drop(child, p[1:])
	if len(child) == 0 {
		delete(m, p[0])
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// Masks shown in place of Secret values.
const (
	Masked       = "***"
	MaskedBefore = "*** (before)"
	MaskedAfter  = "*** (after)"
	// SOPS-encrypted values (ENC[...]) and a Secret's sops metadata.
	MaskedSOPS       = "**SOPS**"
	MaskedSOPSBefore = "**SOPS** (before)"
	MaskedSOPSAfter  = "**SOPS** (encrypted value changed)"
)

// maskSecrets replaces the values of Secrets (either side may be nil) with
// masks that still show which keys were added, removed or changed, as
// kubectl diff does. A SOPS-encrypted value is compared by its ciphertext,
// and the sops metadata as a whole, so a change to either shows as a
// masked change; a plain value beside them (SOPS encrypts only the keys
// its rules name) is masked as any plain value.
func maskSecrets(base, head Object) {
	isSecret := func(o Object) bool { return o != nil && o["kind"] == "Secret" && o["apiVersion"] == "v1" }
	if !isSecret(base) && !isSecret(head) {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		b, h := mapField(base, field), mapField(head, field)
		masked := map[string][2]string{}
		for k, bv := range b {
			hv, inHead := h[k]
			masked[k] = masks(bv, hv, true, inHead)
		}
		for k, hv := range h {
			if _, inBase := b[k]; !inBase {
				masked[k] = masks(nil, hv, false, true)
			}
		}
		for k, m := range masked {
			if _, ok := b[k]; ok {
				b[k] = m[0]
			}
			if _, ok := h[k]; ok {
				h[k] = m[1]
			}
		}
	}
	bs, inBase := mapValue(base, "sops")
	hs, inHead := mapValue(head, "sops")
	if inBase || inHead {
		m := masks(encrypted{bs}, encrypted{hs}, inBase, inHead)
		if inBase {
			base["sops"] = m[0]
		}
		if inHead {
			head["sops"] = m[1]
		}
	}
}

// encrypted marks a value to mask as SOPS's.
type encrypted struct{ v any }

// masks returns the masks of one value on each side: equal values get
// equal masks, different ones a before and an after, so the diff shows
// that the value changed and never what it is.
func masks(bv, hv any, inBase, inHead bool) [2]string {
	mask := func(v any) (same, before, after string) {
		if _, ok := v.(encrypted); ok || isENC(v) {
			return MaskedSOPS, MaskedSOPSBefore, MaskedSOPSAfter
		}
		return Masked, MaskedBefore, MaskedAfter
	}
	bSame, bBefore, _ := mask(bv)
	hSame, _, hAfter := mask(hv)
	switch {
	case !inBase:
		return [2]string{"", hSame}
	case !inHead:
		return [2]string{bSame, ""}
	case reflect.DeepEqual(bv, hv):
		return [2]string{bSame, hSame}
	}
	return [2]string{bBefore, hAfter}
}

func mapValue(o Object, field string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o[field]
	return v, ok
}

func isENC(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, "ENC[")
}

func mapField(o Object, field string) map[string]any {
	if o == nil {
		return nil
	}
	m, _ := o[field].(map[string]any)
	return m
}

// Unified returns a unified diff of two texts, headed with name; "" when
// they are equal. An empty before is an addition, an empty after a
// removal.
func Unified(before, after, name string, context int) string {
	if before == after {
		return ""
	}
	if context <= 0 {
		context = 3
	}
	lines := diffLines(before, after)
	var b strings.Builder
	from, to := "base/"+safetext.Text(name), "head/"+safetext.Text(name)
	if before == "" {
		from = "/dev/null"
	}
	if after == "" {
		to = "/dev/null"
	}
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", from, to)
	for _, h := range hunks(lines, context) {
		b.WriteString(h)
	}
	return b.String()
}

// line is one line of a diff: ' ', '-' or '+', and its text.
type line struct {
	op   byte
	text string
}

// diffLines diffs two texts line by line with go-diff.
func diffLines(before, after string) []line {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(before, after)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	var out []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		text := strings.TrimSuffix(d.Text, "\n")
		for _, l := range strings.Split(text, "\n") {
			out = append(out, line{op, l})
		}
	}
	return out
}

// hunks groups changed lines with context lines around them into unified
// diff hunks.
func hunks(lines []line, context int) []string {
	var out []string
	oldLine, newLine := make([]int, len(lines)), make([]int, len(lines))
	o, n := 1, 1
	for i, l := range lines {
		oldLine[i], newLine[i] = o, n
		if l.op != '+' {
			o++
		}
		if l.op != '-' {
			n++
		}
	}
	for i := 0; i < len(lines); {
		if lines[i].op == ' ' {
			i++
			continue
		}
		start := max(0, i-context)
		end := i
		for j := i; j < len(lines); j++ {
			if lines[j].op != ' ' {
				end = j
			} else if j-end > 2*context {
				break
			}
		}
		stop := min(len(lines), end+context+1)
		var b strings.Builder
		oldCount, newCount := 0, 0
		for _, l := range lines[start:stop] {
			if l.op != '+' {
				oldCount++
			}
			if l.op != '-' {
				newCount++
			}
		}
		oStart, nStart := oldLine[start], newLine[start]
		if oldCount == 0 {
			oStart--
		}
		if newCount == 0 {
			nStart--
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", oStart, oldCount, nStart, newCount)
		for _, l := range lines[start:stop] {
			b.WriteByte(l.op)
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
		out = append(out, b.String())
		i = stop
	}
	return out
}
