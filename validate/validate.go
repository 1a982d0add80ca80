// Package validate is the check engine the CLI, the pre-commit hooks and
// the pull-request bot share. Rules look at a repository's files and at what
// its render roots render, and report Findings, each naming the file and
// line to fix, the object concerned, and a severity. The surface is small:
// Rules lists the rules, Run runs them, Write prints a Report.
//
// Run takes what the render engine made, which only this module can build;
// a program of another module checks a repository through the gitops
// package (gitops.Open, then Repository.Validate or Repository.Hook), which
// returns this package's Report.
package validate

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Severity is how serious a finding is.
type Severity string

// Severities. Off is only a setting: a rule set to off does not run.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Off     Severity = "off"
)

// Finding is one problem, at a place.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// File is relative to the repository root; Line and Column count from
	// 1 and are 0 when unknown.
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	// Object names the object concerned as apiVersion/Kind/namespace/name.
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
}

// Summary counts what was checked and found.
type Summary struct {
	Roots    int `json:"roots"`
	Objects  int `json:"objects"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is the outcome of a Run.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// Failed tells whether a finding has error severity: the exit code 1 case.
func (r *Report) Failed() bool { return r.Summary.Errors > 0 }

// Rule describes one check.
type Rule struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"defaultSeverity"`
	Description string   `json:"description"`
}

// Input is what the rules look at.
type Input struct {
	Tree       repo.Tree
	Repository *render.Repository
	// Results are the rendered roots, rendered with origins recorded: all
	// of the repository's, since references and duplicates span roots.
	Results []*render.Result
	// Roots limits the object rules to these roots; nil checks every
	// root.
	Roots []render.Root
	// Foreign are the rendered roots of the other repositories
	// .gitops.yaml names under fluxRepositories: the ImagePolicies this
	// repository's markers name may be defined there.
	Foreign []*render.Result
	// MissingFluxRepositories are the fluxRepositories paths that are not
	// there (not checked out beside this repository).
	MissingFluxRepositories []string
	// Files limits the file rules to these files; nil checks every file
	// of the repository. Hooks pass the staged files.
	Files []string
	// Partial says Roots and Files are one shard of a split whose shards
	// together check the whole scope: a finding relating two roots is left
	// to the shard that would report it in the whole.
	Partial bool
	// Parsed holds objects of Results that Lookups parsed; may be nil.
	Parsed *Parsed
}

// Options tune a Run.
type Options struct {
	// Config is the repository's .gitops.yaml, already loaded.
	Config Config
	// KubernetesVersion overrides the configuration's.
	KubernetesVersion string
	// CRDs are CustomResourceDefinitions given besides the repository's
	// own (--crds).
	CRDs []map[string]any
	// Rules limits the run to these rule IDs; nil runs them all.
	Rules []string
	// Cache keeps per-root findings between runs.
	Cache *cache.Cache
	// Salt separates cache entries of different builds of this program.
	Salt string
	// RepoKey names the repository (its path), so what the rules learned
	// of its roots and files is kept apart from another repository's.
	RepoKey string
	// Schemas, when set, is the validator PrepareSchemas started building
	// for this run's Kubernetes version.
	Schemas *Schemas
}

// Rules lists every rule with its default severity.
func Rules() []Rule {
	defs := allRules()
	out := make([]Rule, 0, len(defs))
	for _, r := range defs {
		out = append(out, r.Rule)
	}
	return out
}

