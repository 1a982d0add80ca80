package repo

import (
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
	var out []string
	if err := r.diffTrees("", trees[0], trees[1], &out); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// diffTrees adds to out the files under dir that differ between the trees
// a and b (either may be the zero hash: no tree).
func (r *Repo) diffTrees(dir string, a, b plumbing.Hash, out *[]string) error {
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
	names := map[string]bool{}
	for n := range ea {
		names[n] = true
	}
	for n := range eb {
		names[n] = true
	}
	for name := range names {
		x, inA := ea[name]
		y, inB := eb[name]
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		if inA && inB && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		var subA, subB plumbing.Hash
		if inA && x.Mode == filemode.Dir {
			subA = x.Hash
		} else if inA {
			*out = append(*out, p)
		}
		if inB && y.Mode == filemode.Dir {
			subB = y.Hash
		} else if inB && !(inA && x.Mode != filemode.Dir) {
			*out = append(*out, p)
		}
		if !subA.IsZero() || !subB.IsZero() {
			if err := r.diffTrees(p, subA, subB, out); err != nil {
				return err
			}
		}
	}
	return nil
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
