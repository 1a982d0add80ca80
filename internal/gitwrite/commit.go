// Package gitwrite makes the commits, branches and pushes of `kubectl gitops
// images update --commit/--push` and `promote --pr`, in process with go-git.
//
// A commit is built straight in the object store from a base commit's tree
// plus a set of changed files: the working tree, the index and HEAD are never
// read for it nor written, so a user's uncommitted work stays exactly as it
// was. Dirty tells the caller which of the files it is about to commit have
// uncommitted changes, so it can refuse. Push sends one branch without ever
// forcing, with credentials an Auth resolver finds; every error that might
// carry a secret goes through a Redactor.
package gitwrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxOwnCommits bounds the walk that checks, before a branch is updated, that
// every commit on it past the base is one of ours.
const maxOwnCommits = 200

// CommitOptions says where a commit goes and who made it.
type CommitOptions struct {
	// Branch is the short name of the branch to create or update, such as
	// gitops/promote/prod/1a2b3c4d. Required.
	Branch string
	// Author is required; its When may be zero, then When is used.
	Author object.Signature
	// Committer defaults to Author. Its identity (the e-mail address, else
	// the name) is how a later run recognises a commit as its own.
	Committer *object.Signature
	// Message is the commit message. Required.
	Message string
	// When stamps a signature whose When is zero: the caller's clock.
	When time.Time
	// Update allows moving an existing branch, as a re-run of the same
	// promotion does. Even then the branch moves only forward (the new
	// commit has its old tip as a parent, so a push needs no force), and
	// only when every commit on it past base was committed by Committer:
	// someone else's work on the branch is never rewritten nor dropped.
	Update bool
}

// CommitResult tells what Commit did.
type CommitResult struct {
	// Hash is the branch's tip after the call.
	Hash plumbing.Hash
	// Created is false when the branch already held exactly this change
	// on this base, so nothing was written.
	Created bool
	// Updated is true when an existing branch was moved.
	Updated bool
}

// BranchExistsError is returned when the branch exists at another commit and
// may not be moved.
type BranchExistsError struct {
	Branch string
	// Tip is the branch's current commit.
	Tip plumbing.Hash
	// Reason says why it was not moved.
	Reason string
}

// Error says which branch, where it is and why it was left alone.
func (e *BranchExistsError) Error() string {
	return fmt.Sprintf("branch %s already exists at %s: %s", e.Branch, e.Tip.String()[:12], e.Reason)
}

// ErrCheckedOut is returned when the branch to write is the one checked out:
// moving it would change the user's HEAD behind their back.
var ErrCheckedOut = errors.New("is the branch checked out in the working tree")

// ErrNoChanges is returned when the changes leave base's tree as it was.
var ErrNoChanges = errors.New("the changes leave the files as they are at the base commit")

