package repo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
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
	// listings holds each directory read so far, so a lookup in it needs
	// no system call: resolved dir -> map[name]listed.
	listings sync.Map
	raw      sync.Map // resolved dir -> map[name]struct{}, before ignore rules
}

// listed is a directory entry as the directory's listing gave it.
type listed struct {
	kind   rawKind
	target string // for a symlink
	err    error
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
	t.ignore.listing = t.rawNames
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
	entries, err := t.listing(dir)
	if err != nil {
		return 0, "", err
	}
	e, ok := entries[name]
	if !ok {
		return 0, "", notExist(join(dir, name))
	}
	return e.kind, e.target, e.err
}

// rawNames lists dir's names before ignore rules, when dir was read.
func (t *workTree) rawNames(dir string) (map[string]struct{}, bool) {
	v, ok := t.raw.Load(dir)
	if !ok {
		return nil, false
	}
	return v.(map[string]struct{}), true
}

// listing reads the resolved directory dir once: every name in it, with
// .git, ignored files and special files left out.
func (t *workTree) listing(dir string) (map[string]listed, error) {
	if v, ok := t.listings.Load(dir); ok {
		return v.(map[string]listed), nil
	}
	des, err := os.ReadDir(t.abs(dir))
	if err != nil {
		return nil, diskError("list", dir, err)
	}
	raw := make(map[string]struct{}, len(des))
	for _, de := range des {
		raw[de.Name()] = struct{}{}
	}
	t.raw.Store(dir, raw)
	m := make(map[string]listed, len(des))
	for _, de := range des {
		name := de.Name()
		if name == ".git" {
			continue
		}
		p := join(dir, name)
		var e listed
		switch typ := de.Type(); {
		case typ.IsDir():
			e.kind = rawDir
		case typ&fs.ModeSymlink != 0:
			e.kind = rawLink
			target, err := os.Readlink(t.abs(p))
			e.target, e.err = filepath.ToSlash(target), err
		case typ.IsRegular():
			e.kind = rawFile
		default:
			continue
		}
		if t.ignore != nil && t.ignore.hidden(p, e.kind == rawDir) {
			continue
		}
		m[name] = e
	}
	v, _ := t.listings.LoadOrStore(dir, m)
	return v.(map[string]listed), nil
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
	data, st, regular, err := readFileStat(t.abs(rp))
	if err != nil {
		return nil, diskError("read", p, err)
	}
	if regular && t.ignore != nil {
		// The status data the read returned tells the blob id of a
		// file unchanged since it was staged: no hash of it to make.
		if h, ok := t.ignore.cleanStat(rp, st); ok {
			t.blobs.LoadOrStore(rp, h)
		}
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
	if t.ignore != nil && rp == p {
		if h, ok := t.ignore.cleanBlob(t.abs(rp), rp); ok {
			t.blobs.Store(rp, h)
			return h, nil
		}
	}
	data, err := t.ReadFile(rp)
	if err != nil {
		return "", err
	}
	return t.hashBlob(rp, data), nil
}

// contentBlob is Blob for a file whose content the caller has read.
func (t *workTree) contentBlob(p string, data []byte) (string, error) {
	rp, _, err := t.res.resolve(p)
	if err != nil {
		return "", err
	}
	if v, ok := t.blobs.Load(rp); ok {
		return v.(string), nil
	}
	return t.hashBlob(rp, data), nil
}

// hashBlob returns, and keeps, the blob id of the resolved file rp whose
// content is data.
func (t *workTree) hashBlob(rp string, data []byte) string {
	v, _ := t.blobs.LoadOrStore(rp, plumbing.ComputeHash(plumbing.BlobObject, data).String())
	return v.(string)
}

func (t *workTree) ReadDir(p string) ([]Entry, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return nil, err
	}
	if k != Dir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	names, err := t.listing(rp)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for name := range names {
		if e, ok := t.entry(p, rp, name); ok {
			out = append(out, e)
		}
	}
	sortEntries(out)
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

// diskError reports a failed read of the repository-relative path p with
// the system's reason (permission denied, ...), not the absolute path; a
// path that is gone is fs.ErrNotExist.
func diskError(op, p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return notExist(p)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// ignoreRules applies .gitignore files and .git/info/exclude the way Git
// decides what is untracked and ignored: a tracked file is never hidden.
type ignoreRules struct {
	root string
	g    *git.Repository

	trackedOnce sync.Once
	tracked     []*index.Entry // the index's entries, sorted by path (searchPath)
	entries     []*index.Entry // those of files in the working tree, unconflicted
	indexTime   time.Time      // when the index was written

	mu       sync.Mutex
	patterns map[string][]gitignore.Pattern // dir -> patterns in force there

	// listing returns a directory's raw listing when the tree has read it.
	listing func(dir string) (map[string]struct{}, bool)
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
	_, _, tracked := searchPath(len(r.tracked), func(i int) string { return r.tracked[i].Name }, p)
	return !tracked
}

// entry returns the index's entry of the file at rel, unless it is in a
// merge conflict, marked to be added later or skipped in the working tree.
func (r *ignoreRules) entry(rel string) (*index.Entry, bool) {
	r.trackedOnce.Do(r.loadTracked)
	i, dir, ok := searchPath(len(r.entries), func(i int) string { return r.entries[i].Name }, rel)
	if !ok || dir {
		return nil, false
	}
	return r.entries[i], true
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
	if r.hasFile(dir, ".gitignore") {
		ps = append(ps, readPatterns(filepath.Join(r.root, filepath.FromSlash(dir), ".gitignore"), domain)...)
	}
	r.patterns[dir] = ps
	return ps
}

// hasFile tells whether dir holds name, from the directory's listing when
// one was read, so most directories cost no failed open.
func (r *ignoreRules) hasFile(dir, name string) bool {
	if r.listing != nil {
		if m, ok := r.listing(dir); ok {
			_, found := m[name]
			return found
		}
	}
	_, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(dir), name))
	return err == nil
}

