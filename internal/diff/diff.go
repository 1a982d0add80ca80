// Package diff compares two sets of Kubernetes objects, as two revisions of
// a render root render them or as a render and the live cluster hold them.
// Objects are matched by group, kind, namespace and name; each difference
// is an addition, a removal or a change with a unified diff of the object's
// YAML, keys in a stable order, noise left out, and Secret values masked.
package diff

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// Action is what a change does to an object.
type Action string

// The actions.
const (
	Added   Action = "added"
	Removed Action = "removed"
	Changed Action = "changed"
)

// Change is one object's difference.
type Change struct {
	// Object names the object as apiVersion/Kind/namespace/name, as the
	// head side has it (the base side for a removal).
	Object string `json:"object"`
	Action Action `json:"action"`
	// From is the object's former name when kustomize's generated hash
	// suffix changed (a ConfigMap or Secret generator's content changed).
	From string `json:"from,omitempty"`
	// Diff is a unified diff of the object's YAML.
	Diff string `json:"diff"`
}

// Object is an object to compare, as a JSON-like map.
type Object = map[string]any

// Options tune a comparison.
type Options struct {
	// Ignore lists field paths left out of the comparison, in dotted
	// (metadata.annotations.x, spec.replicas) or JSON pointer
	// (/spec/replicas) form.
	Ignore []string
	// Preset names a set of fields left out besides: "" or PresetHelm for
	// the ones a Helm chart bump changes on every object it renders (the
	// helm.sh/chart and app.kubernetes.io/version labels, checksum/*
	// annotations), PresetNone for none.
	Preset string
	// Secrets are values to mask wherever they appear (values a
	// Kustomization substituted from Secrets).
	Secrets []string
	// Context is the number of unchanged lines around each change; 0
	// means 3.
	Context int
	// Shard limits a comparison of revisions to the roots this part of a
	// split takes (Shard.Take over both sides' roots); the zero Shard
	// compares them all.
	Shard render.Shard
}

// Objects compares base with head. Changes come in a stable order: by
// object name.
func Objects(base, head []Object, opts Options) ([]Change, error) {
	ignore, err := parseIgnore(opts.Ignore)
	if err != nil {
		return nil, err
	}
	b, h := index(base), index(head)
	var changes []Change
	matchRenames(b, h, func(from, to string) {
		changes = append(changes, compare(b[from], h[to], ignore, opts, from))
		delete(b, from)
		delete(h, to)
	})
	for _, key := range sortedKeys(h) {
		if old, ok := b[key]; ok {
			if c := compare(old, h[key], ignore, opts, ""); c.Diff != "" {
				changes = append(changes, c)
			}
			continue
		}
		changes = append(changes, compare(nil, h[key], ignore, opts, ""))
	}
	for _, key := range sortedKeys(b) {
		if _, ok := h[key]; !ok {
			changes = append(changes, compare(b[key], nil, ignore, opts, ""))
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Object < changes[j].Object })
	var out []Change
	for _, c := range changes {
		if c.Diff != "" || c.Action != Changed {
			out = append(out, c)
		}
	}
	return out, nil
}

// index keys objects by group/kind/namespace/name.
func index(objs []Object) map[string]Object {
	m := make(map[string]Object, len(objs))
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

func key(o Object) string {
	gv, _ := o["apiVersion"].(string)
	group := ""
	if i := strings.IndexByte(gv, '/'); i >= 0 {
		group = gv[:i]
	}
	kind, _ := o["kind"].(string)
	md, _ := o["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	return group + "/" + kind + "/" + ns + "/" + name
}

// ID names an object as apiVersion/Kind/namespace/name.
func ID(o Object) string {
	gv, _ := o["apiVersion"].(string)
	kind, _ := o["kind"].(string)
	md, _ := o["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	if ns == "" {
		return gv + "/" + kind + "/" + name
	}
	return gv + "/" + kind + "/" + ns + "/" + name
}

// hashSuffix is the suffix kustomize's generators append to a ConfigMap's
// or Secret's name: a dash and ten characters of its hash alphabet.
var hashSuffix = regexp.MustCompile(`-[bcdfghjklmnpqrstvwxz2456789]{10}$`)

// matchRenames pairs an object only base has with one only head has when
// they are the same generated ConfigMap or Secret under a new hash suffix.
func matchRenames(base, head map[string]Object, pair func(from, to string)) {
	stem := func(k string) (string, bool) {
		if !strings.Contains(k, "/ConfigMap/") && !strings.Contains(k, "/Secret/") {
			return "", false
		}
		if !hashSuffix.MatchString(k) {
			return "", false
		}
		return hashSuffix.ReplaceAllString(k, ""), true
	}
	removed := map[string][]string{}
	for _, k := range sortedKeys(base) {
		if _, ok := head[k]; ok {
			continue
		}
		if s, ok := stem(k); ok {
			removed[s] = append(removed[s], k)
		}
	}
	for _, k := range sortedKeys(head) {
		if _, ok := base[k]; ok {
			continue
		}
		s, ok := stem(k)
		if !ok || len(removed[s]) == 0 {
			continue
		}
		pair(removed[s][0], k)
		removed[s] = removed[s][1:]
	}
}

// compare renders one object's change; fromKey is set for a rename.
func compare(base, head Object, ignore [][]string, opts Options, fromKey string) Change {
	var c Change
	switch {
	case base == nil:
		c.Action, c.Object = Added, ID(head)
	case head == nil:
		c.Action, c.Object = Removed, ID(base)
	default:
		c.Action, c.Object = Changed, ID(head)
		if fromKey != "" {
			md, _ := base["metadata"].(map[string]any)
			c.From, _ = md["name"].(string)
		}
	}
	b, h := clean(base, ignore), clean(head, ignore)
	if opts.Preset != PresetNone && b != nil && h != nil {
		dropChartNoise(b)
		dropChartNoise(h)
	}
	maskSecrets(b, h)
	if base != nil && head != nil && fromKey == "" && reflect.DeepEqual(b, h) {
		return c // most objects of a changed root are the same: no need to print them
	}
	// Substituted Secret values are masked in the finished diff, so a line
	// whose only change is such a value still shows as changed.
	c.Diff = Unified(toYAML(b), toYAML(h), c.Object, opts.Context)
	for _, s := range opts.Secrets {
		if len(s) >= minSecretLen {
			c.Diff = strings.ReplaceAll(c.Diff, s, Masked)
		}
	}
	return c
}

// minSecretLen is the shortest substituted Secret value masked in any
// object: shorter ones ("true", "1") would mask unrelated text.
const minSecretLen = 4

func toYAML(o Object) string {
	if o == nil {
		return ""
	}
	b, err := sigsyaml.Marshal(o)
	if err != nil {
		return fmt.Sprintf("# cannot print object: %v\n", err)
	}
	return string(b)
}

func sortedKeys(m map[string]Object) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
