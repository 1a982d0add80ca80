package repo

import (
	"io/fs"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
)

// overlay is a tree with some files replaced or added: what a commit of
// changes on top of base would hold, before it is made.
type overlay struct {
	base    Tree
	changes map[string][]byte
}

// Overlay returns base with the files in changes (repository-relative
// paths, cleaned) replaced or added. The parent directory of an added file
// must exist in base.
func Overlay(base Tree, changes map[string][]byte) Tree {
	return &overlay{base: base, changes: changes}
}

func (o *overlay) Revision() string { return "" }

func (o *overlay) Resolve(p string) (string, Kind, error) {
	if c, err := clean(p); err == nil {
		if _, ok := o.changes[c]; ok {
			return c, File, nil
		}
	}
	return o.base.Resolve(p)
}

func (o *overlay) Stat(p string) (Kind, error) {
	_, k, err := o.Resolve(p)
	return k, err
}

func (o *overlay) ReadFile(p string) ([]byte, error) {
	if c, err := clean(p); err == nil {
		if data, ok := o.changes[c]; ok {
			return data, nil
		}
	}
	return o.base.ReadFile(p)
}

func (o *overlay) Blob(p string) (string, error) {
	if c, err := clean(p); err == nil {
		if data, ok := o.changes[c]; ok {
			return plumbing.ComputeHash(plumbing.BlobObject, data).String(), nil
		}
	}
	return o.base.Blob(p)
}

func (o *overlay) ReadDir(p string) ([]Entry, error) {
	entries, err := o.base.ReadDir(p)
	if err != nil {
		return nil, err
	}
	c, err := clean(p)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: err}
	}
	for f := range o.changes {
		dir, name := path.Split(f)
		if dir == "" {
			dir = "."
		} else {
			dir = dir[:len(dir)-1]
		}
		if dir != c {
			continue
		}
		found := false
		for _, e := range entries {
			found = found || e.Name == name
		}
		if !found {
			entries = append(entries, Entry{Name: name, Kind: File})
		}
	}
	sortEntries(entries)
	return entries, nil
}
