package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"maps"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/fluxcd/pkg/sourceignore/gitignore"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// Root is one thing to render: a directory built by kustomize, either as a
// Flux Kustomization builds its spec.path or, for a leaf overlay no Flux
// Kustomization covers, as `kustomize build` builds it.
type Root struct {
	// Path is the directory, relative to the repository root.
	Path string
	// Kustomization is the Flux Kustomization that renders Path, or nil for
	// a plain kustomize root.
	Kustomization *Kustomization
	// Cluster is the cluster whose walk reached the root, nil for a root
	// no walk reached.
	Cluster *Cluster
	// At is the revision the root is rendered from when its source is this
	// repository on another ref; nil for the revision being rendered.
	At *Revision
	// File is set when Path is a file that no root applies, taken as it
	// is written (FileResult): Flux variables in it are not substituted.
	File bool
}

// Revision is a revision of the repository other than the one being
// rendered.
type Revision struct {
	Tree repo.Tree
	// What names it for people: "branch dev-team".
	What string
	// Copies is set for an artifact made of the files of the revision
	// being rendered: each of its files is a copy of one of those.
	Copies bool
}

// Original returns the path, in the tree being rendered, of the file p of
// the revision, when the revision's files are copies of that tree's.
func (v *Revision) Original(p string) (string, bool) {
	if v == nil || !v.Copies {
		return "", false
	}
	return repo.Source(v.Tree, p)
}

// String names the root for people: its path, its Kustomization, and its
// cluster when the repository describes several. Names from the
// repository are printed as safetext.Text prints them, so the string keeps
// to one line of any output.
func (r Root) String() string {
	if r.Kustomization == nil {
		return safetext.Text(r.Path)
	}
	s := safetext.Text(r.Path) + " (Kustomization " + safetext.Text(r.Kustomization.ID())
	if r.Cluster != nil && r.Cluster.Named {
		s += ", cluster " + safetext.Text(r.Cluster.Name)
	}
	if r.At != nil {
		s += ", from " + safetext.Text(r.At.What)
	}
	return s + ")"
}

// KustomizationID is the Flux Kustomization's namespace/name, or "".
func (r Root) KustomizationID() string {
	if r.Kustomization == nil {
		return ""
	}
	return r.Kustomization.ID()
}

// Key identifies the root among a repository's roots, the same on both
// sides of a diff: its path, its Kustomization and its cluster.
func (r Root) Key() string { return r.Path + "\x00" + r.KustomizationID() + "\x00" + r.ClusterName() }

// ClusterName is the name of the root's cluster, or "".
func (r Root) ClusterName() string {
	if r.Cluster == nil {
		return ""
	}
	return r.Cluster.Name
}

// KustFile is a kustomization file and the directories it refers to.
type KustFile struct {
	Path      string // the file
	Dir       string
	Component bool // kind: Component, never built alone
	// Refs are its resources, bases and components entries.
	Refs []Ref
	// Paths are the paths it may name in any field (kustFacts.Paths).
	Paths []string
	// Renames is set when it sets namePrefix or nameSuffix.
	Renames bool
	// Inflates is set when it inflates Helm charts (helmCharts,
	// helmGlobals), which needs `kustomize build --enable-helm`.
	Inflates bool

	// paths are Paths in the repository, remote ones left out; files the
	// Refs in the repository that name neither a YAML nor a kustomization
	// file: what Inputs follows, joined once.
	paths, files []string
}

// newKustFile returns the KustFile of the kustomization file f.
func newKustFile(f string, k *kustFacts) *KustFile {
	kf := &KustFile{Path: f, Dir: path.Dir(f), Component: k.Component, Refs: k.Refs, Paths: k.Paths, Renames: k.Renames, Inflates: k.Inflates}
	for _, ref := range kf.Refs {
		if p := path.Join(kf.Dir, ref.Value); !kfs.IsRemote(ref.Value) && !isYAML(p) && !kfs.IsKustomizationFile(p) {
			kf.files = append(kf.files, p)
		}
	}
	for _, v := range kf.Paths {
		if !kfs.IsRemote(v) {
			kf.paths = append(kf.paths, path.Join(kf.Dir, v))
		}
	}
	return kf
}

// Resources are the paths its local resources entries name, in the
// repository (remote ones left out).
func (kf *KustFile) Resources() []string {
	var out []string
	for _, ref := range kf.Refs {
		if ref.Field == "resources" && !kfs.IsRemote(ref.Value) {
			out = append(out, path.Join(kf.Dir, ref.Value))
		}
	}
	return out
}

// Ref is one entry of a kustomization's resources, bases or components.
type Ref struct {
	Field string
	Value string
	Line  int
}

// Source is a Flux source object found in the repository.
type Source struct {
	Object *manifest.Object
	URL    string
	// Ignore is a GitRepository's spec.ignore, nil when unset.
	Ignore *string
	// Ref is a GitRepository's spec.ref.
	Ref repo.GitRef
	// Spec is the source's spec as JSON, as far as it is known: whole for
	// a source a render made, its url and ref for one read as written.
	Spec json.RawMessage
}

// Kind is the source's kind: GitRepository, OCIRepository, ...
func (s *Source) Kind() string { return s.Object.Kind }

// ID is the source's kind/namespace/name, as a sourceRef names it.
func (s *Source) ID() string {
	return s.Kind() + "/" + namespaceOr(s.Object.Namespace) + "/" + s.Object.Name
}

// refOf reads a ref as a sync or .gitops.yaml gives it: a full ref name
// (refs/heads/main, refs/tags/v1), or a branch's name.
func refOf(ref string) repo.GitRef {
	if strings.HasPrefix(ref, "refs/") {
		return repo.GitRef{Name: ref}
	}
	return repo.GitRef{Branch: ref}
}

// Checkout says what the tree being rendered is, which decides which
// Flux sources are this repository.
type Checkout struct {
	// Remotes are the URLs of the repository's Git remotes.
	Remotes []string
	// Branch is the branch the tree is: HEAD's for the working tree, the
	// one --ref names; "" when it is none (a detached HEAD, a tag).
	Branch string
	// DefaultBranches are the branches the remotes' HEADs name (a
	// clone's origin/HEAD): the main line, when nothing in the
	// repository names it.
	DefaultBranches []string
	// Clusters are the clusters .gitops.yaml declares.
	Clusters []ClusterConfig
	// FluxVersion is the Flux release the clusters run when the
	// repository does not say (Flux installed by Terraform or a cloud
	// provider's extension): .gitops.yaml's fluxVersion.
	FluxVersion string
	// Archives are the folders (gitignore patterns) .gitops.yaml names as
	// archives: what no cluster's tree reaches there is set aside, as in
	// a hidden folder (Repository.SetAside).
	Archives []string
	// Revision finds, in the repository's own objects, the revision a
	// source of this repository on another ref reads (a tenant's branch):
	// its tree and what it is ("branch dev-team"). Nil, or an error, leaves
	// such a source's Kustomizations unrendered.
	Revision func(repo.GitRef) (repo.Tree, string, error)
}

// Skipped is a Flux Kustomization that is not rendered from this
// repository, and why.
type Skipped struct {
	Kustomization *Kustomization
	Reason        string
	// Unsupported is set when Flux would render it from this repository
	// and kubectl gitops cannot: what it checks leaves the root out.
	Unsupported bool
	// Blocked is set when the Kustomization that would apply it does not
	// render: that one's error says why.
	Blocked bool
	// Undefined is set when its source is defined nowhere in the
	// repository: the reference itself is what is wrong.
	Undefined bool
	// OtherRef is set when its source is this repository on another ref
	// (a release tag, a tenant's branch) no local revision holds: its
	// path's files are deployed from there, not left undeployed.
	OtherRef bool
}

