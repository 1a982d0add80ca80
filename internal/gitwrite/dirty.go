package gitwrite

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Dirty returns, sorted, those of paths (slash paths relative to the
// repository root) that have uncommitted changes: the index differs from
// HEAD, or the working tree from the index. A file that exists in only one
// of them counts too. Only the given paths are read, so a large working tree
// costs nothing; a bare repository has nothing dirty.
func Dirty(repo *git.Repository, paths []string) ([]string, error) {
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the working tree: %w", err)
	}
	var headTree *object.Tree
	if head, err := repo.Head(); err == nil {
		c, err := repo.CommitObject(head.Hash())
		if err != nil {
			return nil, fmt.Errorf("reading HEAD: %w", err)
		}
		if headTree, err = c.Tree(); err != nil {
			return nil, fmt.Errorf("reading HEAD's tree: %w", err)
		}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, fmt.Errorf("reading HEAD: %w", err)
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	var dirty []string
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		inHead := plumbing.ZeroHash
		if headTree != nil {
			if f, err := headTree.File(p); err == nil {
				inHead = f.Hash
			}
		}
		inIndex := plumbing.ZeroHash
		if e, err := idx.Entry(p); err == nil {
			inIndex = e.Hash
		} else if !errors.Is(err, index.ErrEntryNotFound) {
			return nil, fmt.Errorf("reading %s in the index: %w", p, err)
		}
		onDisk, err := worktreeHash(wt.Filesystem, p)
		if err != nil {
			return nil, err
		}
		if inHead != inIndex || inIndex != onDisk {
			dirty = append(dirty, p)
		}
	}
	sort.Strings(dirty)
	return dirty, nil
}

// worktreeHash returns the blob hash of the file at p in the working tree,
// the target for a symlink, or the zero hash when there is no file.
func worktreeHash(fs billy.Filesystem, p string) (plumbing.Hash, error) {
	info, err := fs.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading %s: %w", p, err)
	}
	if info.IsDir() {
		return plumbing.ZeroHash, nil
	}
	if info.Mode()&os.ModeSymlink != 0 {
		target, err := fs.Readlink(p)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading %s: %w", p, err)
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(target)), nil
	}
	f, err := fs.Open(p)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading %s: %w", p, err)
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data), nil
}

// ShortHashLen is the number of hex digits ShortHash returns.
const ShortHashLen = 8

// ShortHash is a stable hash of a set of changes (path -> content, nil for a
// deletion): the same changes give the same hash whatever the map's order,
// so re-running the same promotion names the same branch.
func ShortHash(changes map[string][]byte) string {
	paths := make([]string, 0, len(changes))
	for p := range changes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		content := changes[p]
		if content == nil {
			fmt.Fprintf(h, "D %s\x00", p)
			continue
		}
		fmt.Fprintf(h, "W %s\x00%d\x00", p, len(content))
		h.Write(content)
	}
	return hex.EncodeToString(h.Sum(nil))[:ShortHashLen]
}

// refUnsafe matches runs of characters kept out of generated branch names.
var refUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// PromoteBranch returns gitops/promote/<env>/<short hash of changes>. env is
// the target environment, such as prod or overlays/prod: its last path
// element names it, with characters a ref may not hold replaced by '-'.
func PromoteBranch(env string, changes map[string][]byte) string {
	name := refUnsafe.ReplaceAllString(path.Base(strings.TrimRight(strings.ReplaceAll(env, "\\", "/"), "/")), "-")
	name = strings.Trim(strings.ReplaceAll(name, "..", "-"), ".-")
	if name == "" {
		name = "env"
	}
	return "gitops/promote/" + strings.TrimSuffix(name, ".lock") + "/" + ShortHash(changes)
}

// ImagesBranch returns gitops/images/<short hash of changes>.
func ImagesBranch(changes map[string][]byte) string {
	return "gitops/images/" + ShortHash(changes)
}
