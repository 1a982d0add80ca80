package render

import (
	"bytes"
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Inputs is what a render of a root may read, told from discovery's facts
// without rendering: a superset of the paths its build observes
// (Result.Observations), so that a root none of whose inputs changed
// renders as it did.
type Inputs struct {
	// Paths are files and directories, sorted; a directory stands for
	// every path under it.
	Paths []string
	// Unbounded says why the inputs cannot be told without rendering
	// (a root built from another revision); Paths is then empty.
	Unbounded string
	// Flux is set when a file of the inputs names a Flux API group: the
	// root may apply Flux Kustomizations, sources or HelmReleases.
	Flux bool
	// Releases is set when a file of the inputs may hold a HelmRelease,
	// whose values and chart come from what other roots render.
	Releases bool
	// Renames is set when the build may name objects with names written
	// nowhere whole: a kustomization's namePrefix or nameSuffix, or the
	// Kustomization's own, or its substitution, or a ResourceSet's templates.
	Renames bool
}

// Holds tells whether the file f is among the inputs.
func (in Inputs) Holds(f string) bool {
	if in.Unbounded != "" {
		return true
	}
	for p := f; ; p = path.Dir(p) {
		if _, found := slices.BinarySearch(in.Paths, p); found {
			return true
		}
		if p == "." || p == "/" {
			return false
		}
	}
}

// Inputs returns what a render of root may read: the directories kustomize
// builds, followed through every path their kustomization files name in
// any field (resources, components, patches, generators' files,
// replacements, transformers, openapi, ...), the Flux Kustomization's
// components, and where a symlink to a directory leads. The Kustomization's
// spec, its source's ignore rules and the objects other roots render are
// not files: callers compare those themselves.
func (r *Repository) Inputs(root Root) Inputs {
	if root.At != nil {
		return Inputs{Unbounded: "it is built from " + root.At.What, Flux: true, Releases: true}
	}
	key := root.Path
	if k := root.Kustomization; k != nil {
		key += "\x00" + strings.Join(k.Spec.Components, "\x00")
	}
	if in, ok := r.inputs.Load(key); ok {
		return in.(Inputs)
	}
	in := r.inputsOf(root)
	r.inputs.Store(key, in)
	return in
}

func (r *Repository) inputsOf(root Root) Inputs {
	var resources []string // files named as resources
	renames := false
	if k := root.Kustomization; k != nil {
		s := k.Spec
		renames = s.NamePrefix != "" || s.NameSuffix != "" || s.PostBuild != nil
	}
	// A root reads a few paths: they are searched in the list, and put in
	// a map only once they are many. A map for every root was most of
	// what the inputs of a large repository's roots cost.
	paths := make([]string, 0, 8)
	var seen map[string]bool
	has := func(p string) bool {
		if seen != nil {
			return seen[p]
		}
		return slices.Contains(paths, p)
	}
	add := func(p string) bool {
		if p == ".." || strings.HasPrefix(p, "../") || has(p) {
			return false
		}
		paths = append(paths, p)
		switch {
		case seen != nil:
			seen[p] = true
		case len(paths) > 32:
			seen = make(map[string]bool, 2*len(paths))
			for _, q := range paths {
				seen[q] = true
			}
		}
		return true
	}
	var reach func(dir string)
	reach = func(dir string) {
		if !add(dir) {
			return
		}
		kf, ok := r.Kustomizations[dir]
		if ok && kf.Renames {
			renames = true
		}
		if !ok {
			// The kustomization Flux generates: the directory's files,
			// and the nearest kustomizations below it.
			covered := map[string]bool{}
			r.coverGenerated(dir, covered)
			for _, sub := range slices.Sorted(maps.Keys(covered)) {
				reach(sub)
			}
			return
		}
		resources = append(resources, kf.files...)
		for _, p := range kf.paths {
			if _, ok := r.Kustomizations[p]; ok {
				reach(p)
			} else {
				add(p)
			}
		}
	}
	reach(root.Path)
	if k := root.Kustomization; k != nil {
		for _, c := range k.Spec.Components {
			reach(path.Join(root.Path, c))
		}
	}
	// A symlink to a directory met on the way leads to what it names.
	for more := true; more; {
		more = false
		for link, target := range r.dirLinks {
			if has(target) {
				continue
			}
			for _, p := range paths {
				if p == link || under(p, link) || under(link, p) {
					reach(target)
					more = true
					break
				}
			}
		}
	}
	slices.Sort(paths)
	in := Inputs{Paths: slices.Compact(paths), Renames: renames}
	r.fluxOnce.Do(r.sortFlux)
	for _, p := range in.Paths {
		in.Flux = in.Flux || hasFileAt(r.fluxSorted, p)
		in.Releases = in.Releases || hasFileAt(r.releaseSorted, p)
		// A ResourceSet's templates name what it makes.
		in.Renames = in.Renames || hasFileAt(r.setSorted, p)
	}
	if !in.Flux || !in.Releases {
		flux, releases := r.namesFluxIn(resources)
		in.Flux, in.Releases = in.Flux || flux, in.Releases || releases
	}
	return in
}

// MayProduce tells whether a render of root may give an object one of
// names: one of its input files holds the name (a generator's, a
// document's, a patch's or a replacement's value), or its build renames
// what it builds. False is certain; true only possible.
func (r *Repository) MayProduce(root Root, names []string) bool {
	in := r.Inputs(root)
	if in.Unbounded != "" || in.Renames {
		return true
	}
	data, ok := r.inputData(in)
	if !ok {
		return true // what cannot be read may hold anything
	}
	for _, n := range names {
		if holdsName(data, n) {
			return true
		}
	}
	return false
}

// ObjectName names an object: its namespace ("" when it has none) and
// name.
type ObjectName struct{ Namespace, Name string }

// MayApply tells whether a render of root, a Flux Kustomization's, may
// give one of objs: MayProduce of its name, in its namespace, which the
// Kustomization's targetNamespace sets, or else one of the root's input
// files holds. False is certain; true only possible.
func (r *Repository) MayApply(root Root, objs []ObjectName) bool {
	in := r.Inputs(root)
	if in.Unbounded != "" || in.Renames {
		return true
	}
	target := ""
	if root.Kustomization != nil {
		target = root.Kustomization.Spec.TargetNamespace
	}
	var data [][]byte
	inNamespace := map[string]bool{} // whether the inputs can put objects there
	for _, o := range objs {
		if o.Namespace != "" && target != "" && o.Namespace != target {
			continue
		}
		if data == nil {
			var ok bool
			if data, ok = r.inputData(in); !ok {
				return true
			}
		}
		if o.Namespace != "" && o.Namespace != target {
			there, known := inNamespace[o.Namespace]
			if !known {
				there = holds(data, o.Namespace)
				inNamespace[o.Namespace] = there
			}
			if !there {
				continue
			}
		}
		if holdsName(data, o.Name) {
			return true
		}
	}
	return false
}

// MayApplyKey names what MayApply's answer for root and objs depends on:
// the root, its Kustomization's spec, the objects, and the path and blob
// of every file its inputs hold (a tree's blobs are told without reading
// the files: from Git's index where its stat says the file is
// unchanged). "" when a blob cannot be told or the inputs cannot be told
// from the files.
func (r *Repository) MayApplyKey(root Root, objs []ObjectName) string {
	in := r.Inputs(root)
	if in.Unbounded != "" {
		return ""
	}
	parts := []string{"may-apply/1", root.Path}
	if k := root.Kustomization; k != nil {
		parts = append(parts, string(k.SpecJSON))
	}
	for _, o := range objs {
		parts = append(parts, o.Namespace+"/"+o.Name)
	}
	sorted := r.sortedFiles()
	for _, p := range in.Paths {
		for _, f := range filesAt(sorted, p) {
			b, err := r.tree.Blob(f)
			if err != nil {
				return ""
			}
			parts = append(parts, f, b)
		}
	}
	return cache.Key(parts...)
}

// inputData reads the files at the paths of in; false when one cannot be
// read.
func (r *Repository) inputData(in Inputs) ([][]byte, bool) {
	sorted := r.sortedFiles()
	data := [][]byte{}
	for _, p := range in.Paths {
		for _, f := range filesAt(sorted, p) {
			d, err := r.tree.ReadFile(f)
			if err != nil {
				return nil, false
			}
			data = append(data, d)
		}
	}
	return data, true
}

// holdsName tells whether one of data holds name as written: a
// generator's name gets kustomize's hash suffix, so its name without it
// counts.
func holdsName(data [][]byte, name string) bool {
	if holds(data, name) {
		return true
	}
	i := strings.LastIndexByte(name, '-')
	return i > 0 && hashSuffix(name[i+1:]) && holds(data, name[:i])
}

// hashSuffix tells whether s is a suffix kustomize's generators add: ten
// characters of its hash's alphabet (api/hasher's encode).
func hashSuffix(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("bcdfghkmt2456789", c) {
			return false
		}
	}
	return true
}