// undefinedSource says that k is not rendered because no source in the
// repository is the one its sourceRef names.
func undefinedSource(k *Kustomization) Skipped {
	return Skipped{Kustomization: k, Undefined: true, Reason: fmt.Sprintf("its source %s is not defined in this repository", k.SourceID())}
}

// Repository is what discovery found in a tree.
type Repository struct {
	Files          []string
	Kustomizations map[string]*KustFile // by directory
	Flux           []*Kustomization
	Sources        map[string]*Source // by Kind/namespace/name
	SourceIgnores  []string
	Roots          []Root
	Skipped        []Skipped
	// Clusters are the clusters the repository describes, each walked
	// from its entry point by Engine.Expand; none when it holds no entry
	// point, and its Flux Kustomizations are read as they are written.
	Clusters []*Cluster
	// Problems are files discovery could not read; the roots that need them
	// fail to build with the same message.
	Problems []error
	// Broken are the Flux Kustomizations that cannot be read (a spec that
	// does not decode): Flux refuses them, and they are not rendered.
	Broken []*diag.Error
	// Cycles are the Flux Kustomizations that apply one of the
	// Kustomizations that apply them (cycle): what Flux reconciles, and
	// a hazard.
	Cycles []*diag.Error
	// specless are the Flux Kustomizations written without a spec, until
	// patchesOrBroken sorts them.
	specless []*manifest.Object
	// substitutionWebhook names the source of xunholy's
	// kustomize-mutating-webhook, when the repository deploys it: it
	// gives every Kustomization the variables of ConfigMaps and Secrets
	// of the cluster, which no manifest names (substitutionWebhookChart).
	substitutionWebhook string
	// Charts are the directories holding a Helm chart (a Chart.yaml).
	Charts []string
	// Unreadable are the files and directories that could not be read
	// (permission denied): what is in them is not known, and a root that
	// needs one fails with the same reason.
	Unreadable []*diag.Error

	revision func(repo.GitRef) (repo.Tree, string, error)
	// artifact fetches what an OCIRepository serves, or says why not;
	// nil leaves OCIRepositories to other repositories.
	artifact func(*Source) (*Revision, string)
	own      map[string]bool // the remotes' URLs, normalized
	// written are the sources written in the repository, by ID: clusters
	// may each write their own flux-system.
	written map[string][]*Source
	// pushed are the OCI artifacts, by normalized URL, that are this
	// repository's files: an entry point syncs from one and lies in it
	// (entryPoints), as `flux push artifact --path=./` of the repository
	// makes them. Each is the folder pushed: "." for the root, or
	// "kubernetes" for `--path=./kubernetes`.
	pushed      map[string]string
	mainline    map[string]bool // the branches that are this repository's
	fluxObjects []*manifest.Object
	patches     map[*manifest.Object]bool // Flux objects written as patches
	fluxDefault string                    // the release Checkout.FluxVersion names, as a minor release
	archives    []gitignore.Pattern       // Checkout.Archives
	// unreached are the roots no cluster's walk reached, by Key.
	unreached map[string]bool
	// setAside are the roots no cluster's walk reached in an archive, and
	// kustomizations outside every tree that inflate Helm charts:
	// rendered only when named (SetAsideUnder).
	setAside   []Root
	generators map[string]*generator // ArtifactGenerators, by namespace/name
	tree       repo.Tree
	instances  []*instance
	apis       map[string]bool // the API versions the repository's CRDs serve
	fluxFiles  map[string]bool // the files that name an API group the walk follows (namesFlux)
	// chartSources are the HelmRepositories and HelmCharts written in the
	// repository, by ID.
	chartSources map[string][]*manifest.Object
	// releaseFiles are the files that may hold a HelmRelease.
	releaseFiles map[string]bool
	fluxOnce     sync.Once
	// fluxPaths are the paths of the Flux Kustomizations written in the
	// repository, each with whether one there sets spec.postBuild
	// (fluxAbove).
	fluxPathsOnce sync.Once
	fluxPaths     map[string]bool
	fluxSorted    []string        // fluxFiles' keys, sorted
	releaseSorted []string        // releaseFiles' keys, sorted
	crdFiles      map[string]bool // the files that define CustomResourceDefinitions
	crdSorted     []string
	// setFiles are the files that hold a Flux Operator ResourceSet, whose
	// objects are named by its templates.
	setFiles  map[string]bool
	setSorted []string
	// components are the Flux releases files install, by file: the one a
	// gotk-components.yaml's header names, or the tag of an OCIRepository
	// of Flux's own manifests.
	components map[string]string
	// operators are the files that write an OCIRepository of the Flux
	// Operator's chart, with its tag.
	operators map[string]string
	// strictGates are the files that set kustomize-controller's
	// StrictPostBuildSubstitutions feature gate, with its value.
	strictGates map[string]string
	inputs      sync.Map // Inputs, by root path and components
	// outside are the ConfigMaps and Secrets written in files, by
	// Kind/namespace/name, for writtenOutside.
	outsideOnce sync.Once
	outside     map[string]Produced
	filesOnce   sync.Once
	filesSorted []string // Files, sorted
	// dirLinks are the symlinks to directories, each with the directory
	// it names: the walk does not enter them, a build may.
	dirLinks map[string]string
	// plain are the files whose objects kustomize builds as written
	// (fileFacts.Plain), each with its objects in order, when they are
	// Flux Kustomizations and GitRepositories: a parent a walk renders
	// only for its children reads them (Engine.plainChildren).
	plain map[string][]Child
}

// fluxObjectLine finds documents that may be Flux Kustomizations, sources
// or the Flux Operator's entry points (a FluxInstance, or the flux-instance
// chart's HelmRelease) without parsing every YAML file of the repository.
var fluxObjectLine = regexp.MustCompile(`(?m)^kind:[ \t]*["']?(Kustomization|GitRepository|OCIRepository|Bucket|HelmRepository|HelmChart|FluxInstance|HelmRelease|ArtifactGenerator|ResourceSet)\b`)

// strictGateArg is kustomize-controller's StrictPostBuildSubstitutions
// feature gate set in its --feature-gates argument, with the value as
// Kubernetes' feature gates read it (strconv.ParseBool).
var strictGateArg = regexp.MustCompile(`--feature-gates=(?:[A-Za-z0-9]+=[A-Za-z0-9]+,\s*)*StrictPostBuildSubstitutions=([A-Za-z0-9]+)`)

// fluxVersionLine is the header flux bootstrap and `flux install --export`
// write at the top of gotk-components.yaml.
var fluxVersionLine = regexp.MustCompile(`(?m)^# Flux Version: (v\S+)`)

// Discover walks the tree and finds the render roots, with every Flux
// Kustomization read as it is written (Engine.Expand reads them as the
// clusters get them).
func Discover(tree repo.Tree, c Checkout) (*Repository, error) {
	return discover(tree, c, nil, nil, nil)
}

