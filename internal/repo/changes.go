package repo

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ChangedFiles lists, sorted, the paths of the files that differ between
// two commits: added, removed or changed (content or mode). It compares
// the trees entry by entry, skipping subtrees whose hashes are equal, and
// reads names as Git stores them: go-git's own tree walker refuses a name
// with a control character, which a hostile commit can hold.
func (r *Repo) ChangedFiles(from, to plumbing.Hash) ([]string, error) {
	if r.Git == nil {
		return nil, fmt.Errorf("%s is not a Git repository", r.Root)
	}
	r.objects.Lock()
	defer r.objects.Unlock()
	trees := make([]plumbing.Hash, 2)
	for i, h := range []plumbing.Hash{from, to} {
		c, err := r.Git.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", h, err)
		}
		trees[i] = c.TreeHash
	}
	var removed []string
	var added []TreeFile
	if err := r.diffFiles("", trees[0], trees[1], &removed, &added); err != nil {
		return nil, err
	}
	out := removed
	for _, f := range added {
		out = append(out, f.Path)
	}
	slices.Sort(out)
	return slices.Compact(out), nil // a changed file was removed and added
}

// diffFiles adds to removed the files of tree a under dir that tree b
// does not hold alike, and to added the files of b that a does not hold
// alike, reading only the subtrees whose hashes differ (either tree may be
// the zero hash: none). The caller holds r.objects.
func (r *Repo) diffFiles(dir string, a, b plumbing.Hash, removed *[]string, added *[]TreeFile) error {
	if a == b {
		return nil
	}
	ea, err := r.treeEntries(a)
	if err != nil {
		return err
	}
	eb, err := r.treeEntries(b)
	if err != nil {
		return err
	}
	for name, x := range ea {
		if y, ok := eb[name]; ok && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		p := join(cmp.Or(dir, "."), name)
		if x.Mode != filemode.Dir {
			*removed = append(*removed, p)
		} else if err := r.diffFiles(p, x.Hash, dirHash(eb, name), removed, added); err != nil {
			return err
		}
	}
	for name, y := range eb {
		if x, ok := ea[name]; ok && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		p := join(cmp.Or(dir, "."), name)
		if y.Mode != filemode.Dir {
			*added = append(*added, TreeFile{Path: p, Mode: y.Mode, Hash: y.Hash})
		} else if dirHash(ea, name).IsZero() {
			// A folder a does not have (or has as a file): all of it is new.
			if err := r.diffFiles(p, plumbing.ZeroHash, y.Hash, removed, added); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirHash is the hash of the folder name among entries; zero when there is
// none by that name, or it is a file.
func dirHash(entries map[string]object.TreeEntry, name string) plumbing.Hash {
	if e, ok := entries[name]; ok && e.Mode == filemode.Dir {
		return e.Hash
	}
	return plumbing.ZeroHash
}

// treeEntries returns a tree's entries by name; none for the zero hash.
func (r *Repo) treeEntries(h plumbing.Hash) (map[string]object.TreeEntry, error) {
	out := map[string]object.TreeEntry{}
	if h.IsZero() {
		return out, nil
	}
	t, err := r.Git.TreeObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}
	for _, e := range t.Entries {
		out[e.Name] = e
	}
	return out, nil
}
