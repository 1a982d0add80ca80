package gitwrite

import (
	"net/http"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
)

// RetryHTTP has go-git's http and https transports send their requests
// through httpretry with policy p, as the forges' and registries' clients
// do: a push's reference discovery (a GET) is sent again when the forge
// fails or is busy, honouring Retry-After; its receive-pack POST only when
// the forge answers that it did nothing (429), as it may have updated the
// branch otherwise. Push's errors say how many times the last request was
// sent.
//
// go-git takes each protocol's client from a process-wide registry
// (client.InstallProtocol) and has no per-call option for it, so the
// command's main calls this once, before anything runs.
func RetryHTTP(p httpretry.Policy) {
	t := githttp.NewClient(&http.Client{Transport: &httpretry.Transport{Policy: p}})
	client.InstallProtocol("https", t)
	client.InstallProtocol("http", t)
}
