package validate

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// checker carries one Run: its input, the effective settings, what the
// rules found, and what was parsed once and is shared between rules.
type checker struct {
	ctx  context.Context
	in   Input
	opts Options

	findings    []Finding
	objectCount int
	defaults    map[string]Severity

	schemaSet *schemaSet
	memo      memo
	resources map[string]bool
	flux      struct {
		once sync.Once
		idx  fluxIndex
		err  error
	}

	mu          sync.Mutex
	objects     map[*render.Result][]*object
	factsByRoot map[*render.Result]*factsOnce
	fluxByRoot  map[*render.Result][]*object
	located     map[located]*yaml.Node

	unread struct {
		once  sync.Once
		files []string
	}
	read struct {
		once  sync.Once
		files map[string]bool
	}
	built struct {
		once  sync.Once
		files map[string]bool
	}
}

func newChecker(ctx context.Context, in Input, opts Options) (*checker, error) {
	if err := opts.Config.check(); err != nil {
		return nil, err
	}
	defaults := map[string]Severity{}
	for _, r := range Rules() {
		defaults[r.ID] = r.Severity
	}
	return &checker{
		defaults:    defaults,
		ctx:         ctx,
		in:          in,
		opts:        opts,
		objects:     map[*render.Result][]*object{},
		factsByRoot: map[*render.Result]*factsOnce{},
		fluxByRoot:  map[*render.Result][]*object{},
		located:     map[located]*yaml.Node{},
	}, nil
}

// enabled tells whether rule id runs: selected, and not set to off.
func (c *checker) enabled(id string) bool {
	if len(c.opts.Rules) > 0 && !contains(c.opts.Rules, id) {
		return false
	}
	return c.opts.Config.Rules[id] != Off
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// severity is the severity of rule id as configured.
func (c *checker) severity(id string) Severity {
	if s, ok := c.opts.Config.Rules[id]; ok {
		return s
	}
	return c.defaults[id]
}

// add records a finding of rule id with the configured severity, unless
// the rule is turned off or the finding carries its own (an object's
// annotation).
func (c *checker) add(id string, f Finding) {
	f.Rule = id
	if !c.enabled(id) {
		return
	}
	if f.Severity == "" {
		f.Severity = c.severity(id)
	}
	if f.Severity == Off {
		return
	}
	c.mu.Lock()
	c.findings = append(c.findings, f)
	c.mu.Unlock()
}

// inScope tells whether file rules look at file: every file, or the ones
// the caller named (hooks: the staged files; validate PATH: files under it).
func (c *checker) inScope(file string) bool {
	if c.in.Files == nil {
		return true
	}
	for _, f := range c.in.Files {
		if f == file || f == "." || strings.HasPrefix(file, f+"/") {
			return true
		}
	}
	return false
}

// object is a rendered object with what findings about it need.
type object struct {
	root   *render.Result
	node   *kyaml.RNode
	index  int
	origin render.Origin
	id     string
	// overrides are the rule severities its annotation sets.
	overrides map[string]Severity
}

// RulesAnnotation sets, on one object, rule severities or turns rules off:
// "plain-secret=off,schema=warning".
const RulesAnnotation = "gitops.kubectl.io/rules"

// forgetObjects lets the parsed objects of a root go once the rules that
// need them are done, so a cold run does not hold every root's at once.
func (c *checker) forgetObjects(res *render.Result) {
	c.mu.Lock()
	delete(c.objects, res)
	c.mu.Unlock()
}

// objectsOf returns the objects a root rendered, parsed once per Run.
func (c *checker) objectsOf(res *render.Result) ([]*object, error) {
	c.mu.Lock()
	objs, ok := c.objects[res]
	c.mu.Unlock()
	if ok {
		return objs, nil
	}
	nodes, err := c.in.Parsed.take(res)
	if err != nil {
		return nil, err
	}
	objs = make([]*object, len(nodes))
	for i, n := range nodes {
		objs[i] = c.newObject(res, i, n)
	}
	c.mu.Lock()
	c.objects[res] = objs
	c.mu.Unlock()
	return objs, nil
}

// parseOverrides reads a RulesAnnotation value; entries that do not parse
// are ignored (the configuration check reports them in .gitops.yaml, and an
// annotation has no line to point at once rendered).
func parseOverrides(v string) map[string]Severity {
	if v == "" {
		return nil
	}
	m := map[string]Severity{}
	for _, part := range strings.Split(v, ",") {
		id, sev, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			sev = string(Off)
		}
		if s := Severity(strings.TrimSpace(sev)); s == Off || s == Error || s == Warning {
			m[strings.TrimSpace(id)] = s
		}
	}
	return m
}

