package repo

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// GitRef is a GitRepository's spec.ref: source-controller takes the
// commit, then the name, then the semver range, the tag, and the branch
// (master when none is set).
type GitRef struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	SemVer string `json:"semver,omitempty"`
	Name   string `json:"name,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// BranchName is the branch the ref follows, "" for a tag, a semver range
// or a commit.
func (g GitRef) BranchName() string {
	switch {
	case g.Commit != "":
		return ""
	case g.Name != "":
		b, _ := strings.CutPrefix(g.Name, "refs/heads/")
		if b == g.Name {
			return ""
		}
		return b
	case g.SemVer != "" || g.Tag != "":
		return ""
	case g.Branch != "":
		return g.Branch
	}
	return "master"
}

// String says what the ref is, for people.
func (g GitRef) String() string {
	switch {
	case g.Commit != "":
		return "commit " + g.Commit
	case g.Name != "":
		return g.Name
	case g.SemVer != "":
		return "semver " + g.SemVer
	case g.Tag != "":
		return "tag " + g.Tag
	}
	return "branch " + g.BranchName()
}

// ResolveFlux returns the commit a GitRepository's ref names in this
// repository's objects, as source-controller resolves it against the
// remote: a commit that is there, the full ref name, the highest tag
// matching the semver range, the tag, or the branch (a local branch, else
// a remote-tracking one of that name), in that precedence. It also says
// what it found: the ref, or the tag a semver range picked.
func (r *Repo) ResolveFlux(ref GitRef) (plumbing.Hash, string, error) {
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
		return h, ref.String(), nil
	case ref.Name != "":
		return r.refCommit(plumbing.ReferenceName(ref.Name), ref.String())
	case ref.SemVer != "":
		return r.semverTag(ref.SemVer)
	case ref.Tag != "":
		return r.refCommit(plumbing.NewTagReferenceName(ref.Tag), ref.String())
	}
	branch := ref.BranchName()
	if h, what, err := r.refCommit(plumbing.NewBranchReferenceName(branch), ref.String()); err == nil {
		return h, what, nil
	}
	remotes, err := r.Git.Remotes()
	if err == nil {
		for _, rm := range remotes {
			if h, what, err := r.refCommit(plumbing.NewRemoteReferenceName(rm.Config().Name, branch), ref.String()); err == nil {
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