// Commit writes a commit whose tree is base's tree with changes applied
// (slash path relative to the repository root -> new content; nil deletes)
// and points refs/heads/<opts.Branch> at it. It never touches the working
// tree, the index or HEAD.
//
// A new file gets mode 100644; a changed one keeps its mode. Writing through
// a symlink, a submodule or a directory is refused. When the branch already
// holds this very tree on top of base, nothing is written and the existing
// tip is returned. See CommitOptions.Update for an existing branch.
func Commit(repo *git.Repository, base plumbing.Hash, changes map[string][]byte, opts CommitOptions) (CommitResult, error) {
	if err := checkOptions(&opts); err != nil {
		return CommitResult{}, err
	}
	refName := plumbing.NewBranchReferenceName(opts.Branch)
	if head, err := repo.Storer.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference && head.Target() == refName {
		return CommitResult{}, fmt.Errorf("branch %s %w", opts.Branch, ErrCheckedOut)
	}
	baseCommit, err := repo.CommitObject(base)
	if err != nil {
		return CommitResult{}, fmt.Errorf("reading base commit %s: %w", base, err)
	}
	baseTree, err := baseCommit.Tree()
	if err != nil {
		return CommitResult{}, fmt.Errorf("reading the tree of %s: %w", base, err)
	}
	edits, err := splitChanges(changes)
	if err != nil {
		return CommitResult{}, err
	}
	w := &treeWriter{s: repo.Storer}
	treeHash, err := w.apply(baseTree, "", edits)
	if err != nil {
		return CommitResult{}, err
	}
	if treeHash == baseTree.Hash {
		return CommitResult{}, ErrNoChanges
	}

	parents := []plumbing.Hash{base}
	old, err := repo.Storer.Reference(refName)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		old = nil
	case err != nil:
		return CommitResult{}, fmt.Errorf("reading branch %s: %w", opts.Branch, err)
	default:
		tip, err := repo.CommitObject(old.Hash())
		if err != nil {
			return CommitResult{}, fmt.Errorf("reading the tip of branch %s: %w", opts.Branch, err)
		}
		onBase := tip.Hash == base
		if !onBase {
			if onBase, err = baseCommit.IsAncestor(tip); err != nil {
				return CommitResult{}, fmt.Errorf("comparing branch %s with the base: %w", opts.Branch, err)
			}
		}
		if onBase && tip.TreeHash == treeHash {
			return CommitResult{Hash: tip.Hash}, nil
		}
		if !opts.Update {
			return CommitResult{}, &BranchExistsError{Branch: opts.Branch, Tip: tip.Hash, Reason: "it holds other changes; remove it or allow updating it"}
		}
		if err := checkOwnCommits(tip, baseCommit, *opts.Committer, opts.Branch); err != nil {
			return CommitResult{}, err
		}
		// Move forward only: the old tip stays in the history, and a base
		// that moved on comes in as a second parent, so the pull request
		// still shows just these changes against it.
		parents = []plumbing.Hash{tip.Hash}
		if !onBase {
			parents = append(parents, base)
		}
	}

	commit := &object.Commit{
		Author:       opts.Author,
		Committer:    *opts.Committer,
		Message:      opts.Message,
		TreeHash:     treeHash,
		ParentHashes: parents,
	}
	obj := repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return CommitResult{}, fmt.Errorf("encoding the commit: %w", err)
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return CommitResult{}, fmt.Errorf("writing the commit: %w", err)
	}
	// CheckAndSet fails when another process moved the branch meanwhile.
	if err := repo.Storer.CheckAndSetReference(plumbing.NewHashReference(refName, hash), old); err != nil {
		return CommitResult{}, fmt.Errorf("setting branch %s: %w", opts.Branch, err)
	}
	return CommitResult{Hash: hash, Created: true, Updated: old != nil}, nil
}

// checkOptions validates opts and fills its defaults.
func checkOptions(opts *CommitOptions) error {
	if opts.Branch == "" {
		return errors.New("commit: no branch name")
	}
	if err := plumbing.NewBranchReferenceName(opts.Branch).Validate(); err != nil {
		return fmt.Errorf("commit: branch name %q: %w", opts.Branch, err)
	}
	if strings.TrimSpace(opts.Message) == "" {
		return errors.New("commit: empty message")
	}
	if opts.Author.Name == "" && opts.Author.Email == "" {
		return errors.New("commit: no author")
	}
	if opts.Author.When.IsZero() {
		opts.Author.When = opts.When
	}
	if opts.Committer == nil {
		c := opts.Author
		opts.Committer = &c
	} else if opts.Committer.When.IsZero() {
		c := *opts.Committer
		c.When = opts.When
		opts.Committer = &c
	}
	if opts.Author.When.IsZero() || opts.Committer.When.IsZero() {
		return errors.New("commit: no time: set CommitOptions.When")
	}
	return nil
}

// checkOwnCommits walks the commits reachable from tip but not from base and
// fails unless every one was committed by committer.
func checkOwnCommits(tip, base *object.Commit, committer object.Signature, branch string) error {
	seen := map[plumbing.Hash]bool{}
	queue := []*object.Commit{tip}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		if len(seen) > maxOwnCommits {
			return &BranchExistsError{Branch: branch, Tip: tip.Hash, Reason: fmt.Sprintf("it has more than %d commits past the base", maxOwnCommits)}
		}
		if c.Hash == base.Hash {
			continue
		}
		inBase, err := c.IsAncestor(base)
		if err != nil {
			return fmt.Errorf("walking branch %s: %w", branch, err)
		}
		if inBase {
			continue
		}
		if !sameIdentity(c.Committer, committer) {
			return &BranchExistsError{Branch: branch, Tip: tip.Hash,
				Reason: fmt.Sprintf("commit %s on it was made by %s <%s>, not by %s <%s>; it is left alone",
					c.Hash.String()[:12], c.Committer.Name, c.Committer.Email, committer.Name, committer.Email)}
		}
		err = c.Parents().ForEach(func(p *object.Commit) error {
			queue = append(queue, p)
			return nil
		})
		if err != nil {
			return fmt.Errorf("walking branch %s: %w", branch, err)
		}
	}
	return nil
}

// sameIdentity compares e-mail addresses, or names when either has none.
func sameIdentity(a, b object.Signature) bool {
	if a.Email != "" && b.Email != "" {
		return strings.EqualFold(a.Email, b.Email)
	}
	return a.Name == b.Name
}

