// Package repo gives read-only access to a repository's files, either as they
// are in the working tree or as they are at any Git revision, read straight
// from the object store without a checkout. Every engine reads files through a
// Tree, so the same code renders the working tree and a revision identically.
package repo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repo is a repository on disk: the top of its working tree and, when it is a
// Git repository, the opened object store.
type Repo struct {
	// Root is the absolute, symlink-free path of the working tree's top, or
	// of the folder OpenAt was given.
	Root string
	// Git is nil when Root is not inside a Git repository.
	Git *git.Repository
	// prefix is Root's path inside the Git repository, "" at its top.
	prefix string
	// objects serializes reads of Git's object store, which is not safe
	// for concurrent use, across every tree of the repository.
	objects *sync.Mutex
	// bare is set for a repository without a working tree: only its
	// revisions can be read.
	bare bool
}

// Open finds the repository containing dir. The root is the top of the Git
// working tree that holds dir; outside Git, dir itself is the root.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	top, ok := findGitTop(abs)
	if !ok {
		if r, err := git.PlainOpen(abs); err == nil && isBare(r) {
			return &Repo{Root: abs, Git: keepPacksOpen(r), objects: &sync.Mutex{}, bare: true}, nil
		}
		return &Repo{Root: abs}, nil
	}
	r, err := git.PlainOpenWithOptions(top, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("opening Git repository at %s: %w", top, err)
	}
	return &Repo{Root: top, Git: keepPacksOpen(r), objects: &sync.Mutex{}}, nil
}

// keepPacksOpen reopens r with an object store that keeps its packfiles
// open and reads their indexes in place (packedStorage). go-git otherwise
// opens the packfile anew for every object, and a revision's tree is read
// object by object: a thousand directories cost a thousand opens. The
// descriptors close with the process, or when the garbage collector frees
// the store.
func keepPacksOpen(r *git.Repository) *git.Repository {
	st, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return r
	}
	var wt billy.Filesystem
	if w, err := r.Worktree(); err == nil {
		wt = w.Filesystem
	}
	kept := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	opened, err := git.Open(withPackIndexes(kept), wt)
	if err != nil {
		return r
	}
	return opened
}

// OpenAt treats dir as the root of the source, though it may be a folder
// inside a Git repository: the way a folder pushed with `flux push
// artifact` is the root of an OCIRepository. Revisions are read from the
// enclosing repository, at that folder.
func OpenAt(dir string) (*Repo, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.Abs(abs); err != nil {
		return nil, err
	}
	if abs == r.Root {
		return r, nil
	}
	prefix, err := r.Rel(abs)
	if err != nil {
		return nil, err
	}
	return &Repo{Root: abs, Git: r.Git, prefix: prefix, objects: r.objects}, nil
}

// RemoteURLs lists the URLs of the repository's Git remotes; none outside
// Git.
func (r *Repo) RemoteURLs() []string {
	if r.Git == nil {
		return nil
	}
	remotes, err := r.Git.Remotes()
	if err != nil {
		return nil
	}
	var urls []string
	for _, rm := range remotes {
		urls = append(urls, rm.Config().URLs...)
	}
	return urls
}

// DefaultBranches are the branches the remotes' HEADs name, as a clone
// records them (refs/remotes/origin/HEAD -> origin/main gives "main");
// none when no remote HEAD is recorded (a shallow CI checkout).
func (r *Repo) DefaultBranches() []string {
	if r.Git == nil {
		return nil
	}
	remotes, err := r.Git.Remotes()
	if err != nil {
		return nil
	}
	var out []string
	for _, rm := range remotes {
		name := rm.Config().Name
		ref, err := r.Git.Storer.Reference(plumbing.NewRemoteReferenceName(name, "HEAD"))
		if err != nil || ref.Type() != plumbing.SymbolicReference {
			continue
		}
		if b, ok := strings.CutPrefix(ref.Target().String(), "refs/remotes/"+name+"/"); ok {
			out = append(out, b)
		}
	}
	return out
}

// isBare tells whether r has no working tree (a clone made with --bare, a
// forge's or CI cache's mirror).
func isBare(r *git.Repository) bool {
	_, err := r.Worktree()
	return errors.Is(err, git.ErrIsBareRepository)
}

