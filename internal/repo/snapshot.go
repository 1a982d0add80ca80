package repo

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFile is one file of a revision: its path, mode and blob.
type TreeFile struct {
	Path string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// CommitFiles lists every file of a commit's tree, reading each of its
// tree objects: what FilesTree needs to rebuild the tree without reading
// them again.
func (r *Repo) CommitFiles(hash plumbing.Hash) ([]TreeFile, error) {
	gt, err := r.commitTree(hash)
	if err != nil {
		return nil, err
	}
	var out []TreeFile
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := gt.entries(dir)
		if err != nil {
			return err
		}
		for name, e := range entries {
			p := join(dir, name)
			if e.Mode == filemode.Dir {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			out = append(out, TreeFile{Path: p, Mode: e.Mode, Hash: e.Hash})
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, fmt.Errorf("listing commit %s: %w", hash, err)
	}
	return out, nil
}

// FilesTree returns the tree that holds files, as CommitFiles listed them
// for the commit rev: its directories are in memory, and its blobs are read
// from the object store.
func (r *Repo) FilesTree(rev string, files []TreeFile) Tree {
	t := r.newGitTree(nil, rev)
	t.trees = treesOf(files)
	return t
}

// treesOf builds the directories holding files, by path.
func treesOf(files []TreeFile) map[string]map[string]object.TreeEntry {
	trees := map[string]map[string]object.TreeEntry{".": {}}
	var addDir func(dir string)
	addDir = func(dir string) {
		if _, ok := trees[dir]; ok {
			return
		}
		trees[dir] = map[string]object.TreeEntry{}
		parent, name := splitDir(dir)
		addDir(parent)
		trees[parent][name] = object.TreeEntry{Name: name, Mode: filemode.Dir}
	}
	for _, f := range files {
		dir, name := splitDir(f.Path)
		addDir(dir)
		trees[dir][name] = object.TreeEntry{Name: name, Mode: f.Mode, Hash: f.Hash}
	}
	return trees
}