// done, when set, is called once every file's facts are in memo; unknown,
// when set, with each file whose facts a memo that knew other files' did
// not know: most often a file edited since the last run.
func discover(tree repo.Tree, c Checkout, memo *Memo, done func(), unknown func(file string)) (*Repository, error) {
	r := &Repository{Kustomizations: map[string]*KustFile{}, Sources: map[string]*Source{}, written: map[string][]*Source{}, patches: map[*manifest.Object]bool{},
		generators: map[string]*generator{}, tree: tree, fluxFiles: map[string]bool{}, releaseFiles: map[string]bool{}, chartSources: map[string][]*manifest.Object{}, crdFiles: map[string]bool{}, setFiles: map[string]bool{}, components: map[string]string{}, strictGates: map[string]string{}, operators: map[string]string{}, dirLinks: map[string]string{}, plain: map[string][]Child{}}
	r.fluxDefault = FluxMinor(c.FluxVersion)
	for _, a := range c.Archives {
		r.archives = append(r.archives, gitignore.ParsePattern(a, nil))
	}
	// Reading is mostly system calls (a listing per directory, a stat
	// and a read per file) and memo lookups: each file is read on one of
	// every core's readers as soon as the walk lists it, while the walk
	// goes on, then applied in order.
	fresh := memo.Len() == 0
	type read struct {
		file  string
		facts *fileFacts
		err   error
	}
	listed := make(chan string, 256)
	reads := make([][]read, runtime.GOMAXPROCS(0))
	var readers sync.WaitGroup
	for i := range reads {
		readers.Go(func() {
			for f := range listed {
				facts, known, err := readFacts(tree, f, memo, fresh)
				if !known && !fresh && err == nil && unknown != nil {
					unknown(f)
				}
				reads[i] = append(reads[i], read{f, facts, err})
			}
		})
	}
	w, err := walk(tree, ".", func(f string) { listed <- f })
	close(listed)
	readers.Wait()
	if err != nil {
		return nil, err
	}
	if done != nil {
		done()
	}
	files := w.files
	r.Files, r.Unreadable = files, w.unreadable
	for _, l := range w.links {
		if target, _, err := tree.Resolve(l); err == nil {
			r.dirLinks[l] = target
		}
	}
	at := make(map[string]int, len(files))
	for i, f := range files {
		at[f] = i
	}
	facts := make([]*fileFacts, len(files))
	errs := make([]error, len(files))
	for _, rs := range reads {
		for _, rd := range rs {
			if i, ok := at[rd.file]; ok {
				facts[i], errs[i] = rd.facts, rd.err
			}
		}
	}
	for i, err := range errs {
		if err != nil {
			r.Unreadable = append(r.Unreadable, Unreadable(files[i], err))
		}
	}
	slices.SortFunc(r.Unreadable, func(a, b *diag.Error) int { return strings.Compare(a.File, b.File) })
	for _, f := range files {
		if path.Base(f) == "Chart.yaml" {
			r.Charts = append(r.Charts, path.Dir(f))
		}
	}
	for i, f := range files {
		switch {
		case r.IsChartTemplate(f):
			// A Go template of a chart, not YAML until Helm renders it.
		case path.Base(f) == ".sourceignore":
			r.SourceIgnores = append(r.SourceIgnores, f)
		case facts[i] != nil && !manifestTemplate(f):
			r.apply(f, *facts[i])
		}
	}
	// After every manifest: a template's source never stands in for one
	// a manifest writes.
	for i, f := range files {
		if facts[i] != nil && manifestTemplate(f) {
			r.applyTemplate(f, *facts[i])
		}
	}
	r.patchesOrBroken()
	r.revision = c.Revision
	r.markLocalSources(c)
	r.entryPoints(c.Clusters)
	r.findRoots(tree)
	return r, nil
}

// walker lists a tree's files, in order, listing directories on every
// core: a working tree's listings are system calls. A subdirectory goes to
// a goroutine of its own while one is free, else is listed in place, so
// there are never more goroutines (and stacks, fresh memory a short run
// pays for) than cores.
type walker struct {
	tree repo.Tree
	free chan struct{}
	each func(file string) // called for every file listed, on any goroutine

	mu         sync.Mutex
	unreadable []*diag.Error // directories that could not be listed
	links      []string      // symlinks to directories, not entered
	files      []string
}

// walk lists the files under dir, the directories it could not list and
// the symlinks to directories it did not enter, and calls each, when set,
// with every file as it lists it, on any goroutine.
func walk(tree repo.Tree, dir string, each func(file string)) (*walker, error) {
	w := &walker{tree: tree, free: make(chan struct{}, runtime.GOMAXPROCS(0)-1), each: each}
	files, err := w.walk(dir)
	w.files = files
	slices.Sort(w.links)
	return w, err
}