// addObject records a finding about a rendered object at the field path
// given (keys and sequence indices, as strings), located in the file the
// object came from.
func (c *checker) addObject(id string, o *object, path []string, msg string) {
	if !c.reportable(o) {
		return
	}
	c.add(id, c.objectFinding(id, o, path, msg))
}

// reportable tells whether a finding about o is in the check's scope: its
// root is, or the file it comes from.
func (c *checker) reportable(o *object) bool {
	return c.rootInScope(o.root) || c.inScope(o.origin.File)
}

// located is an origin in the tree of one revision.
type located struct {
	origin   render.Origin
	revision string
}

// objectFinding makes a finding of rule id about o, located at path, with
// the severity the object's annotation sets (none otherwise).
func (c *checker) objectFinding(id string, o *object, path []string, msg string) Finding {
	f := Finding{Rule: id, Object: o.id, Message: msg}
	if s, ok := o.overrides[id]; ok {
		f.Severity = s
	}
	f.File, f.Line = c.locate(o, path)
	if at := o.root.Root.At; at != nil {
		if _, copied := at.Original(o.origin.File); !copied {
			f.Message = fmt.Sprintf("in %s: %s", at.What, f.Message)
		}
	}
	return f
}

// locate returns where the field at path of o is written: the line of the
// deepest part of the path present in the source (a field a patch added
// has no line of its own, so the object's is given).
func (c *checker) locate(o *object, path []string) (string, int) {
	if o.origin.File == "" {
		return rootAt(o.root.Root)
	}
	tree, file := c.in.Tree, o.origin.File
	if at := o.root.Root.At; at != nil {
		if orig, ok := at.Original(file); ok {
			file = orig // an artifact's copy of a file of this revision
		} else {
			// Another revision's file: located there, and not confused
			// with the file of the same name in the tree being checked.
			tree = at.Tree
		}
	}
	origin := o.origin
	origin.File = file
	c.mu.Lock()
	node, ok := c.located[located{origin, tree.Revision()}]
	c.mu.Unlock()
	if !ok {
		node = origin.Locate(tree)
		c.mu.Lock()
		c.located[located{origin, tree.Revision()}] = node
		c.mu.Unlock()
	}
	if node == nil {
		return file, 0
	}
	if origin.Release != "" || origin.ResourceSet != "" {
		return file, node.Line // the HelmRelease or ResourceSet that makes the object
	}
	return file, lineOf(node, path)
}

// lineOf follows path down from n as far as it goes.
func lineOf(n *yaml.Node, path []string) int {
	line := n.Line
	for _, key := range path {
		switch n.Kind {
		case yaml.MappingNode:
			next := (*yaml.Node)(nil)
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(key)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// rootAt is where a root is defined: its kustomization file's directory,
// or its Flux Kustomization's file and line.
func rootAt(r render.Root) (string, int) {
	if k := r.Kustomization; k != nil {
		return k.Object.File, k.Object.Line
	}
	return r.Path, 0
}

// rootInScope tells whether object rules report about res's root.
func (c *checker) rootInScope(res *render.Result) bool {
	if c.in.Roots == nil {
		return true
	}
	for _, r := range c.in.Roots {
		if r.String() == res.Root.String() {
			return true
		}
	}
	return false
}