// findGitTop walks up from dir to the first folder holding a .git entry.
func findGitTop(dir string) (string, bool) {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// Rel returns path relative to the repository root in slash form, or an
// error when path lies outside the repository.
func (r *Repo) Rel(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	rel, err := filepath.Rel(r.Root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the repository %s", path, r.Root)
	}
	return filepath.ToSlash(rel), nil
}

// Tree returns the files at rev: the working tree when rev is empty, else the
// commit rev names (a branch, tag, commit, or an expression such as HEAD~3).
func (r *Repo) Tree(rev string) (Tree, error) {
	if rev == "" {
		if r.bare {
			return nil, fmt.Errorf("%s is a bare Git repository: it has no working tree to read; pass --ref with a branch, tag or commit", r.Root)
		}
		if r.Git == nil || r.prefix != "" {
			return NewWorkTree(r.Root), nil
		}
		return newGitWorkTree(r.Root, r.Git), nil
	}
	hash, err := r.Resolve(rev)
	if err != nil {
		return nil, err
	}
	return r.CommitTree(hash)
}

// Preload reads the object store's pack indexes in the background: the
// first object read from a pack decodes them all, a few milliseconds a
// command that reads blobs later (a hook rendering staged files) spends
// better while it does something else. It holds the lock every read of the
// store takes, so a read waits for it rather than racing it; the caller
// must not read the store through Git directly meanwhile.
func (r *Repo) Preload() {
	if r.Git == nil {
		return
	}
	r.objects.Lock()
	go func() {
		defer r.objects.Unlock()
		// Looking for an object no pack holds reads every pack's index.
		_, _ = r.Git.Storer.EncodedObject(plumbing.AnyObject, plumbing.ZeroHash)
	}()
}

// Resolve returns the commit a revision expression names.
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	if r.Git == nil {
		return plumbing.ZeroHash, fmt.Errorf("--ref %s: %s is not a Git repository", rev, r.Root)
	}
	r.objects.Lock()
	defer r.objects.Unlock()
	if rev == "HEAD" {
		// From the references alone: reading the commit would decode the
		// pack indexes, which a warm diff against HEAD never needs.
		if ref, err := r.Git.Head(); err == nil {
			return ref.Hash(), nil
		}
	}
	h, err := r.Git.ResolveRevision(plumbing.Revision(rev))
	switch {
	case errors.Is(err, io.EOF):
		// go-git's answer when ~N or ^N walks past the first commit.
		return plumbing.ZeroHash, fmt.Errorf("revision %q: the history is shorter than that (no such ancestor)", rev)
	case errors.Is(err, plumbing.ErrReferenceNotFound), errors.Is(err, plumbing.ErrObjectNotFound):
		return plumbing.ZeroHash, fmt.Errorf("revision %q: no branch, tag or commit of that name in %s", rev, r.Root)
	case err != nil:
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
	}
	return *h, nil
}

// MergeBase returns the best common ancestor of commits a and b, and
// whether they have one.
func (r *Repo) MergeBase(a, b plumbing.Hash) (plumbing.Hash, bool, error) {
	r.objects.Lock()
	defer r.objects.Unlock()
	ac, err := r.Git.CommitObject(a)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	bc, err := r.Git.CommitObject(b)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	bases, err := ac.MergeBase(bc)
	if err != nil || len(bases) == 0 {
		return plumbing.ZeroHash, false, err
	}
	return bases[0].Hash, true, nil
}

// CommitTree returns the tree of the given commit.
func (r *Repo) CommitTree(hash plumbing.Hash) (Tree, error) {
	t, err := r.commitTree(hash)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (r *Repo) commitTree(hash plumbing.Hash) (*gitTree, error) {
	r.objects.Lock()
	defer r.objects.Unlock()
	commit, err := r.Git.CommitObject(hash)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", hash, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of %s: %w", hash, err)
	}
	if r.prefix != "" {
		if tree, err = tree.Tree(r.prefix); err != nil {
			return nil, fmt.Errorf("%s at %s: %w", r.prefix, hash, err)
		}
	}
	return r.newGitTree(tree, hash.String()), nil
}

// ErrOutside is returned for a path, or a symlink's target, that leaves the
// repository.
var ErrOutside = errors.New("leaves the repository")

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)