func (w *walker) walk(dir string) ([]string, error) {
	entries, err := w.tree.ReadDir(dir)
	if err != nil && dir != "." && !errors.Is(err, fs.ErrNotExist) {
		w.mu.Lock()
		w.unreadable = append(w.unreadable, Unreadable(dir, err))
		w.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	// Each entry's files, found in place or by a goroutine.
	found := make([][]string, len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		p := join(dir, e.Name)
		switch {
		case e.Kind == repo.Dir && !e.Link:
			select {
			case w.free <- struct{}{}:
				wg.Go(func() {
					defer func() { <-w.free }()
					found[i], errs[i] = w.walk(p)
				})
			default:
				found[i], errs[i] = w.walk(p)
			}
		case e.Kind == repo.File:
			found[i] = []string{p}
			if w.each != nil {
				w.each(p)
			}
		default:
			w.mu.Lock()
			w.links = append(w.links, p)
			w.mu.Unlock()
		}
	}
	wg.Wait()
	for _, err := range errs { // the first directory's, in order
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(found...), nil
}

// Unreadable says that the file or directory p could not be read, and why.
func Unreadable(p string, err error) *diag.Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return diag.Errorf(p, 0, "cannot be read: %v: what it holds is neither rendered nor checked", err)
}

// onCores calls f for every index below n, batch indices at a time on
// each of GOMAXPROCS goroutines, and returns once all calls have.
func onCores(n, batch int, f func(i int)) {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += batch {
		g.Go(func() error {
			for i := lo; i < min(lo+batch, n); i++ {
				f(i)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// Select returns the roots keep is true of, in their order, asking on
// every core: keep reads files, and must be safe for concurrent use.
func Select(roots []Root, keep func(Root) bool) []Root {
	kept := make([]bool, len(roots))
	onCores(len(roots), 16, func(i int) { kept[i] = keep(roots[i]) })
	var out []Root
	for i, root := range roots {
		if kept[i] {
			out = append(out, root)
		}
	}
	return out
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// readFacts returns what discovery needs from one file, nil for a file it
// has no use for: from the memo when the file's blob was seen before, else
// by reading it (known tells which). fresh says the memo was empty when
// discovery began.
func readFacts(tree repo.Tree, f string, memo *Memo, fresh bool) (facts *fileFacts, known bool, err error) {
	kust := kfs.IsKustomizationFile(f)
	if !kust && !isYAML(f) && !manifestTemplate(f) {
		return nil, true, nil
	}
	var data []byte
	var blob string
	if fresh {
		// An empty memo knows no file: each is read, and its blob
		// hashed from what was read rather than looked up first.
		if data, err = tree.ReadFile(f); err != nil {
			return nil, false, err
		}
		blob, err = repo.ContentBlob(tree, f, data)
	} else {
		blob, err = tree.Blob(f)
	}
	if err != nil {
		return nil, false, err
	}
	key := factsKey(f, blob, kust)
	if cached, ok := memo.Get(key); ok {
		return &cached, true, nil
	}
	if !fresh {
		if data, err = tree.ReadFile(f); err != nil {
			return nil, false, err
		}
	}
	read := factsOf(f, data, kust)
	memo.Put(key, read)
	return &read, false, nil
}

// factsKey is the memo's key for the facts of file f, of content blob:
// the blob and what of f's name factsOf reads (a kustomization file's is
// read as one; a gotk-components.yaml's header names the Flux release).
// Two files of one content but other roles have other facts: an empty
// kustomization.yaml is a problem, an empty manifest none.
func factsKey(f, blob string, kust bool) string {
	switch {
	case kust:
		return blob + " kustomization"
	case path.Base(f) == "gotk-components.yaml":
		return blob + " gotk-components"
	}
	return blob
}

// fileFacts is what discovery learns from a file's content.
type fileFacts struct {
	// Kust is set for a kustomization file.
	Kust *kustFacts
	// Docs are the documents of a YAML file that may be Flux objects.
	Docs []docText
	// APIs are the API versions the file's CustomResourceDefinitions
	// serve, "group/version" and "group/version/Kind".
	APIs []string
	// Flux is set when the text names an API group a cluster's walk
	// follows (namesFlux), in any form: a render of it may apply Flux
	// Kustomizations.
	Flux bool
	// Releases is set when it may hold a HelmRelease (namesReleases).
	Releases bool
	// FluxRelease is the Flux release a gotk-components.yaml's header
	// names ("v2.7.5").
	FluxRelease string
	// StrictGate is the value, "true" or "false", the file gives
	// kustomize-controller's StrictPostBuildSubstitutions feature gate:
	// a patch of its arguments (--feature-gates=...), in a kustomization
	// file of flux bootstrap's or in a FluxInstance.
	StrictGate string
	// Plain is set when every document of the file is one of Docs, read
	// without a problem, and the text names no configuration domain of
	// kustomize's: kustomize builds the file's objects as they are
	// written (Engine.plainChildren).
	Plain bool
}

type kustFacts struct {
	Component bool
	Refs      []Ref
	Problem   string
	Line      int
	// Paths are the one-line scalar values of the file, and of a
	// `key=value` value its value too: every path it may name, in
	// whatever field, for Repository.Inputs.
	Paths []string
	// Renames is set when it sets namePrefix or nameSuffix: the names
	// of what it builds are not written anywhere whole.
	Renames bool
	// Inflates is set when it inflates Helm charts.
	Inflates bool
}

// docText is a document that may be a Flux object, with what discovery
// needs of it parsed once.
type docText struct {
	Line int
	Text string
	// The object's header, or Problem when it does not parse.
	ObjLine    int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Problem    string
	// Spec is a Kustomization's spec as JSON.
	Spec json.RawMessage
	// URL and Ignore are a source's.
	URL    string
	Ignore *string
	// Patch is set for a HelmRelease with neither spec.chart nor
	// spec.chartRef: no release installs without one, so it is a patch a
	// kustomization lays over another.
	Patch bool
}

// factsOf reads a file's content.
func factsOf(f string, data []byte, kust bool) fileFacts {
	var facts fileFacts
	// The pattern starts with "--", which YAML's lists are full of: look
	// for the gate's name first.
	if bytes.Contains(data, []byte("StrictPostBuildSubstitutions=")) {
		if m := strictGateArg.FindSubmatch(data); m != nil {
			if on, err := strconv.ParseBool(string(m[1])); err == nil {
				facts.StrictGate = strconv.FormatBool(on)
			}
		}
	}
	if kust {
		facts.Kust = kustomizationFacts(f, data)
		return facts
	}
	if bytes.Contains(data, []byte("CustomResourceDefinition")) && crdLine.Match(data) {
		facts.APIs = crdAPIs(f, data)
	}
	facts.Flux = namesFlux(data)
	if path.Base(f) == "gotk-components.yaml" {
		if m := fluxVersionLine.FindSubmatch(data[:min(len(data), 4096)]); m != nil {
			facts.FluxRelease = string(m[1])
		}
	}
	facts.Releases = namesReleases(data)
	// The pattern is anchored at line starts, which regexp cannot search
	// for as a literal: look for the word first.
	if bytes.Contains(data, []byte("instance:")) && instanceValuesLine.Match(data) {
		if d, ok := instanceValues(f, data); ok {
			facts.Docs = []docText{d}
			return facts
		}
	}
	if !(facts.Flux || facts.Releases || bytes.Contains(data, []byte(SourceGroup))) || !fluxObjectLine.Match(data) {
		return facts
	}
	facts.Plain = !configuredIn(data)
	for _, d := range manifest.Split(data) {
		if !fluxObjectLine.Match(d.Text) {
			facts.Plain = false
			continue
		}
		t := docFacts(f, d)
		facts.Plain = facts.Plain && t.Problem == ""
		facts.Docs = append(facts.Docs, t)
	}
	return facts
}

// configuredIn tells whether a text may annotate an object for kustomize
// or the KRM functions (local-config, origins, the build's own), which
// kustomize then acts on: configured's domains, anywhere in it.
func configuredIn(data []byte) bool {
	return bytes.Contains(data, []byte(configDomain)) || bytes.Contains(data, []byte(kustomizeDomain))
}

// placeholder tells whether a source's URL is a variable, or holds one.
func placeholder(url string) bool { return strings.Contains(url, "${") }

// namesFlux tells whether a text names an API group whose objects give a
// cluster's walk more roots: Flux's Kustomizations, ArtifactGenerators,
// the Flux Operator's objects.
func namesFlux(data []byte) bool {
	for _, g := range [...]string{FluxGroup, OperatorGroup, GeneratorGroup} {
		if bytes.Contains(data, []byte(g)) {
			return true
		}
	}
	return false
}

// namesReleases tells whether a text may hold a HelmRelease.
func namesReleases(data []byte) bool {
	return bytes.Contains(data, []byte(HelmGroup)) && bytes.Contains(data, []byte("HelmRelease"))
}

// instanceValuesLine starts the values of the Flux Operator's flux-instance
// chart.
var instanceValuesLine = regexp.MustCompile(`(?m)^instance:[ \t]*(#.*)?$`)

// InstanceValues is the kind discovery gives a values file of the
// flux-instance chart, which a kustomize generator makes into the
// ConfigMap its HelmRelease reads (valuesFrom): its instance.sync is a
// cluster's entry point, as a FluxInstance's spec.sync is.
const InstanceValues = "flux-instance chart values"

// instanceValues reads a values file of the flux-instance chart: a YAML
// document that is no object, whose instance.sync names a source kind, a
// URL and a path.
func instanceValues(f string, data []byte) (docText, bool) {
	docs := manifest.Split(data)
	if len(docs) != 1 {
		return docText{}, false
	}
	var doc yaml.Node
	if yaml.Unmarshal(docs[0].Text, &doc) != nil || len(doc.Content) == 0 {
		return docText{}, false
	}
	m := doc.Content[0]
	in := manifest.Lookup(m, "instance")
	if m.Kind != yaml.MappingNode || manifest.Lookup(m, "kind") != nil || manifest.Lookup(m, "apiVersion") != nil || in == nil {
		return docText{}, false
	}
	sync := manifest.Lookup(in, "sync")
	switch manifest.Scalar(sync, "kind") {
	case "GitRepository", "OCIRepository", "Bucket":
	default:
		return docText{}, false
	}
	if manifest.Scalar(sync, "url") == "" || manifest.Scalar(sync, "path") == "" {
		return docText{}, false
	}
	spec, ok := nodeJSON(instanceFields(in))
	if !ok {
		return docText{}, false
	}
	return docText{Line: docs[0].Line, Text: string(docs[0].Text), ObjLine: docs[0].Line + in.Line - 1, Kind: InstanceValues, Spec: spec}, true
}

// docFacts parses a document that may be a Flux object.
func docFacts(f string, d manifest.Doc) docText {
	if t, ok := scanDoc(d); ok {
		return t
	}
	return parseDocFacts(f, d)
}

// parseDocFacts is docFacts through the YAML parser, for any document.
func parseDocFacts(f string, d manifest.Doc) docText {
	t := docText{Line: d.Line, Text: string(d.Text)}
	o, err := manifest.Decode(f, d)
	if err != nil {
		if de, ok := diag.As(err); ok {
			t.Problem, t.ObjLine = de.Msg, de.Line
		} else {
			t.Problem = err.Error()
		}
		return t
	}
	t.ObjLine, t.APIVersion, t.Kind, t.Namespace, t.Name = o.Line, o.APIVersion, o.Kind, o.Namespace, o.Name
	spec := manifest.Lookup(o.Node(), "spec")
	var keep *yaml.Node // the part of the object discovery keeps, as JSON
	switch {
	case o.Group() == FluxGroup && o.Kind == "Kustomization":
		keep = spec
	case o.Group() == SourceGroup:
		t.URL = manifest.Scalar(spec, "url")
		if ig := manifest.Lookup(spec, "ignore"); ig != nil && ig.Kind == yaml.ScalarNode {
			t.Ignore = &ig.Value
		}
		keep = manifest.Lookup(spec, "ref")
	case o.Group() == OperatorGroup && o.Kind == "FluxInstance":
		keep = instanceFields(spec)
	case o.Group() == HelmGroup && o.Kind == "HelmRelease":
		// Where it is written, for its render's findings; and, for the
		// Flux Operator's flux-instance chart, the sync it sets up and
		// the Flux release it installs.
		keep = instanceFields(manifest.Path(o.Node(), "spec", "values", "instance"))
		t.Patch = manifest.Lookup(spec, "chart") == nil && manifest.Lookup(spec, "chartRef") == nil
	case o.Group() == GeneratorGroup && o.Kind == "ArtifactGenerator":
		keep = spec
	}
	if keep != nil {
		var v any
		if err := keep.Decode(&v); err != nil {
			t.Problem, t.ObjLine = fmt.Sprintf("%s %s: %v", o.Kind, o.ID(), err), keep.Line
			return t
		}
		t.Spec, _ = json.Marshal(v)
	}
	return t
}

// apply records a file's facts in the repository.
func (r *Repository) apply(f string, facts fileFacts) {
	if facts.Flux {
		r.fluxFiles[f] = true
	}
	if facts.Plain {
		r.plain[f] = []Child{}
	}
	if facts.Releases {
		r.releaseFiles[f] = true
	}
	if len(facts.APIs) > 0 {
		r.crdFiles[f] = true
	}
	if facts.FluxRelease != "" {
		r.components[f] = facts.FluxRelease
	}
	if facts.StrictGate != "" {
		r.strictGates[f] = facts.StrictGate
	}
	for _, a := range facts.APIs {
		if r.apis == nil {
			r.apis = map[string]bool{}
		}
		r.apis[a] = true
	}
	if k := facts.Kust; k != nil {
		for _, ref := range k.Refs {
			if tag := fluxInstallTag(ref.Value); tag != "" && ref.Field == "resources" {
				r.components[f] = tag // a bootstrap kustomization installing Flux
			}
		}
		kf := newKustFile(f, k)
		if prev, ok := r.Kustomizations[kf.Dir]; ok && kustomizationRank(prev.Path) < kustomizationRank(f) {
			return // kustomize takes the first recognized name; keep it
		}
		r.Kustomizations[kf.Dir] = kf
		if k.Problem != "" {
			r.Problems = append(r.Problems, diag.Errorf(f, k.Line, "%s", k.Problem))
		}
		return
	}
	for _, d := range facts.Docs {
		if d.Problem != "" {
			r.Problems = append(r.Problems, diag.Errorf(f, d.ObjLine, "%s", d.Problem))
			continue
		}
		o := manifest.Summary(f, manifest.Doc{Line: d.Line, Text: []byte(d.Text)}, d.ObjLine, d.APIVersion, d.Kind, d.Namespace, d.Name)
		r.addFluxObject(o, d)
		if objs, ok := r.plain[f]; ok {
			if c, ok := plainChild(o, d); ok {
				r.plain[f] = append(objs, c)
			} else {
				delete(r.plain, f)
			}
		}
	}
}

// plainChild is a Flux object a parent applies as it is written, as the
// walk reads it from the parent's render: a Kustomization with its spec,
// or a GitRepository with the part of its spec the walk reads (sourceOf).
// ok is false for another kind.
func plainChild(o *manifest.Object, d docText) (Child, bool) {
	c := Child{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	switch {
	case o.Group() == FluxGroup && o.Kind == "Kustomization" && d.Spec != nil:
		c.Spec = d.Spec
	case o.Group() == SourceGroup && o.Kind == "GitRepository":
		c.Spec, _ = json.Marshal(map[string]any{"url": d.URL, "ignore": d.Ignore, "ref": d.Spec})
	default:
		return Child{}, false
	}
	return c, true
}

// applyTemplate records the Flux sources a bootstrap template writes
// (GitRepoSync.yaml.templ, filled by a script and applied before Flux
// reads the repository) that no manifest writes: they are defined, as
// writtenOutside's Secrets are. Its other documents, and those that do not
// parse until filled in, are not the repository's objects.
func (r *Repository) applyTemplate(f string, facts fileFacts) {
	for _, d := range facts.Docs {
		if d.Problem != "" || !strings.HasPrefix(d.APIVersion, SourceGroup+"/") {
			continue
		}
		if _, written := r.Sources[d.Kind+"/"+namespaceOr(d.Namespace)+"/"+d.Name]; written {
			continue
		}
		r.addFluxObject(manifest.Summary(f, manifest.Doc{Line: d.Line, Text: []byte(d.Text)}, d.ObjLine, d.APIVersion, d.Kind, d.Namespace, d.Name), d)
	}
}

// kustomizationRank is the position of a kustomization file's name among
// the names kustomize tries, in order.
func kustomizationRank(p string) int {
	for i, n := range konfig.RecognizedKustomizationFileNames() {
		if path.Base(p) == n {
			return i
		}
	}
	return len(konfig.RecognizedKustomizationFileNames())
}

func isYAML(f string) bool {
	return strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")
}

// instanceFields keeps, of a FluxInstance's spec (or the flux-instance
// chart's instance values), the sync and the distribution: what discovery
// needs, not the whole spec.
func instanceFields(spec *yaml.Node) *yaml.Node {
	sync := manifest.Lookup(spec, "sync")
	if sync == nil {
		return nil
	}
	keep := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "sync"}, sync}}
	if d := manifest.Lookup(spec, "distribution"); d != nil {
		keep.Content = append(keep.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "distribution"}, d)
	}
	return keep
}

// substitutionWebhookChart tells whether a Flux source's URL serves the
// chart of xunholy's kustomize-mutating-webhook (its OCI chart, its Helm
// repository), which adds variables to the post-build substitution of
// every Kustomization the API server admits.
func substitutionWebhookChart(url string) bool {
	return strings.Contains(url, "kustomize-mutating-webhook")
}

// patchesOrBroken sorts the Flux Kustomizations written without a spec:
// one in a file a kustomization names but never as a resource is a patch
// of another's metadata (wahooli/gitops-repo renames a shared one per
// cluster so); any other is broken, as nothing applies without a spec.
func (r *Repository) patchesOrBroken() {
	if len(r.specless) == 0 {
		return
	}
	named, resource := map[string]bool{}, map[string]bool{}
	for _, kf := range r.Kustomizations {
		for _, p := range kf.Paths {
			named[path.Join(kf.Dir, p)] = true
		}
		for _, p := range kf.Resources() {
			resource[p] = true
		}
	}
	for _, o := range r.specless {
		if named[o.File] && !resource[o.File] {
			r.patches[o] = true
			continue
		}
		_, err := decodeKustomization(o, nil)
		r.Broken = append(r.Broken, err)
	}
}

func (r *Repository) addFluxObject(o *manifest.Object, d docText) {
	group := o.Group()
	r.fluxObjects = append(r.fluxObjects, o)
	if group == SourceGroup && substitutionWebhookChart(d.URL) && r.substitutionWebhook == "" {
		r.substitutionWebhook = fmt.Sprintf("the kustomize-mutating-webhook of %s %s", o.Kind, o.ID())
	}
	if group == OperatorGroup && o.Kind == "ResourceSet" {
		r.setFiles[o.File] = true
	}
	switch {
	case group == FluxGroup && o.Kind == "Kustomization" && d.Spec == nil:
		r.specless = append(r.specless, o) // a patch, or broken (patchesOrBroken)
	case group == FluxGroup && o.Kind == "Kustomization":
		k, err := decodeKustomization(o, d.Spec)
		if err != nil {
			r.Broken = append(r.Broken, err)
			return
		}
		if k.Spec.SourceRef.Name == "" {
			// No Kustomization applies without a source: this is a patch,
			// or part of one, that a kustomization lays over another.
			r.patches[o] = true
			return
		}
		r.Flux = append(r.Flux, k)
	case group == SourceGroup && (o.Kind == "HelmRepository" || o.Kind == "HelmChart"):
		// Sources of charts only: no Kustomization builds from them.
		id := o.Kind + "/" + namespaceOr(o.Namespace) + "/" + o.Name
		r.chartSources[id] = append(r.chartSources[id], o)
	case group == SourceGroup:
		s := &Source{Object: o, URL: d.URL, Ignore: d.Ignore}
		if d.Spec != nil {
			_ = json.Unmarshal(d.Spec, &s.Ref)
		}
		s.Spec, _ = json.Marshal(map[string]any{"url": d.URL, "ref": d.Spec})
		// A template's copy, whose URL is a placeholder a script fills
		// in (the k8s-at-home template's tmpl/ folder), does not stand
		// for the source another file writes with a URL.
		if had, ok := r.Sources[s.ID()]; !ok || !placeholder(s.URL) || placeholder(had.URL) {
			r.Sources[s.ID()] = s
		}
		r.written[s.ID()] = append(r.written[s.ID()], s)
		if s.Ref.Tag != "" && ((o.Kind == "OCIRepository" && fluxManifests(s.URL)) || (o.Kind == "GitRepository" && fluxRepository(s.URL))) {
			r.components[o.File] = s.Ref.Tag // the Flux release a Kustomization installs
		}
		if s.Ref.Tag != "" && o.Kind == "OCIRepository" && operatorChart(s.URL) {
			r.operators[o.File] = s.Ref.Tag // the Flux Operator release a HelmRelease installs
		}
	case group == GeneratorGroup && o.Kind == "ArtifactGenerator":
		if g, ok := generatorOf(o, namespaceOr(o.Namespace), d.Spec); ok {
			r.generators[g.ID()] = g
		}
	case (group == OperatorGroup && o.Kind == "FluxInstance") || o.Kind == "HelmRelease" || o.Kind == InstanceValues:
		if d.Patch {
			r.patches[o] = true
		}
		in := &instance{Object: o}
		if d.Spec == nil || json.Unmarshal(d.Spec, &in.instanceSpec) != nil || in.Sync.Kind == "" || in.Sync.Path == "" {
			return
		}
		r.instances = append(r.instances, in)
	}
}

// kustomizationFacts reads a kustomization file's kind and the
// directories and files it refers to.
func kustomizationFacts(f string, data []byte) *kustFacts {
	if k, ok := scanKustomization(data); ok {
		return k
	}
	return parseKustomization(f, data)
}

// parseKustomization is kustomizationFacts through the YAML parser, for
// any file.
func parseKustomization(f string, data []byte) *kustFacts {
	k := &kustFacts{}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d := manifest.SyntaxError(f, 1, err)
		k.Problem, k.Line = d.Msg, d.Line
		return k
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return k
	}
	m := doc.Content[0]
	k.Paths = scalarPaths(m)
	k.Renames = manifest.Lookup(m, "namePrefix") != nil || manifest.Lookup(m, "nameSuffix") != nil
	k.Inflates = manifest.Lookup(m, "helmCharts") != nil || manifest.Lookup(m, "helmGlobals") != nil
	k.Component = manifest.Scalar(m, "kind") == "Component"
	for _, field := range refFields {
		list := manifest.Lookup(m, field)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range list.Content {
			if item.Kind == yaml.ScalarNode {
				k.Refs = append(k.Refs, Ref{Field: field, Value: item.Value, Line: item.Line})
			}
		}
	}
	return k
}

// scalarPaths returns the one-line scalar values under n, keys left out,
// each once: with the value after the first "=" of a `key=path` entry
// (a generator's files and envs).
func scalarPaths(n *yaml.Node) []string {
	var l pathList
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			l.addScalar(n.Value)
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				visit(n.Content[i])
			}
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				visit(c)
			}
		}
	}
	visit(n)
	return l.paths
}

