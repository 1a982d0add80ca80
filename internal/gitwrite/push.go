package gitwrite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// PushRejectedError is a push the remote (or go-git, seeing the remote's
// branch is not an ancestor of ours) refused.
type PushRejectedError struct {
	Branch string
	// Remote is the remote's URL, without credentials.
	Remote string
	// Reason says why, in words.
	Reason string
	err    error
}

// Error names the branch, the remote and the reason.
func (e *PushRejectedError) Error() string {
	return fmt.Sprintf("push of branch %s to %s was rejected: %s", e.Branch, e.Remote, e.Reason)
}

// Unwrap returns go-git's error.
func (e *PushRejectedError) Unwrap() error { return e.err }

// ErrAuth is wrapped by a push error that is about credentials.
var ErrAuth = errors.New("authentication failed")

// Push pushes refs/heads/<branch> to the same branch of the named remote,
// never forcing: the refspec has no '+', so a remote branch that has commits
// ours lacks is a PushRejectedError, not an overwrite. A remote already at
// our commit is success. Every error is redacted with auth.Redactor, and
// says how many times its request was sent when that was more than once
// (RetryHTTP).
func Push(ctx context.Context, repo *git.Repository, remote, branch string, auth Auth) error {
	red := auth.Redactor
	if red == nil {
		red = redact.NewRedactor()
	}
	rc, err := repo.Remote(remote)
	if err != nil {
		return fmt.Errorf("remote %q: %w", remote, err)
	}
	url := auth.URL
	if url == "" && len(rc.Config().URLs) > 0 {
		url = rc.Config().URLs[0]
	}
	shown := red.String(url)
	ref := plumbing.NewBranchReferenceName(branch)
	if _, err := repo.Reference(ref, false); err != nil {
		return fmt.Errorf("branch %s: %w", branch, err)
	}
	spec := config.RefSpec(ref.String() + ":" + ref.String())
	ctx, sent := httpretry.WithCounter(ctx)
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteName: remote,
		RemoteURL:  auth.URL,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       auth.Method,
		Force:      false,
	})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return red.Error(fmt.Errorf("pushing branch %s to %s with %s: %w: %w", branch, shown, auth, ErrAuth, err))
	case strings.Contains(err.Error(), "non-fast-forward"), errors.Is(err, git.ErrForceNeeded):
		return red.Error(&PushRejectedError{Branch: branch, Remote: shown, err: err,
			Reason: "the remote branch has commits that are not in the local one (non-fast-forward); it was not forced: fetch it, or push under another --branch"})
	case strings.Contains(err.Error(), "command error on"), strings.Contains(err.Error(), "rejected"):
		return red.Error(&PushRejectedError{Branch: branch, Remote: shown, err: err, Reason: err.Error()})
	}
	if n := sent.Attempts(); n > 1 {
		return red.Error(fmt.Errorf("pushing branch %s to %s (after %d attempts): %w", branch, shown, n, err))
	}
	return red.Error(fmt.Errorf("pushing branch %s to %s: %w", branch, shown, err))
}