func holds(data [][]byte, s string) bool {
	for _, d := range data {
		if bytes.Contains(d, []byte(s)) {
			return true
		}
	}
	return false
}

// fluxUnder tells whether a file at or under p names a Flux API group.
func (r *Repository) fluxUnder(p string) bool {
	r.fluxOnce.Do(r.sortFlux)
	return len(filesAt(r.fluxSorted, p)) > 0
}

func (r *Repository) sortFlux() {
	r.fluxSorted = slices.Sorted(maps.Keys(r.fluxFiles))
	r.releaseSorted = slices.Sorted(maps.Keys(r.releaseFiles))
	r.crdSorted = slices.Sorted(maps.Keys(r.crdFiles))
	r.setSorted = slices.Sorted(maps.Keys(r.setFiles))
}

// DefinesAPIs tells whether a render of root may give
// CustomResourceDefinitions: one of its input files defines one, or it
// installs HelmReleases, whose charts may.
func (r *Repository) DefinesAPIs(root Root) bool {
	in := r.Inputs(root)
	if in.Unbounded != "" || in.Releases {
		return true
	}
	r.fluxOnce.Do(r.sortFlux)
	return slices.ContainsFunc(in.Paths, func(p string) bool { return len(filesAt(r.crdSorted, p)) > 0 })
}