// pathList gathers the paths a kustomization file may name, in order,
// each once (scalarPaths).
type pathList struct {
	seen  map[string]bool
	paths []string
}

// addScalar adds a scalar value when it is one line, and the value after
// its first "=".
func (l *pathList) addScalar(v string) {
	l.add(v)
	if _, after, ok := strings.Cut(v, "="); ok {
		l.add(after)
	}
}

func (l *pathList) add(v string) {
	if v == "" || l.seen[v] || strings.ContainsAny(v, "\n\r") {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[v] = true
	l.paths = append(l.paths, v)
}

// markLocalSources learns which branches are the repository's main line,
// which tells the Flux sources that are this repository (IsLocal): the branch
// being rendered, and the branches the repository's own entry points sync
// (the flux-system GitRepository `flux bootstrap` writes, a FluxInstance's
// spec.sync, .gitops.yaml's clusters), else the remote's default branch.
func (r *Repository) markLocalSources(c Checkout) {
	r.own = map[string]bool{}
	for _, u := range c.Remotes {
		r.own[NormalizeGitURL(u)] = true
	}
	r.mainline = map[string]bool{}
	if s, ok := r.Sources[bootstrapSource]; ok {
		r.mainline[s.Ref.BranchName()] = true
	}
	for _, in := range r.instances {
		if s := in.source(); s.Kind() == "GitRepository" && r.own[NormalizeGitURL(s.URL)] {
			r.mainline[s.Ref.BranchName()] = true
		}
	}
	for _, d := range c.Clusters {
		r.mainline[refOf(d.Ref).BranchName()] = true
	}
	delete(r.mainline, "")
	if len(r.mainline) == 0 {
		// Nothing here names the main line (a bootstrap sync not
		// written yet): the remote's default branch is it, when the
		// clone recorded one.
		for _, b := range c.DefaultBranches {
			r.mainline[b] = true
		}
	}
	if len(r.mainline) > 0 && c.Branch != "" {
		// A pull request's branch renders what its target will hold.
		r.mainline[c.Branch] = true
	}
}

// notLocal skips k, whose source s is not this repository at the revision
// being rendered, saying why.
func (r *Repository) notLocal(k *Kustomization, s *Source) Skipped {
	if s.Kind() == "GitRepository" && r.own[NormalizeGitURL(s.URL)] {
		return Skipped{Kustomization: k, OtherRef: true, Reason: fmt.Sprintf("its source %s is this repository's %s, not the revision being rendered", s.ID(), s.Ref)}
	}
	if s.URL == "" {
		// A base a kustomization patches the URL into.
		return Skipped{Kustomization: k, Reason: fmt.Sprintf("its source %s is another repository, whose URL it does not write", s.ID())}
	}
	return Skipped{Kustomization: k, Reason: fmt.Sprintf("its source %s is another repository (%s)", s.ID(), s.URL)}
}

// bootstrapSource is the GitRepository `flux bootstrap` writes.
const bootstrapSource = "GitRepository/flux-system/flux-system"

// IsLocal tells whether a source is this repository at the revision being
// rendered: a GitRepository whose URL is one of the repository's remotes
// (or the flux-system one `flux bootstrap` writes, whatever a clone's
// remote says), on a branch of its main line. The same URL on another
// branch, a tag or a commit is another source. A repository whose main
// line nothing names, and whose clone recorded no default branch, takes
// every branch of its URL as its own. An OCIRepository is this repository
// when its artifact is pushed from the repository's root or one of its
// folders (pushed), at any tag: the artifact is what CI makes of the
// revision being rendered.
func (r *Repository) IsLocal(s *Source) bool {
	if s.Kind() == "OCIRepository" {
		_, ok := r.pushed[NormalizeGitURL(s.URL)]
		return ok
	}
	if s.Kind() != "GitRepository" {
		return false
	}
	if !r.own[NormalizeGitURL(s.URL)] && s.ID() != bootstrapSource {
		return false
	}
	return len(r.mainline) == 0 || r.mainline[s.Ref.BranchName()]
}

// findRoots lists the Flux Kustomizations whose source is this repository,
// then the leaf kustomization directories nothing else builds.
func (r *Repository) findRoots(tree repo.Tree) {
	covered := map[string]bool{}
	sort.Slice(r.Flux, func(i, j int) bool { return r.Flux[i].ID() < r.Flux[j].ID() })
	for _, k := range r.Flux {
		if k.Spec.SourceRef.Kind == "ExternalArtifact" {
			at, reason := r.externalArtifact(k, r.generators, r.localTree)
			if at == nil {
				r.Skipped = append(r.Skipped, Skipped{Kustomization: k, Reason: reason})
				continue
			}
			r.Roots = append(r.Roots, Root{Path: k.Path(), Kustomization: k, At: at})
			continue
		}
		src, ok := r.Sources[k.SourceID()]
		switch {
		case !ok:
			r.Skipped = append(r.Skipped, undefinedSource(k))
			continue
		case !r.IsLocal(src):
			r.Skipped = append(r.Skipped, r.notLocal(k, src))
			continue
		}
		r.rebase(k, src)
		if parent := r.substitutingParent(k); parent != nil {
			r.Skipped = append(r.Skipped, Skipped{Kustomization: k, Unsupported: true, Reason: fmt.Sprintf(
				"its spec.path %q holds a variable, which Kustomization %s substitutes when it applies it; kubectl gitops reads Kustomizations as they are written",
				k.Spec.Path, parent.ID())})
			continue
		}
		p := k.Path()
		r.Roots = append(r.Roots, Root{Path: p, Kustomization: k})
		covered[p] = true
		if _, ok := r.Kustomizations[p]; !ok {
			r.coverGenerated(p, covered)
		}
	}
	referenced := map[string]bool{}
	for _, kf := range r.Kustomizations {
		for _, ref := range kf.Refs {
			if !kfs.IsRemote(ref.Value) {
				referenced[path.Clean(path.Join(kf.Dir, ref.Value))] = true
			}
		}
	}
	for dir, kf := range r.Kustomizations {
		if !kf.Component && !referenced[dir] && !covered[dir] {
			r.Roots = append(r.Roots, Root{Path: dir})
		}
	}
	r.Roots = append(r.Roots, r.cycles(covered)...)
	sortRoots(r.Roots)
}

// Reaches returns the directories a build of dir may read: dir, and every
// kustomization directory its kustomization (or, where it has none, the
// one Flux generates) refers to, followed through their references.
func (r *Repository) Reaches(dir string) []string {
	seen := map[string]bool{}
	var reach func(d string)
	reach = func(d string) {
		if seen[d] {
			return
		}
		seen[d] = true
		kf, ok := r.Kustomizations[d]
		if !ok {
			covered := map[string]bool{}
			r.coverGenerated(d, covered)
			for sub := range covered {
				reach(sub)
			}
			return
		}
		for _, ref := range kf.Refs {
			if !kfs.IsRemote(ref.Value) {
				reach(path.Clean(path.Join(kf.Dir, ref.Value)))
			}
		}
	}
	reach(dir)
	return slices.Sorted(maps.Keys(seen))
}

// cycles returns a root for each group of kustomizations no root reaches:
// each is referenced, so none is a leaf, and they refer to each other in a
// cycle. Rendering the root reports the cycle, with the files that make it,
// where the repository would otherwise check clean.
func (r *Repository) cycles(covered map[string]bool) []Root {
	reached := map[string]bool{}
	var reach func(dir string)
	reach = func(dir string) {
		kf, ok := r.Kustomizations[dir]
		if !ok || reached[dir] {
			return
		}
		reached[dir] = true
		for _, ref := range kf.Refs {
			if !kfs.IsRemote(ref.Value) {
				reach(path.Clean(path.Join(kf.Dir, ref.Value)))
			}
		}
	}
	for _, root := range r.Roots {
		reach(root.Path)
	}
	for dir := range covered {
		reach(dir)
	}
	// A Flux Kustomization's spec.components are kustomize components of
	// its build, whether or not it renders here.
	for _, k := range r.Flux {
		for _, c := range k.Spec.Components {
			if !kfs.IsRemote(c) {
				reach(path.Clean(path.Join(k.Path(), c)))
			}
		}
	}
	var out []Root
	for _, dir := range slices.Sorted(maps.Keys(r.Kustomizations)) {
		if !reached[dir] && !r.Kustomizations[dir].Component {
			out = append(out, Root{Path: dir})
			reach(dir)
		}
	}
	return out
}

// Unsupported returns the Kustomizations written at or under dirs ("."
// for all) that Flux would render from this repository and that are left
// out here (Skipped.Unsupported).
func (r *Repository) Unsupported(dirs []string) []Skipped {
	return slices.DeleteFunc(r.SkippedUnder(dirs), func(s Skipped) bool { return !s.Unsupported })
}

// SkippedUnder returns the Kustomizations written at or under dirs ("."
// for all) that are not rendered, each once, in file order.
func (r *Repository) SkippedUnder(dirs []string) []Skipped {
	var out []Skipped
	seen := map[string]bool{}
	for _, s := range r.Skipped {
		key := s.Kustomization.ID() + "\x00" + s.Reason
		if seen[key] || !atOrUnder(s.Kustomization.Object.File, dirs) {
			continue
		}
		seen[key] = true
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b Skipped) int {
		if c := strings.Compare(a.Kustomization.Object.File, b.Kustomization.Object.File); c != 0 {
			return c
		}
		return a.Kustomization.Object.Line - b.Kustomization.Object.Line
	})
	return out
}