// Run checks the input and returns the findings, sorted by file, line and
// rule, with each rule's severity as configured.
func Run(ctx context.Context, in Input, opts Options) (*Report, error) {
	c, err := newChecker(ctx, in, opts)
	if err != nil {
		return nil, err
	}
	c.memo = loadMemo(opts.Cache, memoKey(opts))
	defer c.memo.Save()
	if c.enabled("imagepolicy-pattern") || c.enabled("flux-reference") {
		// The rules on Flux objects read every root's: indexed while the
		// roots are checked, which a single changed root leaves to one
		// core.
		go func() { _, _ = c.fluxObjects() }()
	}
	if err := checkRoots(c); err != nil {
		return nil, err
	}
	for _, r := range allRules() {
		if r.check == nil || !c.enabled(r.ID) {
			continue
		}
		if err := r.check(c); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return c.report(), nil
}

// report sorts the findings and counts them.
func (c *checker) report() *Report {
	fs := c.findings
	sortFindings(fs)
	out := &Report{Findings: mergeAtLine(mergeObjects(dedupe(redactSecrets(fs, c.in.Results))))}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	// The roots checked: those of the scope when the run has one (the
	// others were rendered for what the rules look up), so that the parts
	// of a split check add up to the whole.
	out.Summary.Roots = len(c.in.Results)
	if c.in.Roots != nil {
		out.Summary.Roots = len(c.in.Roots)
	}
	out.Summary.Objects = c.objectCount
	out.count()
	return out
}

// Merge combines the reports of the parts of a split check (--shard):
// every part's findings, each once, in the order of a Run, and the parts'
// counts added up.
func Merge(reports ...*Report) *Report {
	out := &Report{Findings: []Finding{}}
	for _, r := range reports {
		out.Findings = append(out.Findings, r.Findings...)
		out.Summary.Roots += r.Summary.Roots
		out.Summary.Objects += r.Summary.Objects
	}
	// Every field orders them, so that a finding two parts both made
	// lies next to its copy.
	slices.SortStableFunc(out.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Severity, b.Severity))
	})
	out.Findings = append([]Finding{}, mergeAtLine(dedupe(out.Findings))...)
	// A kind with no schema is named once in all, at its first object.
	noSchema := map[string]bool{}
	out.Findings = slices.DeleteFunc(out.Findings, func(f Finding) bool {
		seen := f.Rule == "no-schema" && noSchema[f.Message]
		noSchema[f.Message] = noSchema[f.Message] || f.Rule == "no-schema"
		return seen
	})
	out.count()
	return out
}

// count sets the summary's error and warning counts from the findings.
func (r *Report) count() {
	r.Summary.Errors, r.Summary.Warnings = 0, 0
	for _, f := range r.Findings {
		switch f.Severity {
		case Error:
			r.Summary.Errors++
		case Warning:
			r.Summary.Warnings++
		}
	}
}

// sortFindings orders findings by file, line, rule and message.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// redactSecrets hides, in every finding's message, the values of the
// Secrets the repository renders, as written (base64) and decoded: the
// rules never quote one, but kustomize's and the API server's messages
// quote what they got. A value under four characters is left alone, as it
// would hide ordinary words, and so is one that is the name of an object
// the repository deploys (publicNames).
func redactSecrets(fs []Finding, results []*render.Result) []Finding {
	seen := publicNames(results)
	var values []string
	for _, v := range render.SecretValues(results) {
		for _, s := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if len(s) >= 4 && !seen[s] {
				seen[s] = true
				values = append(values, s)
			}
		}
	}
	if len(values) == 0 {
		return fs
	}
	// Longest first, so a value is hidden whole before a shorter one
	// inside it.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for i := range fs {
		for _, v := range values {
			if strings.Contains(fs[i].Message, v) {
				fs[i].Message = strings.ReplaceAll(fs[i].Message, v, "(a Secret's value)")
			}
		}
	}
	return fs
}

// publicNames are the names and namespaces of the Flux Kustomizations
// the results render, of what they apply that a walk follows (their
// Kustomizations, sources and HelmReleases), and of the ConfigMaps and
// Secrets they make. Every finding about such an object prints its name,
// which is no secret though a Secret hold it as a value (an application's
// user named after it): hidden, it made "Kustomization security/(a
// Secret's value)" of authelia's.
func publicNames(results []*render.Result) map[string]bool {
	names := map[string]bool{}
	add := func(namespace, name string) {
		names[namespace], names[name] = true, true
	}
	for _, res := range results {
		if k := res.Root.Kustomization; k != nil {
			add(k.Namespace(), k.Name())
		}
		for _, c := range res.Children {
			add(c.Namespace, c.Name)
		}
		for _, p := range res.Produced {
			add(p.Namespace, p.Name)
		}
	}
	delete(names, "")
	return names
}

// mergeObjects reports once what one line of a file causes in several
// objects: a shared component or base is rendered by every root that
// includes it, each time into another namespace or name, and a schema error
// on one of its lines would otherwise be printed once per root. The
// finding keeps the first object and says how many there are.
func mergeObjects(fs []Finding) []Finding {
	var out []Finding
	for i := 0; i < len(fs); {
		f, n := fs[i], 1
		for i+n < len(fs) && sameExceptObject(fs[i+n], f) {
			n++
		}
		if n > 1 {
			f.Message += fmt.Sprintf(" (reported once for the %d objects rendered from this line)", n)
		}
		out = append(out, f)
		i += n
	}
	return out
}

func sameExceptObject(a, b Finding) bool {
	a.Object = b.Object
	return a == b && a.Line > 0
}

