package repo

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// workTree reads the files on disk. In a Git repository it shows what a
// commit of the working tree would hold: .git and ignored files that are not
// tracked are left out, so a render of the working tree equals a render of
// a checkout.
type workTree struct {
	root    string
	res     resolver
	ignore  *ignoreRules // nil outside Git
	content sync.Map     // resolved path -> []byte, so one run sees one version of a file
	blobs   sync.Map     // resolved path -> string
}

// NewWorkTree returns the working tree at root with no ignore rules.
func NewWorkTree(root string) Tree {
	t := &workTree{root: root}
	t.res.l = t
	return t
}

// newGitWorkTree returns the working tree of a Git repository, applying its
// ignore rules.
func newGitWorkTree(root string, g *git.Repository) Tree {
	t := &workTree{root: root, ignore: newIgnoreRules(root, g)}
	t.res.l = t
	return t
}

func (t *workTree) Revision() string { return "" }

func (t *workTree) abs(p string) string {
	if p == "." {
		return t.root
	}
	return filepath.Join(t.root, filepath.FromSlash(p))
}

func (t *workTree) lookup(dir, name string) (rawKind, string, error) {
	p := join(dir, name)
	if name == ".git" {
		return 0, "", notExist(p)
	}
	fi, err := os.Lstat(t.abs(p))
	if err != nil {
		return 0, "", notExist(p)
	}
	var kind rawKind
	switch m := fi.Mode(); {
	case m.IsDir():
		kind = rawDir
	case m&fs.ModeSymlink != 0:
		kind = rawLink
	case m.IsRegular():
		kind = rawFile
	default:
		return 0, "", notExist(p)
	}
	if t.ignore != nil && t.ignore.hidden(p, kind == rawDir) {
		return 0, "", notExist(p)
	}
	if kind != rawLink {
		return kind, "", nil
	}
	target, err := os.Readlink(t.abs(p))
	if err != nil {
		return 0, "", notExist(p)
	}
	return rawLink, filepath.ToSlash(target), nil
}

func (t *workTree) Resolve(p string) (string, Kind, error) { return t.res.resolve(p) }

func (t *workTree) Stat(p string) (Kind, error) {
	_, k, err := t.res.resolve(p)
	return k, err
}

func (t *workTree) ReadFile(p string) ([]byte, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return nil, err
	}
	if k != File {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errIsDir}
	}
	if v, ok := t.content.Load(rp); ok {
		return v.([]byte), nil
	}
	data, err := os.ReadFile(t.abs(rp))
	if err != nil {
		return nil, err
	}
	v, _ := t.content.LoadOrStore(rp, data)
	return v.([]byte), nil
}

func (t *workTree) Blob(p string) (string, error) {
	rp, _, err := t.res.resolve(p)
	if err != nil {
		return "", err
	}
	if v, ok := t.blobs.Load(rp); ok {
		return v.(string), nil
	}
	data, err := t.ReadFile(rp)
	if err != nil {
		return "", err
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, data).String()
	t.blobs.Store(rp, h)
	return h, nil
}

func (t *workTree) ReadDir(p string) ([]Entry, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return nil, err
	}
	if k != Dir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	des, err := os.ReadDir(t.abs(rp))
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		e, ok := t.entry(p, rp, de.Name())
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// entry describes name in the directory p (resolved as rp), following a
// symlink; links that leave the repository or dangle are left out.
func (t *workTree) entry(p, rp, name string) (Entry, bool) {
	kind, _, err := t.lookup(rp, name)
	if err != nil {
		return Entry{}, false
	}
	switch kind {
	case rawFile:
		return Entry{Name: name, Kind: File}, true
	case rawDir:
		return Entry{Name: name, Kind: Dir}, true
	}
	_, k, err := t.res.resolve(join(p, name))
	if err != nil {
		return Entry{}, false
	}
	return Entry{Name: name, Kind: k, Link: true}, true
}

// ignoreRules applies .gitignore files and .git/info/exclude the way Git
// decides what is untracked and ignored: a tracked file is never hidden.
type ignoreRules struct {
	root string
	g    *git.Repository

	trackedOnce sync.Once
	tracked     map[string]bool // tracked files and every directory above them

	mu       sync.Mutex
	patterns map[string][]gitignore.Pattern // dir -> patterns in force there
}

func newIgnoreRules(root string, g *git.Repository) *ignoreRules {
	return &ignoreRules{root: root, g: g, patterns: map[string][]gitignore.Pattern{}}
}

func (r *ignoreRules) hidden(p string, isDir bool) bool {
	parts := strings.Split(p, "/")
	m := gitignore.NewMatcher(r.patternsFor(strings.Join(parts[:len(parts)-1], "/")))
	if !m.Match(parts, isDir) {
		return false
	}
	r.trackedOnce.Do(r.loadTracked)
	return !r.tracked[p]
}

// patternsFor returns the patterns in force in dir: those of every
// .gitignore from the root down to dir, plus .git/info/exclude.
func (r *ignoreRules) patternsFor(dir string) []gitignore.Pattern {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.patternsLocked(dir)
}

func (r *ignoreRules) patternsLocked(dir string) []gitignore.Pattern {
	if ps, ok := r.patterns[dir]; ok {
		return ps
	}
	var ps []gitignore.Pattern
	var domain []string
	if dir == "" {
		ps = readPatterns(filepath.Join(r.root, ".git", "info", "exclude"), nil)
	} else {
		domain = strings.Split(dir, "/")
		parent := strings.Join(domain[:len(domain)-1], "/")
		ps = append([]gitignore.Pattern(nil), r.patternsLocked(parent)...)
	}
	ps = append(ps, readPatterns(filepath.Join(r.root, filepath.FromSlash(dir), ".gitignore"), domain)...)
	r.patterns[dir] = ps
	return ps
}

func readPatterns(file string, domain []string) []gitignore.Pattern {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return ParseIgnore(data, domain)
}

// ParseIgnore reads patterns in the .gitignore format, which .sourceignore
// files share, for the directory domain (nil for the root).
func ParseIgnore(data []byte, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

func (r *ignoreRules) loadTracked() {
	r.tracked = map[string]bool{}
	idx, err := r.g.Storer.Index()
	if err != nil {
		return
	}
	for _, e := range idx.Entries {
		for p := e.Name; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
			if r.tracked[p] {
				break
			}
			r.tracked[p] = true
		}
	}
}

// sortEntries orders a listing by name, as os.ReadDir does.
func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
}
