package render

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
)

// entry is one cached render of a root: the observations it depended on,
// where its output is, and what a warm run needs of it without reading the
// output.
type entry struct {
	Observations []kfs.Observation
	Output       string
	Produced     []Produced
	Origins      []Origin
	Children     []Child
	Unrendered   []Unrendered
	Unset        []Unset
}

// A root's cached renders are a cache record (see internal/cache) rather
// than JSON: a warm run reads the list of every root, and decoding JSON was
// most of its time. A render with a field that holds a NUL (a ConfigMap
// value, say) is not cached.
const entriesHeader = "render-entries/7"

func encodeEntries(entries []entry) ([]byte, error) {
	w := cache.NewWriter(entriesHeader, 512*len(entries))
	w.Int(len(entries))
	for _, en := range entries {
		w.String(en.Output)
		w.Int(len(en.Produced))
		for _, p := range en.Produced {
			w.String(p.Kind)
			w.String(p.Namespace)
			w.String(p.Name)
			w.Bool(p.SOPS)
			w.String(p.Made)
			w.Bool(p.Open)
			w.Int(len(p.Data))
			for _, k := range slices.Sorted(maps.Keys(p.Data)) {
				w.String(k)
				w.String(p.Data[k])
			}
		}
		w.Int(len(en.Observations))
		for _, o := range en.Observations {
			w.String(string(o.Op))
			w.String(o.Path)
			w.String(o.Value)
		}
		w.Int(len(en.Origins))
		for _, o := range en.Origins {
			w.String(o.File)
			w.String(o.Kind)
			w.String(o.Name)
			w.String(o.Generator)
			w.String(o.ResourceSet)
		}
		w.Int(len(en.Children))
		for _, c := range en.Children {
			w.String(c.APIVersion)
			w.String(c.Kind)
			w.String(c.Namespace)
			w.String(c.Name)
			w.Raw(c.Spec)
			w.String(c.File)
			w.Int(c.Line)
		}
		w.Int(len(en.Unrendered))
		for _, u := range en.Unrendered {
			w.String(u.Kind)
			w.String(u.Namespace)
			w.String(u.Name)
			w.String(u.File)
			w.Int(u.Line)
			w.String(u.Reason)
		}
		w.Int(len(en.Unset))
		for _, u := range en.Unset {
			w.String(u.Name)
			w.String(u.File)
			w.Int(u.Line)
		}
	}
	return w.Bytes()
}

func decodeEntries(data string) ([]entry, error) {
	r := cache.NewReader(entriesHeader, data)
	n := r.Count(1)
	out := make([]entry, 0, n)
	for i := 0; i < n && r.More(); i++ {
		var en entry
		en.Output = r.Field()
		if n := r.Count(7); n > 0 {
			en.Produced = make([]Produced, n)
			for j := range en.Produced {
				p := &en.Produced[j]
				p.Kind, p.Namespace, p.Name = r.Field(), r.Field(), r.Field()
				p.SOPS = r.Bool()
				p.Made, p.Open = r.Field(), r.Bool()
				if n := r.Count(2); n > 0 {
					p.Data = make(map[string]string, n)
					for range n {
						k := r.Field()
						p.Data[k] = r.Field()
					}
				}
			}
		}
		en.Observations = make([]kfs.Observation, r.Count(3))
		for j := range en.Observations {
			en.Observations[j] = kfs.Observation{Op: kfs.Op(r.Field()), Path: r.Field(), Value: r.Field()}
		}
		if n := r.Count(5); n > 0 {
			en.Origins = make([]Origin, n)
			for j := range en.Origins {
				en.Origins[j] = Origin{File: r.Field(), Kind: r.Field(), Name: r.Field(), Generator: r.Field(), ResourceSet: r.Field()}
			}
		}
		if n := r.Count(7); n > 0 {
			en.Children = make([]Child, n)
			for j := range en.Children {
				c := &en.Children[j]
				c.APIVersion, c.Kind, c.Namespace, c.Name = r.Field(), r.Field(), r.Field(), r.Field()
				c.Spec = json.RawMessage(r.Field())
				c.File, c.Line = r.Field(), r.Int()
			}
		}
		if n := r.Count(6); n > 0 {
			en.Unrendered = make([]Unrendered, n)
			for j := range en.Unrendered {
				u := &en.Unrendered[j]
				u.Kind, u.Namespace, u.Name, u.File = r.Field(), r.Field(), r.Field(), r.Field()
				u.Line, u.Reason = r.Int(), r.Field()
			}
		}
		if n := r.Count(3); n > 0 {
			en.Unset = make([]Unset, n)
			for j := range en.Unset {
				en.Unset[j] = Unset{Name: r.Field(), File: r.Field(), Line: r.Int()}
			}
		}
		out = append(out, en)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