// IsChartTemplate tells whether a file is part of a Helm chart that Helm
// renders before it is YAML: under a chart's templates/ or charts/ (its
// subcharts). The chart's Chart.yaml, values and crds/ are plain YAML.
func (r *Repository) IsChartTemplate(f string) bool {
	for _, c := range r.Charts {
		if under(f, path.Join(c, "templates")) || under(f, path.Join(c, "charts")) {
			return true
		}
	}
	return false
}

// BrokenUnder returns the Broken Kustomizations written at or under dirs
// ("." for all), and the Unreadable paths there.
func (r *Repository) BrokenUnder(dirs []string) []*diag.Error {
	var out []*diag.Error
	for _, d := range slices.Concat(r.Unreadable, r.Broken, r.Cycles) {
		if atOrUnder(d.File, dirs) {
			out = append(out, d)
		}
	}
	return out
}

// substitutingParent returns the Flux Kustomization that substitutes the
// variables in k's spec.path, if it has any: one with post-build
// substitution whose path holds the file k is written in. Flux applies k as
// that parent renders it, its spec substituted. Without such a parent, the
// path is taken as written, and reported missing.
func (r *Repository) substitutingParent(k *Kustomization) *Kustomization {
	if !strings.Contains(k.Spec.Path, "${") {
		return nil
	}
	for p := range r.substitutersOf(k.Object.File) {
		if p != k {
			return p
		}
	}
	return nil
}