// Touching returns the roots a change of files may change, told without
// rendering: those whose inputs hold one of them, and the Flux
// Kustomizations written in one of them.
func (r *Repository) Touching(files []string) []Root {
	sorted := slices.Sorted(slices.Values(files))
	held := func(p string) bool { return hasFilesAt(sorted, p) }
	var out []Root
	for _, root := range r.Roots {
		in := r.Inputs(root)
		written := root.Kustomization != nil && hasFilesAt(sorted, root.Kustomization.Object.File)
		if written || in.Unbounded != "" || slices.ContainsFunc(in.Paths, held) {
			out = append(out, root)
		}
	}
	return out
}

// hasFilesAt tells whether one of sorted is p or lies under it.
func hasFilesAt(sorted []string, p string) bool {
	if p == "." {
		return len(sorted) > 0
	}
	if _, ok := slices.BinarySearch(sorted, p); ok {
		return true
	}
	i, _ := slices.BinarySearch(sorted, p+"/")
	return i < len(sorted) && strings.HasPrefix(sorted[i], p+"/")
}

// filesAt returns the files of sorted that are p or lie under it: the
// files under p are contiguous in sorted order, from the first at or
// after p+"/".
func filesAt(sorted []string, p string) []string {
	if p == "." {
		return sorted
	}
	var out []string
	if _, ok := slices.BinarySearch(sorted, p); ok {
		out = append(out, p)
	}
	i, _ := slices.BinarySearch(sorted, p+"/")
	j := i
	for j < len(sorted) && strings.HasPrefix(sorted[j], p+"/") {
		j++
	}
	return append(out, sorted[i:j]...)
}

// sortedFiles returns the repository's files, sorted once.
func (r *Repository) sortedFiles() []string {
	r.filesOnce.Do(func() { r.filesSorted = slices.Sorted(slices.Values(r.Files)) })
	return r.filesSorted
}

// hasFileAt tells whether filesAt(sorted, p) has one.
func hasFileAt(sorted []string, p string) bool {
	if p == "." {
		return len(sorted) > 0
	}
	i, ok := slices.BinarySearch(sorted, p)
	if ok {
		return true
	}
	// The names that go on from p follow it, ordered by the byte after
	// p: those below '/' come before the files under p.
	for ; i < len(sorted) && strings.HasPrefix(sorted[i], p); i++ {
		if c := sorted[i][len(p)]; c >= '/' {
			return c == '/'
		}
	}
	return false
}

// namesFluxIn tells whether one of files names an API group the walk
// follows, and whether one may hold a HelmRelease: files a kustomization
// names as resources which discovery did not read (neither YAML nor
// kustomization files), and kustomize reads all the same.
func (r *Repository) namesFluxIn(files []string) (flux, releases bool) {
	for _, p := range files {
		if k, err := r.tree.Stat(p); err != nil || k != repo.File {
			continue
		}
		if data, err := r.tree.ReadFile(p); err == nil {
			flux = flux || namesFlux(data)
			releases = releases || namesReleases(data)
		}
	}
	return flux, releases
}

