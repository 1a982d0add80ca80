package render

import (
	"encoding/hex"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// CommitTree returns the tree of a commit of r. A commit never changes, so
// the list of its files is kept in c: the next run rebuilds the tree from
// it instead of reading every tree object (for a diff, the base's, on each
// run). A nil cache reads the commit.
func CommitTree(c *cache.Cache, salt string, r *repo.Repo, hash plumbing.Hash) (repo.Tree, error) {
	if c == nil {
		return r.CommitTree(hash)
	}
	key := cache.Key(snapshotHeader, salt, r.Root, hash.String())
	if data, ok := c.GetString(key); ok {
		if files, err := decodeSnapshot(data); err == nil {
			return r.FilesTree(hash.String(), files), nil
		}
	}
	files, err := r.CommitFiles(hash)
	if err != nil {
		return nil, err
	}
	_ = c.PutRecord(key, snapshotHeader, func(w *cache.Writer) { encodeSnapshot(w, files) })
	return r.FilesTree(hash.String(), files), nil
}

const snapshotHeader = "commit-files/1"

func encodeSnapshot(w *cache.Writer, files []repo.TreeFile) {
	w.Int(len(files))
	for _, f := range files {
		w.String(f.Path)
		w.Int(int(f.Mode))
		w.String(f.Hash.String())
	}
}

func decodeSnapshot(data string) ([]repo.TreeFile, error) {
	r := cache.NewReader(snapshotHeader, data)
	files := make([]repo.TreeFile, r.Count(3))
	for i := range files {
		f := &files[i]
		f.Path, f.Mode = r.Field(), filemode.FileMode(r.Int())
		hash := r.Field()
		if f.Path == "" || len(hash) != hex.EncodedLen(len(f.Hash)) {
			return nil, cache.ErrRecord
		}
		if _, err := hex.Decode(f.Hash[:], []byte(hash)); err != nil {
			return nil, cache.ErrRecord
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return files, nil
}