// edit is what happens at one level of the tree: the files written or
// deleted here, and the edits below each sub-directory.
type edit struct {
	files map[string][]byte // name -> content; nil deletes
	dirs  map[string]*edit
}

// splitChanges turns the flat map into a tree of edits, checking the paths.
func splitChanges(changes map[string][]byte) (*edit, error) {
	root := &edit{files: map[string][]byte{}, dirs: map[string]*edit{}}
	for p, content := range changes {
		clean := path.Clean(p)
		if p == "" || clean != p || clean == "." || strings.HasPrefix(clean, "/") || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("commit: %q is not a clean path relative to the repository root", p)
		}
		parts := strings.Split(clean, "/")
		for _, part := range parts {
			if part == ".git" {
				return nil, fmt.Errorf("commit: %q is inside .git", p)
			}
		}
		e := root
		for _, dir := range parts[:len(parts)-1] {
			if _, clash := e.files[dir]; clash {
				return nil, fmt.Errorf("commit: %q is both a file and a directory in the changes", dir)
			}
			next, ok := e.dirs[dir]
			if !ok {
				next = &edit{files: map[string][]byte{}, dirs: map[string]*edit{}}
				e.dirs[dir] = next
			}
			e = next
		}
		name := parts[len(parts)-1]
		if _, clash := e.dirs[name]; clash {
			return nil, fmt.Errorf("commit: %q is both a file and a directory in the changes", p)
		}
		e.files[name] = content
	}
	return root, nil
}

// treeWriter writes blobs and trees into the object store.
type treeWriter struct {
	s storer.EncodedObjectStorer
}

// apply returns the hash of tree (nil for none) with e applied. dir is the
// tree's path, for messages. A tree left empty returns plumbing.ZeroHash.
func (w *treeWriter) apply(tree *object.Tree, dir string, e *edit) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if tree != nil {
		for _, te := range tree.Entries {
			entries[te.Name] = te
		}
	}
	changed := false
	for name, content := range e.files {
		p := path.Join(dir, name)
		te, exists := entries[name]
		if exists && te.Mode != filemode.Regular && te.Mode != filemode.Executable && te.Mode != filemode.Deprecated {
			return plumbing.ZeroHash, fmt.Errorf("commit: %s is a %s in the base commit, not a file", p, modeName(te.Mode))
		}
		if content == nil {
			if exists {
				delete(entries, name)
				changed = true
			}
			continue
		}
		h, err := w.blob(content)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("commit: writing %s: %w", p, err)
		}
		mode := filemode.Regular
		if exists {
			mode = te.Mode
		}
		if !exists || te.Hash != h {
			entries[name] = object.TreeEntry{Name: name, Mode: mode, Hash: h}
			changed = true
		}
	}
	for name, sub := range e.dirs {
		p := path.Join(dir, name)
		var subtree *object.Tree
		te, exists := entries[name]
		if exists {
			if te.Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("commit: %s is a %s in the base commit, not a directory", p, modeName(te.Mode))
			}
			var err error
			if subtree, err = object.GetTree(w.s, te.Hash); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("commit: reading %s: %w", p, err)
			}
		}
		h, err := w.apply(subtree, p, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch {
		case h.IsZero() && exists:
			delete(entries, name)
			changed = true
		case h.IsZero():
		case !exists || h != te.Hash:
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
			changed = true
		}
	}
	if !changed && tree != nil {
		return tree.Hash, nil
	}
	if len(entries) == 0 && dir != "" {
		return plumbing.ZeroHash, nil
	}
	return w.tree(entries)
}

// blob stores content and returns its hash.
func (w *treeWriter) blob(content []byte) (plumbing.Hash, error) {
	obj := w.s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := io.Copy(wr, bytes.NewReader(content)); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.s.SetEncodedObject(obj)
}

// tree stores a tree of entries, in Git's order.
func (w *treeWriter) tree(entries map[string]object.TreeEntry) (plumbing.Hash, error) {
	t := &object.Tree{}
	for _, te := range entries {
		t.Entries = append(t.Entries, te)
	}
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := w.s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit: encoding a tree: %w", err)
	}
	return w.s.SetEncodedObject(obj)
}

// modeName names a tree entry's kind for messages.
func modeName(m filemode.FileMode) string {
	switch m {
	case filemode.Dir:
		return "directory"
	case filemode.Symlink:
		return "symlink"
	case filemode.Submodule:
		return "submodule"
	default:
		return "file"
	}
}
