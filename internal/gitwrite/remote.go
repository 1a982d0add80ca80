package gitwrite

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// Provider names, shared with package forge and the --provider flag.
const (
	GitHub          = "github"
	GitLab          = "gitlab"
	Gitea           = "gitea"
	BitbucketServer = "bitbucket-server"
	CodeCommit      = "codecommit"
)

// Remote is a parsed remote URL.
type Remote struct {
	// Scheme is https, http, ssh or codecommit.
	Scheme string
	// Host is the host name, without the port.
	Host string
	// Port is empty for the scheme's default.
	Port string
	// User is the user name in the URL (git for git@host:path).
	User string
	// Path is the repository's path without leading slash nor .git:
	// owner/name, group/subgroup/name, scm/PROJECT/repo, v1/repos/name.
	Path string
	// Region and Profile are set for CodeCommit URLs (codecommit::REGION://
	// [PROFILE@]REPO, or an https git-codecommit.REGION.amazonaws.com URL).
	Region, Profile string
	// raw is the URL as given.
	raw string
}

// scpLike matches git@host:path, the SSH short form.
var scpLike = regexp.MustCompile(`^(?:([^@/]+)@)?([^:/]+):([^/].*)$`)

// codecommitHost matches CodeCommit's HTTPS and SSH hosts.
var codecommitHost = regexp.MustCompile(`^git-codecommit(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// ParseRemote parses an https, http, ssh, scp-like (git@host:path) or
// codecommit:: remote URL.
func ParseRemote(raw string) (Remote, error) {
	r := Remote{raw: raw}
	switch {
	case strings.HasPrefix(raw, "codecommit:"):
		return parseCodeCommit(raw)
	case strings.Contains(raw, "://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Remote{}, fmt.Errorf("remote URL %s: %w", redact.NewRedactor().String(raw), err)
		}
		r.Scheme = u.Scheme
		r.Host = u.Hostname()
		r.Port = u.Port()
		r.User = u.User.Username()
		r.Path = u.Path
	default:
		m := scpLike.FindStringSubmatch(raw)
		if m == nil {
			return Remote{}, fmt.Errorf("remote URL %q is neither a URL nor user@host:path", raw)
		}
		r.Scheme, r.User, r.Host, r.Path = "ssh", m[1], m[2], m[3]
	}
	switch r.Scheme {
	case "https", "http", "ssh":
	default:
		return Remote{}, fmt.Errorf("remote URL %s: scheme %q is not supported (https, http, ssh, codecommit)", redact.NewRedactor().String(raw), r.Scheme)
	}
	r.Path = strings.TrimSuffix(strings.Trim(r.Path, "/"), ".git")
	if m := codecommitHost.FindStringSubmatch(r.Host); m != nil {
		r.Region = m[1]
	}
	return r, nil
}

// parseCodeCommit parses git-remote-codecommit's forms:
// codecommit::REGION://[PROFILE@]REPO and codecommit://[PROFILE@]REPO.
func parseCodeCommit(raw string) (Remote, error) {
	rest := strings.TrimPrefix(raw, "codecommit:")
	r := Remote{Scheme: "codecommit", raw: raw}
	if strings.HasPrefix(rest, ":") {
		region, after, ok := strings.Cut(rest[1:], "://")
		if !ok || region == "" {
			return Remote{}, fmt.Errorf("remote URL %q: want codecommit::REGION://[PROFILE@]REPO", raw)
		}
		r.Region, rest = region, after
	} else {
		rest = strings.TrimPrefix(rest, "//")
	}
	if profile, repo, ok := strings.Cut(rest, "@"); ok {
		r.Profile, rest = profile, repo
	}
	if rest == "" || strings.Contains(rest, "/") {
		return Remote{}, fmt.Errorf("remote URL %q: no repository name", raw)
	}
	r.Path = "v1/repos/" + rest
	return r, nil
}

// String returns the URL as given, with any password masked.
func (r Remote) String() string { return redact.NewRedactor().String(r.raw) }

// Repository returns the last element of Path: the repository's name.
func (r Remote) Repository() string { return r.Path[strings.LastIndex(r.Path, "/")+1:] }

// Owner returns Path without its last element: the owner, group path or
// Bitbucket project.
func (r Remote) Owner() string {
	i := strings.LastIndex(r.Path, "/")
	if i < 0 {
		return ""
	}
	return r.Path[:i]
}

// GuessProvider names the forge from the host alone: github.com,
// gitlab.com, CodeCommit hosts and codecommit:: URLs, else "". Self-hosted
// forges need --provider (or, in package forge, the CI's variables).
func (r Remote) GuessProvider() string {
	switch {
	case r.Scheme == "codecommit" || r.Region != "":
		return CodeCommit
	case r.Host == "github.com" || strings.HasSuffix(r.Host, ".ghe.com"):
		return GitHub
	case r.Host == "gitlab.com":
		return GitLab
	case r.Host == "gitea.com" || r.Host == "codeberg.org":
		return Gitea
	}
	return ""
}
