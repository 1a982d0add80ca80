package repo

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitTree reads a commit's tree from the object store, never touching the
// working tree. go-git's object store is not safe for concurrent use, so
// every read of it goes through mu, shared by the repository's trees; what
// was read is kept, because bases are read again by every overlay.
type gitTree struct {
	rev string
	res resolver

	mu    *sync.Mutex
	repo  *git.Repository
	trees map[string]map[string]object.TreeEntry // resolved dir -> entries by name
	root  *object.Tree
	blobs map[plumbing.Hash][]byte
}

func newGitTree(r *git.Repository, mu *sync.Mutex, root *object.Tree, rev string) *gitTree {
	t := &gitTree{
		rev:   rev,
		mu:    mu,
		repo:  r,
		root:  root,
		trees: map[string]map[string]object.TreeEntry{},
		blobs: map[plumbing.Hash][]byte{},
	}
	t.res.l = t
	return t
}

func (t *gitTree) Revision() string { return t.rev }

// entries returns the entries of the resolved directory dir. Callers hold mu.
func (t *gitTree) entries(dir string) (map[string]object.TreeEntry, error) {
	if m, ok := t.trees[dir]; ok {
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
		if !ok || e.Mode != filemode.Dir {
			return nil, notExist(dir)
		}
		tree, err = t.repo.TreeObject(e.Hash)
		if err != nil {
			return nil, fmt.Errorf("reading tree %s: %w", dir, err)
		}
	}
	m := make(map[string]object.TreeEntry, len(tree.Entries))
	for _, e := range tree.Entries {
		m[e.Name] = e
	}
	t.trees[dir] = m
	return m, nil
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
	t.mu.Lock()
	defer t.mu.Unlock()
	m, err := t.entries(dir)
	if err != nil {
		return 0, "", err
	}
	e, ok := m[name]
	if !ok {
		return 0, "", notExist(join(dir, name))
	}
	switch e.Mode {
	case filemode.Dir:
		return rawDir, "", nil
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		return rawFile, "", nil
	case filemode.Symlink:
		target, err := t.blobLocked(e.Hash)
		if err != nil {
			return 0, "", err
		}
		return rawLink, string(target), nil
	}
	// Submodules have no content in this tree.
	return 0, "", notExist(join(dir, name))
}

func (t *gitTree) blobLocked(h plumbing.Hash) ([]byte, error) {
	if b, ok := t.blobs[h]; ok {
		return b, nil
	}
	blob, err := t.repo.BlobObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	t.blobs[h] = data
	return data, nil
}

// fileEntry returns the tree entry of the file at p, symlinks followed.
func (t *gitTree) fileEntry(p string) (object.TreeEntry, error) {
	rp, k, err := t.res.resolve(p)
	if err != nil {
		return object.TreeEntry{}, err
	}
	if k != File {
		return object.TreeEntry{}, &fs.PathError{Op: "read", Path: p, Err: errIsDir}
	}
	dir, name := splitDir(rp)
	t.mu.Lock()
	defer t.mu.Unlock()
	m, err := t.entries(dir)
	if err != nil {
		return object.TreeEntry{}, err
	}
	return m[name], nil
}

func (t *gitTree) Resolve(p string) (string, Kind, error) { return t.res.resolve(p) }

func (t *gitTree) Stat(p string) (Kind, error) {
	_, k, err := t.res.resolve(p)
	return k, err
}

func (t *gitTree) ReadFile(p string) ([]byte, error) {
	e, err := t.fileEntry(p)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blobLocked(e.Hash)
}

func (t *gitTree) Blob(p string) (string, error) {
	e, err := t.fileEntry(p)
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
	t.mu.Lock()
	m, err := t.entries(rp)
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(m))
	for name, e := range m {
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
