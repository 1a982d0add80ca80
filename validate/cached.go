package validate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// A warm run checks nothing again that did not change: what the rules learn
// from a root is kept in the cache under the root's rendered output and the
// files it read, and what they learn from a file under the file's blob.

// rootFacts is what the repository-wide rules need to know of one root,
// without parsing its objects again.
type rootFacts struct {
	Objects int
	Flux    []indexedObject
	CRDs    []json.RawMessage
	Keys    []objectFact
}

// indexedObject is one object of a root as JSON, with its position among
// the root's objects (which names its origin).
type indexedObject struct {
	Index  int
	Object json.RawMessage
}

// objectFact identifies one object of a root.
type objectFact struct {
	Index int
	Key   string // group/kind/namespace/name
	ID    string
}

// A warm run reads the facts of every root, so they are kept as a cache
// record rather than JSON, whose decoding was most of a warm hook's checks.
const factsHeader = "validate-facts/2"

func (f *rootFacts) encode() ([]byte, error) {
	size := 0
	for _, o := range f.Flux {
		size += len(o.Object) + 8
	}
	for _, c := range f.CRDs {
		size += len(c) + 8
	}
	w := cache.NewWriter(factsHeader, size+128*len(f.Keys))
	w.Int(f.Objects)
	w.Int(len(f.Flux))
	for _, o := range f.Flux {
		w.Int(o.Index)
		w.Raw(o.Object)
	}
	w.Int(len(f.CRDs))
	for _, c := range f.CRDs {
		w.Raw(c)
	}
	w.Int(len(f.Keys))
	for _, k := range f.Keys {
		w.Int(k.Index)
		w.String(k.Key)
		w.String(k.ID)
	}
	return w.Bytes()
}

func decodeFacts(data string) (rootFacts, error) {
	r := cache.NewReader(factsHeader, data)
	f := rootFacts{Objects: r.Int()}
	if n := r.Count(2); n > 0 {
		f.Flux = make([]indexedObject, n)
		for i := range f.Flux {
			f.Flux[i] = indexedObject{Index: r.Int(), Object: json.RawMessage(r.Field())}
		}
	}
	if n := r.Count(1); n > 0 {
		f.CRDs = make([]json.RawMessage, n)
		for i := range f.CRDs {
			f.CRDs[i] = json.RawMessage(r.Field())
		}
	}
	if n := r.Count(3); n > 0 {
		f.Keys = make([]objectFact, n)
		for i := range f.Keys {
			f.Keys[i] = objectFact{Index: r.Int(), Key: r.Field(), ID: r.Field()}
		}
	}
	return f, r.Err()
}

// rootKey names what a root's cached facts and findings depend on: this
// program, the rendered output, and the files read (the findings' lines).
func (c *checker) rootKey(kind string, res *render.Result, extra ...string) string {
	digest := res.Digest
	if digest == "" { // no cache: the key is never looked up again
		data, _ := res.YAML()
		digest = cache.Digest(data)
	}
	parts := []string{kind, c.opts.Salt, res.Root.String(), digest}
	for _, in := range res.Inputs {
		parts = append(parts, in.Path, in.Blob)
	}
	return cache.Key(append(parts, extra...)...)
}

