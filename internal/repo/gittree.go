package repo

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitTree reads a commit's tree from the object store; a file's content
// comes from the working tree only when it is that exact blob (its Git
// hash says so), whatever the working tree holds. go-git's object store
// is not safe for concurrent use, so every read of it holds objects,
// shared by the repository's trees; what was read is kept (bases are read
// again by every overlay), under the tree's own lock, so that lookups in
// what is kept, all of a tree built in memory (FilesTree), never wait for
// the store.
type gitTree struct {
	rev string
	res resolver

	objects *sync.Mutex
	repo    *git.Repository
	root    *object.Tree

	mu    sync.RWMutex
	trees map[string]map[string]object.TreeEntry // resolved dir -> entries by name
	blobs map[plumbing.Hash][]byte

	// files are all the files of a tree built in memory (FilesTree, no
	// root), sorted by path (searchPath).
	files []TreeFile

	// worktree is the working tree, where most files of the
	// index and of recent commits are as they are in the tree: a regular
	// file there whose Git hash is the blob's is read instead of the
	// object store, which inflates each blob and serializes every read.
	worktree string
}

// worktreeReadMax bounds the working-tree files tried before the object
// store: a larger one is read from the store.
const worktreeReadMax = 8 << 20

// newGitTree returns the tree root (nil for one built in memory) of
// revision rev of r's repository.
func (r *Repo) newGitTree(root *object.Tree, rev string) *gitTree {
	t := &gitTree{
		rev:      rev,
		objects:  r.objects,
		repo:     r.Git,
		root:     root,
		trees:    map[string]map[string]object.TreeEntry{},
		blobs:    map[plumbing.Hash][]byte{},
		worktree: r.Root,
	}
	t.res.l = t
	return t
}

func (t *gitTree) Revision() string { return t.rev }