// substitutersOf yields the Flux Kustomizations with post-build
// substitution whose path holds file: those that apply it with its
// variables substituted.
func (r *Repository) substitutersOf(file string) iter.Seq[*Kustomization] {
	return func(yield func(*Kustomization) bool) {
		for _, p := range r.Flux {
			pb := p.Spec.PostBuild
			if pb != nil && len(pb.Substitute)+len(pb.SubstituteFrom) > 0 && under(file, p.Path()) && !yield(p) {
				return
			}
		}
	}
}

// coverGenerated marks the kustomization directories a generated
// kustomization at p takes in: the nearest ones under p.
func (r *Repository) coverGenerated(p string, covered map[string]bool) {
	for dir := range r.Kustomizations {
		if !under(dir, p) {
			continue
		}
		nearest := true
		for d := path.Dir(dir); d != p && d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := r.Kustomizations[d]; ok {
				nearest = false
				break
			}
		}
		if nearest {
			covered[dir] = true
		}
	}
}

// under tells whether dir lies strictly below p.
func under(dir, p string) bool {
	if p == "." {
		return dir != "."
	}
	return strings.HasPrefix(dir, p+"/")
}

// atOrUnder tells whether f is one of dirs or lies under one.
func atOrUnder(f string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return f == d || under(f, d) })
}