// dedupe drops findings repeated, as when two roots render the same base;
// one repeated at another severity (a root no cluster applies shares the
// base) keeps the higher.
func dedupe(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if n := len(out); n > 0 && sameExceptSeverity(out[n-1], f) {
			if f.Severity == Error {
				out[n-1].Severity = Error
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

func sameExceptSeverity(a, b Finding) bool {
	a.Severity = b.Severity
	return a == b
}

// ObjectID names an object as apiVersion/Kind/namespace/name, leaving the
// namespace out for cluster-scoped objects.
func ObjectID(apiVersion, kind, namespace, name string) string {
	parts := []string{apiVersion, kind}
	if namespace != "" {
		parts = append(parts, namespace)
	}
	return strings.Join(append(parts, name), "/")
}

// likewise ends a finding's message with the others of its rule, severity
// and column at its line whose messages differ from it in one word only
// (the name of another Kustomization, variable or HelmRelease made at that
// line): one finding per line, naming each.
var likewise = regexp.MustCompile(` \(likewise for ([^()]+)\)$`)

// mergeAtLine makes one finding of those at one line that differ in one
// word, or only in naming the revision they were found at ("in REF: "),
// which the working tree's copy then names. Applied again to findings it
// merged (the parts of a split check), it gives what it gives the whole.
func mergeAtLine(fs []Finding) []Finding {
	var out []Finding
	start := 0 // the first of out at the current file, line and rule
	for _, f := range fs {
		if n := len(out); n > 0 && (out[n-1].File != f.File || out[n-1].Line != f.Line || out[n-1].Rule != f.Rule) {
			start = n
		}
		merged := false
		for i := start; i < len(out) && !merged; i++ {
			e := &out[i]
			if e.Severity != f.Severity || e.Column != f.Column || f.Line == 0 {
				continue
			}
			if m, ok := mergeMessages(e.Message, f.Message); ok {
				e.Message, merged = m, true
			}
		}
		if !merged {
			out = append(out, f)
		}
	}
	return out
}

// mergeMessages merges two messages of one line, as mergeAtLine says.
func mergeMessages(a, b string) (string, bool) {
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if what, rest, ok := strings.Cut(p[1], ": "); ok && rest == p[0] && strings.HasPrefix(what, "in ") && !strings.Contains(what[3:], " ") {
			return p[0] + " (" + what + " too)", true
		}
	}
	baseA, namesA := splitLikewise(a)
	baseB, namesB := splitLikewise(b)
	wa, wb := strings.Split(baseA, " "), strings.Split(baseB, " ")
	if len(wa) != len(wb) {
		return "", false
	}
	at := -1
	for i := range wa {
		if wa[i] != wb[i] {
			if at >= 0 {
				return "", false
			}
			at = i
		}
	}
	if at < 0 {
		return "", false
	}
	// The brackets and punctuation both words have around them are the
	// sentence's, not the name's.
	x, y := wa[at], wb[at]
	for len(x) > 1 && len(y) > 1 && x[0] == y[0] && strings.IndexByte("([{'\"", x[0]) >= 0 {
		x, y = x[1:], y[1:]
	}
	for len(x) > 1 && len(y) > 1 && x[len(x)-1] == y[len(y)-1] && strings.IndexByte(")]}:,;.'\"", x[len(x)-1]) >= 0 {
		x, y = x[:len(x)-1], y[:len(y)-1]
	}
	if !listable(x) || !listable(y) {
		return "", false
	}
	names := append(namesA, y)
	names = append(names, namesB...)
	slices.Sort(names)
	names = slices.Compact(names)
	if i := slices.Index(names, x); i >= 0 {
		names = slices.Delete(names, i, i+1)
	}
	list := names[len(names)-1]
	if len(names) > 1 {
		list = strings.Join(names[:len(names)-1], ", ") + " and " + list
	}
	return baseA + " (likewise for " + list + ")", true
}

// listable tells whether a word can stand in a likewise list and be read
// back from it.
func listable(w string) bool {
	return w != "" && w != "and" && !strings.ContainsAny(w, "(),")
}

// splitLikewise parts a message from the names its likewise suffix lists.
func splitLikewise(msg string) (string, []string) {
	m := likewise.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg, nil
	}
	list := msg[m[2]:m[3]]
	var names []string
	if head, last, ok := strings.Cut(list, " and "); ok {
		names = append(strings.Split(head, ", "), last)
	} else {
		names = []string{list}
	}
	return msg[:m[0]], names
}