// ChangedFiles lists, sorted, the files that differ between the trees two
// repositories were discovered from: added, removed, or of other content.
func ChangedFiles(base, head *Repository) []string {
	inHead := make(map[string]bool, len(head.Files))
	for _, f := range head.Files {
		inHead[f] = true
	}
	// A working tree's blob is a stat against Git's index: on every core.
	differs := make([]bool, len(head.Files))
	onCores(len(head.Files), 64, func(i int) {
		b, berr := base.tree.Blob(head.Files[i])
		h, herr := head.tree.Blob(head.Files[i])
		differs[i] = berr != nil || herr != nil || b != h
	})
	var out []string
	for i, f := range head.Files {
		if differs[i] {
			out = append(out, f)
		}
	}
	for _, f := range base.Files {
		if !inHead[f] {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Scope sorts the roots both sides define alike (same path,
// Kustomization, cluster and spec), by what the change from base to head
// may do to them, without rendering any: a root none of whose inputs
// changed on either side, with the same source ignore rules and engine
// settings, renders alike. Of those, the ones that read what other roots
// render (a substituteFrom, a HelmRelease's sources and values) are
// dependent: alike only when the roots that do render export the same on
// both sides (Result.Exports). Both sets are by Root.Key.
func (e *Engine) Scope(base *Engine, baseRepo, headRepo *Repository, roots []Root) (alike, dependent map[string]bool) {
	alike, dependent = map[string]bool{}, map[string]bool{}
	if e.settings() != base.settings() {
		return alike, dependent
	}
	changed := ChangedFiles(baseRepo, headRepo)
	// A release renders from charts and CRDs anywhere in the repository.
	releasesMoved := !slices.Equal(baseRepo.APIVersions(), headRepo.APIVersions()) ||
		slices.ContainsFunc(changed, func(f string) bool {
			return atOrUnder(f, baseRepo.Charts) || atOrUnder(f, headRepo.Charts)
		})
	baseRoots := map[string]Root{}
	for _, r := range baseRepo.Roots {
		baseRoots[r.Key()] = r
	}
	for _, root := range roots {
		b, ok := baseRoots[root.Key()]
		if !ok || e.filterDigest(headRepo, root) != base.filterDigest(baseRepo, b) || !sameCluster(e, headRepo, root, base, baseRepo, b) {
			continue
		}
		hin, bin := headRepo.Inputs(root), baseRepo.Inputs(b)
		if slices.ContainsFunc(changed, func(f string) bool { return hin.Holds(f) || bin.Holds(f) }) {
			continue
		}
		releases := hin.Releases || bin.Releases
		switch {
		case releases && releasesMoved:
		case releases || needsObjects(root) || needsObjects(b):
			dependent[root.Key()] = true
		default:
			alike[root.Key()] = true
		}
	}
	return alike, dependent
}

// sameCluster tells whether the root's cluster builds it alike on both
// sides, whatever its files: the same strict substitution (a Flux upgrade
// or its feature gate turns it on), and by Flux or not.
func sameCluster(e *Engine, headRepo *Repository, root Root, base *Engine, baseRepo *Repository, b Root) bool {
	return e.strict(headRepo, root) == base.strict(baseRepo, b) && headRepo.FluxBuilds(root) == baseRepo.FluxBuilds(b)
}

// settings names what the engine renders with besides the files.
func (e *Engine) settings() string {
	return cache.Key(e.opts.Salt, boolString(e.opts.AllowRemote), boolString(e.opts.NonStrict), boolString(e.opts.Charts != nil),
		e.opts.KubeVersion, strings.Join(e.opts.APIVersions, ","), e.checks.Limits().String())
}

func (e *Engine) filterDigest(r *Repository, root Root) string {
	if f := e.sourceFilter(r, root); f != nil {
		return f.digest
	}
	return ""
}

// Exports names what other roots may read of the result: the Flux sources
// it applies (a HelmRelease's chart) and the ConfigMaps and Secrets it
// renders (substituteFrom, valuesFrom); "" when it exports nothing.
func (r *Result) Exports() string {
	if r.Err != nil {
		return "error"
	}
	var parts []string
	for _, c := range r.Children {
		if !c.isRelease() && c.Kind != "Kustomization" {
			parts = append(parts, c.APIVersion, c.Kind, c.Namespace, c.Name, string(c.Spec))
		}
	}
	for _, p := range r.Produced {
		data, _ := json.Marshal(p)
		parts = append(parts, string(data))
	}
	if len(parts) == 0 {
		return ""
	}
	return cache.Key(parts...)
}