func readPatterns(file string, domain []string) []gitignore.Pattern {
	data, err := readFile(file)
	if err != nil {
		return nil
	}
	return parseIgnore(data, domain)
}

// parseIgnore reads patterns in the .gitignore format, which .sourceignore
// files share, for the directory domain (nil for the root).
func parseIgnore(data []byte, domain []string) []gitignore.Pattern {
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
	idx, written, err := readIndex(r.g)
	if err != nil {
		return
	}
	r.tracked, r.indexTime = idx.Entries, written
	if !slices.IsSortedFunc(r.tracked, byName) {
		r.tracked = slices.Clone(r.tracked)
		slices.SortFunc(r.tracked, byName)
	}
	r.entries = make([]*index.Entry, 0, len(r.tracked))
	for _, e := range r.tracked {
		if e.Stage == 0 && !e.IntentToAdd && !e.SkipWorktree { // stage 0: not in a merge conflict
			r.entries = append(r.entries, e)
		}
	}
}

func byName(a, b *index.Entry) int { return strings.Compare(a.Name, b.Name) }

// cleanBlob returns the blob id the index records for the regular file at
// rel when the file on disk is unchanged since it was staged, so its content
// need not be read: by Git's own rules, the same size, modification time,
// change time, inode, device and owner, and not modified in the same
// instant the index was written (Git's "racy" case). Anything else, or a
// platform without that status data, reads and hashes the file.
func (r *ignoreRules) cleanBlob(abs, rel string) (string, bool) {
	if _, tracked := r.entry(rel); !tracked {
		return "", false // no system call for an untracked file
	}
	fi, err := os.Lstat(abs)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	st, ok := statOf(fi)
	if !ok {
		return "", false
	}
	return r.cleanStat(rel, st)
}

// cleanStat is cleanBlob for the regular file at rel whose status data is
// st: the comparison, field by field as Git makes it (the index keeps the
// low 32 bits of the inode and device).
func (r *ignoreRules) cleanStat(rel string, st fileStat) (string, bool) {
	e, ok := r.entry(rel)
	if !ok || (e.Mode != filemode.Regular && e.Mode != filemode.Executable) || r.indexTime.IsZero() {
		return "", false
	}
	if st.size != int64(e.Size) || !st.mtime.Equal(e.ModifiedAt) || !st.mtime.Before(r.indexTime) ||
		!st.ctime.Equal(e.CreatedAt) || uint32(st.ino) != e.Inode || uint32(st.dev) != e.Dev || st.uid != e.UID || st.gid != e.GID {
		return "", false
	}
	return e.Hash.String(), true
}

// fileStat is what Git's index records of a file on disk, to tell it
// unchanged since it was staged: a copy with `cp -p`, a chmod or a
// rewrite in place changes the ctime even when it keeps the size and
// modification time.
type fileStat struct {
	size         int64
	mtime, ctime time.Time
	ino, dev     uint64
	uid, gid     uint32
}

// sortEntries orders a listing by name, as os.ReadDir does.
func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
}
