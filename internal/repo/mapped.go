package repo

import (
	"io/fs"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
)

// mapped is a tree made of files of another tree, each at a path of its
// own: the artifact a Flux ArtifactGenerator makes by copying files of its
// sources. Its directories are those that hold a file.
type mapped struct {
	// read and blob read a file of the base, and give its blob id.
	read  func(p string) ([]byte, error)
	blob  func(p string) (string, error)
	files map[string]string          // path here -> path in base
	dirs  map[string]map[string]Kind // dir -> name -> kind
	rev   string
}

// Mapped returns the tree whose files are files of base, each at the path
// files maps it from (path here -> path in base, both cleaned and
// relative). rev names the tree, for the caches that tell trees apart.
func Mapped(base Tree, files map[string]string, rev string) Tree {
	return newMapped(base.ReadFile, base.Blob, files, rev)
}

// Memory returns the tree of files (path: content), held in memory: an
// artifact unpacked from a registry. rev names the tree, for the caches
// that tell trees apart.
func Memory(files map[string][]byte, rev string) Tree {
	paths := make(map[string]string, len(files))
	for p := range files {
		paths[p] = p
	}
	read := func(p string) ([]byte, error) { return files[p], nil }
	blob := func(p string) (string, error) {
		return plumbing.ComputeHash(plumbing.BlobObject, files[p]).String(), nil
	}
	return newMapped(read, blob, paths, rev)
}

func newMapped(read func(string) ([]byte, error), blob func(string) (string, error), files map[string]string, rev string) Tree {
	t := &mapped{read: read, blob: blob, files: files, dirs: map[string]map[string]Kind{".": {}}, rev: rev}
	for p := range files {
		child, kind := p, File
		for dir := path.Dir(p); ; dir = path.Dir(dir) {
			if t.dirs[dir] == nil {
				t.dirs[dir] = map[string]Kind{}
			}
			t.dirs[dir][path.Base(child)] = kind
			if dir == "." {
				break
			}
			child, kind = dir, Dir
		}
	}
	return t
}

// Source returns the path in the base tree a mapped tree's file copies, and
// whether tree is a mapped tree holding p.
func Source(tree Tree, p string) (string, bool) {
	t, ok := tree.(*mapped)
	if !ok {
		return "", false
	}
	c, err := clean(p)
	if err != nil {
		return "", false
	}
	src, ok := t.files[c]
	return src, ok
}

func (t *mapped) Revision() string { return t.rev }

func (t *mapped) Resolve(p string) (string, Kind, error) {
	c, err := clean(p)
	if err != nil {
		return "", 0, err
	}
	if _, ok := t.files[c]; ok {
		return c, File, nil
	}
	if _, ok := t.dirs[c]; ok {
		return c, Dir, nil
	}
	return "", 0, notExist(p)
}

func (t *mapped) Stat(p string) (Kind, error) {
	_, k, err := t.Resolve(p)
	return k, err
}

func (t *mapped) ReadFile(p string) ([]byte, error) {
	c, k, err := t.Resolve(p)
	if err != nil {
		return nil, err
	}
	if k != File {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errIsDir}
	}
	return t.read(t.files[c])
}

func (t *mapped) Blob(p string) (string, error) {
	c, k, err := t.Resolve(p)
	if err != nil {
		return "", err
	}
	if k != File {
		return "", &fs.PathError{Op: "read", Path: p, Err: errIsDir}
	}
	return t.blob(t.files[c])
}

func (t *mapped) ReadDir(p string) ([]Entry, error) {
	c, k, err := t.Resolve(p)
	if err != nil {
		return nil, err
	}
	if k != Dir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	out := make([]Entry, 0, len(t.dirs[c]))
	for name, kind := range t.dirs[c] {
		out = append(out, Entry{Name: name, Kind: kind})
	}
	sortEntries(out)
	return out, nil
}
