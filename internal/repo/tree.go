package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// Kind tells a file from a directory.
type Kind uint8

// The kinds of entries a Tree holds. Symlinks are resolved before a kind is
// reported, so a link to a directory is a Dir.
const (
	File Kind = iota + 1
	Dir
)

// Entry is one name in a directory listing.
type Entry struct {
	Name string
	Kind Kind
	// Link is set when the entry is a symlink (already resolved into Kind).
	Link bool
}

// Tree is a read-only view of a repository's files. Paths are slash-separated
// and relative to the repository root ("." is the root). Symlinks are followed
// as long as they stay inside the repository; one that leaves it gives an
// error wrapping ErrOutside.
type Tree interface {
	// Stat reports the kind of the entry at p, or an error wrapping
	// fs.ErrNotExist.
	Stat(p string) (Kind, error)
	// Resolve returns the path p names once every symlink in it is
	// followed, and the kind of what it names.
	Resolve(p string) (string, Kind, error)
	// ReadFile returns the content of the file at p.
	ReadFile(p string) ([]byte, error)
	// ReadDir lists the directory at p, sorted by name.
	ReadDir(p string) ([]Entry, error)
	// Blob returns the Git blob id of the file at p: the content hash that
	// `git hash-object` prints, the same for a working-tree file and for
	// the committed one.
	Blob(p string) (string, error)
	// Revision is the commit the tree was read from, empty for the
	// working tree.
	Revision() string
}

// ContentBlob returns what t.Blob(p) returns, for a file the caller has
// read, data: a working tree hashes it rather than compare the file's
// status with Git's index, a system call per file that a caller reading
// every file anyway (discovery with a fresh cache) need not pay.
func ContentBlob(t Tree, p string, data []byte) (string, error) {
	if w, ok := t.(*workTree); ok {
		return w.contentBlob(p, data)
	}
	return t.Blob(p)
}

// rawKind is what a directory entry is before symlinks are followed.
type rawKind uint8

const (
	rawFile rawKind = iota + 1
	rawDir
	rawLink
)

// lister is what a Tree implementation provides: one lookup of a name in a
// directory whose path has no symlinks left in it.
type lister interface {
	// lookup returns the kind of name in the resolved directory dir, and the
	// target for a symlink.
	lookup(dir, name string) (rawKind, string, error)
}

// resolver follows symlinks for a lister, the same way for every Tree, and
// remembers the directories it resolved.
type resolver struct {
	l    lister
	dirs sync.Map // unresolved dir path -> resolvedDir
}

type resolvedDir struct {
	path string
	err  error
}

const maxLinkHops = 40

// clean checks that p is a relative path inside the tree and normalizes it.
func clean(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s: %w", p, ErrOutside)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: %w", p, ErrOutside)
	}
	return c, nil
}

// resolve returns the symlink-free path of p and the kind of what it names.
func (r *resolver) resolve(p string) (string, Kind, error) {
	c, err := clean(p)
	if err != nil {
		return "", 0, err
	}
	return r.resolveHops(c, 0)
}

func (r *resolver) resolveHops(c string, hops int) (string, Kind, error) {
	if c == "." {
		return ".", Dir, nil
	}
	dir, name := path.Split(c)
	rdir, err := r.resolveDir(strings.TrimSuffix(dir, "/"), hops)
	if err != nil {
		return "", 0, err
	}
	kind, target, err := r.l.lookup(rdir, name)
	if err != nil {
		return "", 0, err
	}
	switch kind {
	case rawFile:
		return join(rdir, name), File, nil
	case rawDir:
		return join(rdir, name), Dir, nil
	}
	if hops >= maxLinkHops {
		return "", 0, fmt.Errorf("%s: too many levels of symbolic links", c)
	}
	if path.IsAbs(target) {
		return "", 0, fmt.Errorf("%s: symlink to %s %w", c, target, ErrOutside)
	}
	next, err := clean(path.Join(rdir, target))
	if err != nil {
		return "", 0, fmt.Errorf("%s: symlink to %s %w", c, target, ErrOutside)
	}
	return r.resolveHops(next, hops+1)
}

// resolveDir resolves a directory path, memoized: bases are read by many
// overlays, so the same directories are resolved over and over.
func (r *resolver) resolveDir(d string, hops int) (string, error) {
	if d == "" || d == "." {
		return ".", nil
	}
	if v, ok := r.dirs.Load(d); ok {
		rd := v.(resolvedDir)
		return rd.path, rd.err
	}
	p, kind, err := r.resolveHops(d, hops)
	if err == nil && kind != Dir {
		err = fmt.Errorf("%s: not a directory: %w", d, fs.ErrNotExist)
	}
	r.dirs.Store(d, resolvedDir{path: p, err: err})
	return p, err
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// notExist is the error for a missing entry.
func notExist(p string) error {
	return &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

// IsOutside reports whether err says a path left the repository.
func IsOutside(err error) bool { return errors.Is(err, ErrOutside) }
