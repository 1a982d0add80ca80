package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// Option changes what Detect builds.
type Option func(*options)

type options struct {
	httpClient *http.Client
	retry      Retry
	apiURL     string
	codecommit CodeCommitAPI
	secrets    []string
}

// WithSecrets adds secrets to mask in every error, beside the token.
func WithSecrets(secrets ...string) Option {
	return func(o *options) { o.secrets = append(o.secrets, secrets...) }
}

// WithHTTPClient sends every call through client's transport (wrapped in
// the retrying one).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRetry sets the retry policy; the default is DefaultRetry.
func WithRetry(r Retry) Option { return func(o *options) { o.retry = r } }

// WithAPIURL sets the API's base URL instead of the one derived from the
// remote (GitHub Enterprise's https://HOST/api/v3/, GitLab's https://HOST/).
func WithAPIURL(u string) Option { return func(o *options) { o.apiURL = u } }

// WithCodeCommit sets the CodeCommit client (see NewCodeCommitClient).
func WithCodeCommit(c CodeCommitAPI) Option { return func(o *options) { o.codecommit = c } }

// Detect returns the forge that hosts remoteURL. provider (--provider)
// names it when not empty; else the host does (github.com, gitlab.com,
// CodeCommit hosts and codecommit:: URLs), else the CI's variables do: a
// host matching GITHUB_SERVER_URL (GitHub Enterprise; Gitea when
// GITEA_ACTIONS=true) or CI_SERVER_URL (GitLab). The token comes from
// GITOPS_TOKEN, then the provider's variable (GITHUB_TOKEN, GITLAB_TOKEN,
// GITEA_TOKEN, BITBUCKET_TOKEN); CodeCommit uses the AWS client given with
// WithCodeCommit.
func Detect(remoteURL, provider string, getenv func(string) string, opts ...Option) (Forge, error) {
	o := options{retry: DefaultRetry()}
	for _, fn := range opts {
		fn(&o)
	}
	r, err := gitwrite.ParseRemote(remoteURL)
	if err != nil {
		return nil, err
	}
	if provider == "" {
		provider = guessProvider(r, getenv)
	}
	if provider == "" {
		return nil, fmt.Errorf("cannot tell which forge hosts %s: pass --provider github|gitlab|gitea|bitbucket-server|codecommit", r)
	}
	if provider == gitwrite.CodeCommit {
		if o.codecommit == nil {
			return nil, errors.New("codecommit: no AWS client")
		}
		return newCodeCommit(r, o.codecommit, redact.NewRedactor(o.secrets...))
	}
	token := ""
	for _, v := range tokenVars(provider) {
		if token = strings.TrimSpace(getenv(v)); token != "" {
			break
		}
	}
	if token == "" {
		return nil, fmt.Errorf("%s: no API token: set %s", provider, strings.Join(tokenVars(provider), " or "))
	}
	base := http.DefaultTransport
	if o.httpClient != nil && o.httpClient.Transport != nil {
		base = o.httpClient.Transport
	}
	hc := &http.Client{Transport: &httpretry.Transport{Base: base, Policy: o.retry}}
	if o.httpClient != nil {
		hc.Timeout = o.httpClient.Timeout
	}
	red := redact.NewRedactor(append([]string{token}, o.secrets...)...)
	web := webBase(r)
	switch provider {
	case gitwrite.GitHub:
		api := o.apiURL
		if api == "" {
			api = sameHost(getenv("GITHUB_API_URL"), r.Host)
		}
		return newGitHub(r, api, token, hc, red)
	case gitwrite.GitLab:
		api := o.apiURL
		if api == "" {
			api = sameHost(getenv("CI_SERVER_URL"), r.Host)
		}
		if api == "" {
			api = web
		}
		return newGitLab(r, api, token, hc, red)
	case gitwrite.Gitea:
		api := o.apiURL
		if api == "" {
			api = web
		}
		return newGitea(r, api, token, hc, red)
	case gitwrite.BitbucketServer:
		api := o.apiURL
		if api == "" {
			api = web
		}
		return newBitbucket(r, api, token, getenv, hc, red)
	}
	return nil, fmt.Errorf("unknown provider %q: want github, gitlab, gitea, bitbucket-server or codecommit", provider)
}

// guessProvider names the forge from the host, then the CI's variables.
func guessProvider(r gitwrite.Remote, getenv func(string) string) string {
	if p := r.GuessProvider(); p != "" {
		return p
	}
	if sameHost(getenv("GITHUB_SERVER_URL"), r.Host) != "" {
		if getenv("GITEA_ACTIONS") == "true" {
			return gitwrite.Gitea
		}
		return gitwrite.GitHub
	}
	if sameHost(getenv("CI_SERVER_URL"), r.Host) != "" {
		return gitwrite.GitLab
	}
	return ""
}

// sameHost returns u when it is a URL on host, else "".
func sameHost(u, host string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Hostname() != host {
		return ""
	}
	return u
}

// webBase returns the forge's web root for the remote: https://HOST[:PORT]
// (http for an http remote; https for ssh, without the ssh port).
func webBase(r gitwrite.Remote) string {
	scheme, host := "https", r.Host
	if r.Scheme == "http" || r.Scheme == "https" {
		scheme = r.Scheme
		if r.Port != "" {
			host += ":" + r.Port
		}
	}
	return scheme + "://" + host
}

// splitRepo returns owner and name from the remote's path.
func splitRepo(r gitwrite.Remote) (owner, name string, err error) {
	owner, name = r.Owner(), r.Repository()
	if owner == "" || name == "" {
		return "", "", fmt.Errorf("remote %s: want OWNER/NAME in the path", r)
	}
	return owner, name, nil
}

// restClient calls a JSON REST API with the retrying transport.
type restClient struct {
	provider string
	// base is the API root, without a trailing slash.
	base string
	auth func(*http.Request)
	http *http.Client
	red  *redact.Redactor
}

// do sends in as JSON (when not nil) and decodes the answer into out (when
// not nil). A non-2xx answer is an *APIError.
func (c *restClient) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doResp(ctx, method, path, in, out)
	return err
}

func (c *restClient) doResp(ctx context.Context, method, path string, in, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s: encoding %s %s: %w", c.provider, method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, c.red.Error(fmt.Errorf("%s: %s %s: %w", c.provider, method, path, err))
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.auth(req)
	shown, _, _ := strings.Cut(path, "?")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.red.Error(&APIError{Provider: c.provider, Method: method, Path: shown, Message: err.Error()})
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return resp, c.red.Error(fmt.Errorf("%s: reading the answer to %s %s: %w", c.provider, method, shown, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, &APIError{Provider: c.provider, Method: method, Path: shown, Status: resp.StatusCode,
			Message: c.red.String(errorMessage(data)), Attempts: httpretry.Attempts(resp)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("%s: decoding the answer to %s %s: %w", c.provider, method, shown, err)
		}
	}
	return resp, nil
}

// errorMessage picks the message out of an error body: {"message": ...}
// (GitHub, GitLab, Gitea), {"errors": [{"message": ...}]} (Bitbucket
// Server), else the start of the text.
func errorMessage(data []byte) string {
	var v struct {
		Message any `json:"message"`
		Error   any `json:"error"`
		Errors  []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &v) == nil {
		var parts []string
		for _, m := range []any{v.Message, v.Error} {
			switch m := m.(type) {
			case string:
				if m != "" {
					parts = append(parts, m)
				}
			case nil:
			default:
				b, _ := json.Marshal(m)
				parts = append(parts, string(b))
			}
		}
		for _, e := range v.Errors {
			if e.Message != "" {
				parts = append(parts, e.Message)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