// cached returns the value under key in the memo, or computes and keeps it.
func cached[T any](c *checker, key string, compute func() (T, error)) (T, error) {
	var v T
	if c.memo.get(key, &v) {
		return v, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.memo.put(key, v)
	return v, nil
}

// facts returns a root's facts, parsing its objects only on a cache miss.
func (c *checker) facts(res *render.Result) (*rootFacts, error) {
	c.mu.Lock()
	once, ok := c.factsByRoot[res]
	if !ok {
		once = &factsOnce{}
		c.factsByRoot[res] = once
	}
	c.mu.Unlock()
	// The rules on roots and the index of Flux objects ask at once.
	once.once.Do(func() { once.f, once.err = c.readFacts(res) })
	return once.f, once.err
}

// factsOnce are a root's facts, read once per Run.
type factsOnce struct {
	once sync.Once
	f    *rootFacts
	err  error
}

// readFacts reads a root's facts from the memo, else from its objects.
func (c *checker) readFacts(res *render.Result) (*rootFacts, error) {
	key := c.rootKey(factsHeader, res)
	if data, ok := c.memo.Get(key); ok {
		if f, err := decodeFacts(data); err == nil {
			return &f, nil
		}
	}
	v, err := c.factsFromObjects(res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", res.Root, err)
	}
	if data, err := v.encode(); err == nil {
		c.memo.Put(key, string(data))
	}
	return &v, nil
}

// factsFromObjects gathers a root's facts from its rendered objects.
func (c *checker) factsFromObjects(res *render.Result) (rootFacts, error) {
	var f rootFacts
	objs, err := c.objectsOf(res)
	if err != nil {
		return f, err
	}
	f.Objects = len(objs)
	for i, o := range objs {
		f.Keys = append(f.Keys, objectFact{Index: i, Key: objectKey(o), ID: o.id})
		gv, kind := o.node.GetApiVersion(), o.node.GetKind()
		flux := strings.HasSuffix(group(gv), ".toolkit.fluxcd.io")
		crd := kind == "CustomResourceDefinition" && gv == "apiextensions.k8s.io/v1"
		if !flux && !crd {
			continue
		}
		data, err := o.node.MarshalJSON()
		if err != nil {
			return f, err
		}
		if flux {
			f.Flux = append(f.Flux, indexedObject{Index: i, Object: data})
		} else {
			f.CRDs = append(f.CRDs, data)
		}
	}
	return f, nil
}

// fluxOf returns a root's Flux objects, rebuilt from its facts once per
// Run.
func (c *checker) fluxOf(res *render.Result) ([]*object, error) {
	c.mu.Lock()
	out, ok := c.fluxByRoot[res]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	f, err := c.facts(res)
	if err != nil {
		return nil, err
	}
	out = make([]*object, 0, len(f.Flux))
	for _, x := range f.Flux {
		n, err := manifest.FromJSON(x.Object)
		if err != nil {
			return nil, err
		}
		out = append(out, c.newObject(res, x.Index, kyaml.NewRNode(n)))
	}
	c.mu.Lock()
	c.fluxByRoot[res] = out
	c.mu.Unlock()
	return out, nil
}

// newObject wraps a rendered object with what findings about it need.
func (c *checker) newObject(res *render.Result, i int, n *kyaml.RNode) *object {
	o := &object{root: res, node: n, index: i}
	if i < len(res.Origins) {
		o.origin = res.Origins[i]
	}
	o.id = ObjectID(n.GetApiVersion(), n.GetKind(), n.GetNamespace(), n.GetName())
	o.overrides = parseOverrides(n.GetAnnotations()[RulesAnnotation])
	return o
}

// rawFinding is a root rule's finding before the configuration applies.
type rawFinding struct {
	Finding
	// Default replaces the rule's default severity for this finding (a
	// removed API is an error, a deprecated one a warning); the
	// configuration and the object's annotation still win.
	Default Severity `json:"default,omitempty"`
}

// rootFindings returns what the root rules find in one root: computed on a
// cache miss, with severities left to the configuration unless an object's
// annotation sets them.
func (c *checker) rootFindings(res *render.Result) ([]rawFinding, error) {
	set, err := c.schemas()
	if err != nil {
		return nil, err
	}
	key := c.rootKey("validate-root/4", res, set.key, c.kubernetesVersion(), strings.Join(c.opts.Config.SecretReferences, "\x00"),
		strconv.FormatBool(c.in.Repository.UsesOperator()), c.in.Repository.FluxRelease(res.Root), strconv.FormatBool(c.in.Repository.Substituted(res.Root)))
	return cached(c, key, func() ([]rawFinding, error) {
		v, _, err := set.build()
		if err != nil {
			return nil, err
		}
		objs, err := c.objectsOf(res)
		if err != nil {
			return nil, err
		}
		out := []rawFinding{}
		report := func(id string, o *object, path []string, msg string, def Severity) {
			out = append(out, rawFinding{Finding: c.objectFinding(id, o, path, msg), Default: def})
		}
		schemaOf(c, v, objs, report)
		deprecatedOf(c, objs, report)
		generatedSecretsOf(objs, c.opts.Config.SecretReferences, report)
		duplicatesIn(c, objs, report)
		return out, nil
	})
}

// addRaw records a root rule's finding with its severity settled: the
// object's annotation, else the configuration, else the finding's own
// default, else the rule's.
func (c *checker) addRaw(r rawFinding) {
	f := r.Finding
	if f.Severity == "" {
		if _, configured := c.opts.Config.Rules[f.Rule]; !configured && r.Default != "" {
			f.Severity = r.Default
		}
	}
	c.add(f.Rule, f)
}

// fileFacts is what the file rules find in one file's content.
type fileFacts struct {
	Findings []Finding `json:"f,omitempty"`
	// Markers tells whether the content mentions $imagepolicy at all.
	Markers bool `json:"m,omitempty"`
}

// fileFacts returns the file rules' findings for a file, reading and
// parsing it only when its blob was not seen before.
func (c *checker) fileFactsOf(file string, resource bool) (fileFacts, error) {
	blob, err := c.in.Tree.Blob(file)
	if err != nil {
		return fileFacts{}, err
	}
	key := blob
	if resource {
		key += "/resource"
	}
	if refs := c.opts.Config.SecretReferences; len(refs) > 0 {
		key += "/" + cache.Key(refs...)
	}
	var f fileFacts
	if c.memo.get("file/"+key, &f) {
		return f, nil
	}
	data, err := c.in.Tree.ReadFile(file)
	if err != nil {
		return fileFacts{}, err
	}
	f = fileFacts{Findings: syntaxOf(data, resource), Markers: strings.Contains(string(data), "imagepolicy")}
	f.Findings = append(f.Findings, secretsOf(data, c.opts.Config.SecretReferences)...)
	if f.Findings == nil {
		f.Findings = []Finding{}
	}
	sort.SliceStable(f.Findings, func(i, j int) bool { return f.Findings[i].Line < f.Findings[j].Line })
	c.memo.put("file/"+key, f)
	return f, nil
}
