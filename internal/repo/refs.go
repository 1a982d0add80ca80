package repo

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// FluxRef is a GitRepository's spec.ref, resolved the way
// source-controller resolves it against the remote, here against the
// repository's own branches and tags.
type FluxRef struct {
	Branch, Tag, SemVer, Name, Commit string
}

// ResolveFlux returns the commit a Flux ref names in this repository's
// objects: a commit that is there, the full ref name, the highest tag
// matching the semver range, the tag, or the branch (a local branch, else
// a remote-tracking one of that name). The precedence is source-
// controller's: commit, name, semver, tag, branch.
func (r *Repo) ResolveFlux(ref FluxRef) (plumbing.Hash, string, error) {
	if r.Git == nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s is not a Git repository", r.Root)
	}
	r.objects.Lock()
	defer r.objects.Unlock()
	switch {
	case ref.Commit != "":
		h := plumbing.NewHash(ref.Commit)
		if _, err := r.Git.CommitObject(h); err != nil {
			return plumbing.ZeroHash, "", fmt.Errorf("commit %s is not in this repository's objects", ref.Commit)
		}
		return h, "commit " + ref.Commit, nil
	case ref.Name != "":
		return r.refCommit(plumbing.ReferenceName(ref.Name), ref.Name)
	case ref.SemVer != "":
		return r.semverTag(ref.SemVer)
	case ref.Tag != "":
		return r.refCommit(plumbing.NewTagReferenceName(ref.Tag), "tag "+ref.Tag)
	}
	branch := ref.Branch
	if branch == "" {
		branch = "master"
	}
	if h, what, err := r.refCommit(plumbing.NewBranchReferenceName(branch), "branch "+branch); err == nil {
		return h, what, nil
	}
	remotes, err := r.Git.Remotes()
	if err == nil {
		for _, rm := range remotes {
			if h, what, err := r.refCommit(plumbing.NewRemoteReferenceName(rm.Config().Name, branch), "branch "+branch); err == nil {
				return h, what, nil
			}
		}
	}
	return plumbing.ZeroHash, "", fmt.Errorf("branch %s is neither a branch nor a remote-tracking branch of this repository", branch)
}

// refCommit is the commit a reference points at, peeling annotated tags.
func (r *Repo) refCommit(name plumbing.ReferenceName, what string) (plumbing.Hash, string, error) {
	ref, err := r.Git.Reference(name, true)
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s is not in this repository", what)
	}
	h := ref.Hash()
	if tag, err := r.Git.TagObject(h); err == nil {
		c, err := tag.Commit()
		if err != nil {
			return plumbing.ZeroHash, "", fmt.Errorf("%s: %w", what, err)
		}
		h = c.Hash
	}
	return h, what, nil
}

// semverTag is the highest tag whose version the range takes, as
// source-controller picks it (a leading v allowed).
func (r *Repo) semverTag(rng string) (plumbing.Hash, string, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("semver range %q: %w", rng, err)
	}
	tags, err := r.Git.Tags()
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	var best *semver.Version
	var bestRef *plumbing.Reference
	_ = tags.ForEach(func(ref *plumbing.Reference) error {
		v, err := semver.NewVersion(strings.TrimPrefix(ref.Name().Short(), "v"))
		if err == nil && c.Check(v) && (best == nil || v.GreaterThan(best)) {
			best, bestRef = v, ref
		}
		return nil
	})
	if bestRef == nil {
		return plumbing.ZeroHash, "", fmt.Errorf("no tag of this repository matches semver %s", rng)
	}
	return r.refCommit(bestRef.Name(), "tag "+bestRef.Name().Short())
}