// entries returns the entries of the resolved directory dir.
func (t *gitTree) entries(dir string) (map[string]object.TreeEntry, error) {
	t.mu.RLock()
	m, ok := t.trees[dir]
	t.mu.RUnlock()
	if ok {
		return m, nil
	}
	var tree *object.Tree
	if dir == "." {
		tree = t.root
	} else {
		parent, name := splitDir(dir)
		pm, err := t.entries(parent)
		if err != nil {
			return nil, err
		}
		e, ok := pm[name]
		if !ok || e.Mode != filemode.Dir || t.root == nil {
			return nil, notExist(dir)
		}
		t.objects.Lock()
		tree, err = t.repo.TreeObject(e.Hash)
		t.objects.Unlock()
		if err != nil {
			return nil, fmt.Errorf("reading tree %s: %w", dir, err)
		}
	}
	m = make(map[string]object.TreeEntry, len(tree.Entries))
	for _, e := range tree.Entries {
		m[e.Name] = e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.trees[dir]; ok { // read meanwhile by another goroutine
		return prev, nil
	}
	t.trees[dir] = m
	return m, nil
}

// entry returns the entry name of the resolved directory dir.
func (t *gitTree) entry(dir, name string) (object.TreeEntry, error) {
	if t.root == nil {
		if e, ok := t.fileIn(dir, name); ok {
			return e, nil
		}
		return object.TreeEntry{}, notExist(join(dir, name))
	}
	m, err := t.entries(dir)
	if err != nil {
		return object.TreeEntry{}, err
	}
	e, ok := m[name]
	if !ok {
		return object.TreeEntry{}, notExist(join(dir, name))
	}
	return e, nil
}

// list returns the entries of the resolved directory dir, in no order.
func (t *gitTree) list(dir string) ([]object.TreeEntry, error) {
	if t.root == nil {
		return t.listIn(dir), nil
	}
	m, err := t.entries(dir)
	if err != nil {
		return nil, err
	}
	out := make([]object.TreeEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	return out, nil
}

func splitDir(p string) (string, string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return ".", p
}

func (t *gitTree) lookup(dir, name string) (rawKind, string, error) {
	e, err := t.entry(dir, name)
	if err != nil {
		return 0, "", err
	}
	switch e.Mode {
	case filemode.Dir:
		return rawDir, "", nil
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		return rawFile, "", nil
	case filemode.Symlink:
		target, err := t.blob(e.Hash)
		if err != nil {
			return 0, "", err
		}
		return rawLink, string(target), nil
	}
	if e.Mode == filemode.Submodule {
		return 0, "", &SubmoduleError{Path: join(dir, name), Commit: e.Hash.String()}
	}
	return 0, "", notExist(join(dir, name))
}

// SubmoduleError is a path into a Git submodule of a revision: the
// submodule's files are in its own repository, not in this one's objects.
// It is also an fs.ErrNotExist.
type SubmoduleError struct {
	Path   string
	Commit string
}

func (e *SubmoduleError) Error() string {
	return fmt.Sprintf("%s is a Git submodule (commit %.12s): its files are not in this repository's objects, so a revision (--ref, --base) cannot read them; the working tree can", e.Path, e.Commit)
}

func (e *SubmoduleError) Unwrap() error { return fs.ErrNotExist }

// blob returns a blob's content, read once.
func (t *gitTree) blob(h plumbing.Hash) ([]byte, error) {
	if b, ok := t.kept(h); ok {
		return b, nil
	}
	data, err := t.readBlob(h)
	if err != nil {
		return nil, err
	}
	return t.keep(h, data), nil
}

// kept returns the blob h when it was read before.
func (t *gitTree) kept(h plumbing.Hash) ([]byte, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	b, ok := t.blobs[h]
	return b, ok
}

// keep keeps the blob h, read as data, and returns what is kept: what
// another goroutine kept meanwhile, if it did.
func (t *gitTree) keep(h plumbing.Hash, data []byte) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.blobs[h]; ok {
		return prev
	}
	t.blobs[h] = data
	return data
}

func (t *gitTree) readBlob(h plumbing.Hash) ([]byte, error) {
	t.objects.Lock()
	defer t.objects.Unlock()
	blob, err := t.repo.BlobObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// fileEntry returns the tree entry of the file at p, symlinks followed,
// and p resolved.
func (t *gitTree) fileEntry(p string) (object.TreeEntry, string, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return object.TreeEntry{}, "", err
	}
	if k != File {
		return object.TreeEntry{}, "", &fs.PathError{Op: "read", Path: p, Err: errIsDir}
	}
	dir, name := splitDir(rp)
	e, err := t.entry(dir, name)
	return e, rp, err
}

func (t *gitTree) Resolve(p string) (string, Kind, error) { return t.res.resolve(p) }

func (t *gitTree) Stat(p string) (Kind, error) {
	_, k, err := t.res.resolve(p)
	return k, err
}

func (t *gitTree) ReadFile(p string) ([]byte, error) {
	e, rp, err := t.fileEntry(p)
	if err != nil {
		return nil, err
	}
	if t.worktree != "" {
		if data, ok := t.fromWorktree(rp, e.Hash); ok {
			return data, nil
		}
	}
	return t.blob(e.Hash)
}

// fromWorktree returns the blob h, the file at the resolved path rp, from
// the working tree when the file there is regular and holds exactly that
// blob.
func (t *gitTree) fromWorktree(rp string, h plumbing.Hash) ([]byte, bool) {
	if b, ok := t.kept(h); ok {
		return b, true
	}
	full := filepath.Join(t.worktree, filepath.FromSlash(rp))
	// Lstat: a FIFO or device where the commit has a file is never opened.
	info, err := os.Lstat(full)
	if err != nil || !info.Mode().IsRegular() || info.Size() > worktreeReadMax {
		return nil, false
	}
	data, err := readFile(full)
	if err != nil || plumbing.ComputeHash(plumbing.BlobObject, data) != h {
		return nil, false
	}
	return t.keep(h, data), true
}

func (t *gitTree) Blob(p string) (string, error) {
	e, _, err := t.fileEntry(p)
	if err != nil {
		return "", err
	}
	return e.Hash.String(), nil
}

func (t *gitTree) ReadDir(p string) ([]Entry, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return nil, err
	}
	if k != Dir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	list, err := t.list(rp)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(list))
	for _, e := range list {
		name := e.Name
		switch e.Mode {
		case filemode.Dir:
			out = append(out, Entry{Name: name, Kind: Dir})
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			out = append(out, Entry{Name: name, Kind: File})
		case filemode.Symlink:
			if _, lk, err := t.res.resolve(join(p, name)); err == nil {
				out = append(out, Entry{Name: name, Kind: lk, Link: true})
			}
		}
	}
	sortEntries(out)
	return out, nil
}

// IndexTree returns the files staged in Git's index: what the next commit
// will hold, read from the object store like a revision. A pre-commit hook
// checks this tree, so that an unstaged edit or an untracked file the
// commit will not carry cannot make it pass. Entries with merge conflicts,
// and files only marked to be added later (git add -N), are left out.
func (r *Repo) IndexTree() (Tree, error) {
	if r.Git == nil {
		return nil, fmt.Errorf("%s is not a Git repository", r.Root)
	}
	idx, _, err := readIndex(r.Git)
	if err != nil {
		return nil, fmt.Errorf("reading Git's index: %w", err)
	}
	prefix := ""
	if r.prefix != "" {
		prefix = r.prefix + "/"
	}
	var files []TreeFile
	for _, e := range idx.Entries {
		p, ok := strings.CutPrefix(e.Name, prefix)
		if !ok || e.Stage != 0 || e.IntentToAdd {
			continue
		}
		files = append(files, TreeFile{Path: p, Mode: e.Mode, Hash: e.Hash})
	}
	return r.FilesTree("", files), nil
}