// NormalizeGitURL reduces the spellings of a Git remote to host/path, so that
// https://host/org/repo.git, ssh://git@host/org/repo and git@host:org/repo
// compare equal; on the forges that ignore the case of names (caseless), so
// do Org/Repo and org/repo. AWS CodeCommit's codecommit::region://repo form
// maps to its HTTPS host.
func NormalizeGitURL(raw string) string {
	s := strings.TrimSpace(raw)
	if rest, ok := strings.CutPrefix(s, "codecommit::"); ok {
		if region, repoName, ok := strings.Cut(rest, "://"); ok {
			if at := strings.LastIndexByte(repoName, '@'); at >= 0 {
				repoName = repoName[at+1:]
			}
			return strings.ToLower("git-codecommit." + region + ".amazonaws.com/v1/repos/" + repoName)
		}
	}
	var host, p string
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		host, p = u.Hostname(), u.Path
	} else if at, colon := strings.IndexByte(s, '@'), strings.IndexByte(s, ':'); colon > at && !strings.Contains(s[:colon], "/") {
		host, p = s[at+1:colon], s[colon+1:]
	} else {
		return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git"))
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	host = strings.ToLower(host)
	if caseless[host] {
		p = strings.ToLower(p)
	}
	return host + "/" + p
}

// caseless are the forges whose owner and repository names are the same
// in any case: a clone of github.com/truxnell/home-cluster is the
// GitRepository of github.com/Truxnell/home-cluster.
var caseless = map[string]bool{"github.com": true, "gitlab.com": true, "bitbucket.org": true, "codeberg.org": true, "dev.azure.com": true, "ssh.dev.azure.com": true}

// namespaceOr is a namespaced object's namespace as the API server would
// set it: "default" when the manifest leaves it out.
func namespaceOr(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// Select returns the roots at or under each of dirs, in the repository's
// order; "." selects every root. A directory with a kustomization file that
// no root covers is rendered on its own, as `kustomize build DIR` would.
func (r *Repository) Select(dirs []string) ([]Root, error) {
	seen := map[string]bool{}
	var out []Root
	for _, d := range dirs {
		n := 0
		// What is set aside there too, when d names it.
		for _, root := range slices.Concat(r.Roots, r.SetAsideUnder([]string{d})) {
			if root.Path == d || under(root.Path, d) {
				n++
				if id := rootKeyID(root); !seen[id] {
					seen[id] = true
					out = append(out, root)
				}
			}
		}
		if n > 0 {
			continue
		}
		if _, ok := r.Kustomizations[d]; ok {
			root := Root{Path: d}
			if id := rootKeyID(root); !seen[id] {
				seen[id] = true
				out = append(out, root)
			}
			continue
		}
		return nil, fmt.Errorf("%s: no render root here (no Flux Kustomization of this repository points at it, and it has no kustomization file)", d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].KustomizationID() < out[j].KustomizationID()
	})
	return out, nil
}

var crdLine = regexp.MustCompile(`(?m)^kind:[ \t]*["']?CustomResourceDefinition\b`)

// crdAPIs lists the API versions the CustomResourceDefinitions of a file
// serve, as Helm's capabilities name them: "group/version" and
// "group/version/Kind".
func crdAPIs(f string, data []byte) []string {
	var out []string
	for _, d := range manifest.Split(data) {
		if !crdLine.Match(d.Text) {
			continue
		}
		o, err := manifest.Decode(f, d)
		if err != nil || o.Kind != "CustomResourceDefinition" || o.Group() != "apiextensions.k8s.io" {
			continue
		}
		spec := manifest.Lookup(o.Node(), "spec")
		group, kind := manifest.Scalar(spec, "group"), manifest.Scalar(manifest.Lookup(spec, "names"), "kind")
		versions := manifest.Lookup(spec, "versions")
		if group == "" || kind == "" || versions == nil {
			continue
		}
		for _, v := range versions.Content {
			name := manifest.Scalar(v, "name")
			if name == "" || manifest.Scalar(v, "served") == "false" {
				continue
			}
			out = append(out, group+"/"+name, group+"/"+name+"/"+kind)
		}
	}
	return out
}

// APIVersions are the API versions the CustomResourceDefinitions written
// in the repository serve, "group/version" and "group/version/Kind",
// sorted: what a cluster that applied them offers Helm's templates.
func (r *Repository) APIVersions() []string {
	return slices.Sorted(maps.Keys(r.apis))
}

// Unread returns the YAML files, kustomization files and chart templates
// aside, that none of results (this repository's renders) reads: what
// nothing the repository describes deploys. Files under a root that did
// not render, or under what its ResourceSets' Kustomizations would build,
// are left out, and all of them when a cluster's entry point did not
// render: what those would read is not known.
func (r *Repository) Unread(results []*Result) []string {
	read := map[string]bool{}
	var failed []string
	for _, res := range results {
		if res.Err != nil {
			if cl := res.Root.Cluster; cl != nil && cl.Entry == res.Root.Kustomization {
				return nil
			}
			failed = append(failed, r.Reaches(res.Root.Path)...)
			failed = append(failed, r.Templated(res.Root)...)
			continue
		}
		for _, in := range res.Inputs {
			p := in.Path
			if orig, ok := res.Root.At.Original(p); ok {
				p = orig // an artifact's copy of this revision's file
			} else if res.Root.At != nil {
				continue // another revision's file
			}
			read[p] = true
		}
	}
	// What a root set aside, and not named, builds is its own (a
	// bootstrap's charts' values, an archive's files).
	rendered := map[string]bool{}
	for _, res := range results {
		rendered[res.Root.Key()] = true
	}
	for _, root := range r.setAside {
		if !rendered[root.Key()] {
			failed = append(failed, r.Reaches(root.Path)...)
		}
	}
	// What a Kustomization of this repository on another ref builds is
	// deployed from there. What one a failed root would apply builds
	// (its path, its components) is not known to be left out.
	var otherRef []string
	for _, s := range r.Skipped {
		k := s.Kustomization
		switch {
		case s.OtherRef:
			otherRef = append(otherRef, k.Path())
		case s.Blocked && k.Spec.Path != "" && !strings.Contains(k.Spec.Path, "${"):
			failed = append(failed, r.Reaches(k.Path())...)
			for _, c := range k.Spec.Components {
				if !kfs.IsRemote(c) {
					failed = append(failed, r.Reaches(path.Join(k.Path(), c))...)
				}
			}
		}
	}
	// Without an entry point, the Flux Kustomizations are read as they are
	// written: the files that write them are where the repository starts.
	legacy := len(r.Clusters) == 0
	var out []string
	for _, f := range r.Files {
		if legacy && r.WritesFlux(f) {
			continue
		}
		if read[f] || !isYAML(f) || kfs.IsKustomizationFile(f) || r.IsChartTemplate(f) || atOrUnder(f, failed) || atOrUnder(f, otherRef) {
			continue
		}
		out = append(out, f)
	}
	return out
}
