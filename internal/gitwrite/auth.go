package gitwrite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// TokenVariables returns the environment variables whose token is used, in
// order, for a provider, after GITOPS_TOKEN.
func TokenVariables(provider string) []string {
	switch provider {
	case GitHub:
		return []string{"GITHUB_TOKEN", "GH_TOKEN"}
	case GitLab:
		return []string{"GITLAB_TOKEN"}
	case Gitea:
		return []string{"GITEA_TOKEN"}
	case BitbucketServer:
		return []string{"BITBUCKET_TOKEN"}
	}
	return nil
}

// tokenUser returns the conventional user name that goes with a token in
// HTTP basic auth for Git over HTTPS.
func tokenUser(provider string) string {
	switch provider {
	case GitHub:
		return "x-access-token"
	case GitLab:
		return "oauth2"
	case Gitea:
		// Gitea takes a token as the password whatever the user name.
		return "gitops"
	}
	return "git"
}

// Auth is how to authenticate a push. It never prints its secrets.
type Auth struct {
	// Method is nil for none.
	Method transport.AuthMethod
	// Source names where the credentials came from, for messages: an
	// environment variable's name, "git credential fill", "ssh-agent",
	// "the remote URL", or "" for none.
	Source string
	// Redactor knows the secrets, to mask them in any text.
	Redactor *redact.Redactor
	// URL, when not empty, is the URL to push to instead of the remote's
	// (a codecommit:: URL becomes its HTTPS endpoint).
	URL string
}

// String names the source, never the secret.
func (a Auth) String() string {
	if a.Source == "" {
		return "no credentials"
	}
	return "credentials from " + a.Source
}

// AWSCredentials are the parts of an AWS credential that sign a CodeCommit
// push.
type AWSCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// AuthOptions are the inputs of ResolveAuth.
type AuthOptions struct {
	// Getenv reads the environment; required.
	Getenv func(string) string
	// Provider is one of the provider names; empty guesses it from the URL.
	Provider string
	// CredentialFill answers a `git credential fill` request (key=value
	// lines); nil runs the git binary. It returns no error when git has
	// no credentials: empty output then.
	CredentialFill func(ctx context.Context, request string) (string, error)
	// SSHAgent returns the ssh-agent's auth method for user; nil uses
	// go-git's ssh.NewSSHAgentAuth.
	SSHAgent func(user string) (transport.AuthMethod, error)
	// AWS returns credentials for a CodeCommit profile (empty for the
	// default chain); required for CodeCommit remotes.
	AWS func(ctx context.Context, profile, region string) (AWSCredentials, error)
	// Now is the clock for signing CodeCommit pushes; nil uses time.Now.
	Now func() time.Time
}

// ResolveAuth finds credentials to push to remoteURL, in this order:
//
//   - a password in the URL itself;
//   - for http(s): GITOPS_TOKEN, then the provider's token variable (see
//     TokenVariables), as HTTP basic auth with the provider's conventional
//     user name (x-access-token for GitHub, oauth2 for GitLab, any for Gitea;
//     GITOPS_USER overrides it; a Bitbucket Server token without a user
//     name is sent as a bearer token);
//   - for http(s): `git credential fill`, so the user's credential helper
//     (and a CodeCommit helper) answers;
//   - for ssh: the SSH agent;
//   - for CodeCommit (codecommit:: or git-codecommit hosts with no token): a
//     SigV4-signed password from AWS credentials, as git-remote-codecommit
//     makes.
//
// With none of these, Auth has no Method and the push is anonymous.
func ResolveAuth(ctx context.Context, remoteURL string, opts AuthOptions) (Auth, error) {
	if opts.Getenv == nil {
		return Auth{}, errors.New("auth: no Getenv")
	}
	r, err := ParseRemote(remoteURL)
	if err != nil {
		return Auth{}, err
	}
	provider := opts.Provider
	if provider == "" {
		provider = r.GuessProvider()
	}
	red := redact.NewRedactor()
	if r.Scheme == "codecommit" || (provider == CodeCommit && r.Scheme != "ssh") {
		return codecommitAuth(ctx, r, opts, red)
	}
	switch r.Scheme {
	case "ssh":
		return sshAuth(r, opts, red)
	case "http", "https":
	default:
		return Auth{Redactor: red}, nil
	}
	if strings.Contains(remoteURL, "://") {
		if u := userinfoPassword(remoteURL); u != "" {
			red.Add(u)
			return Auth{Source: "the remote URL", Redactor: red}, nil
		}
	}
	vars := append([]string{"GITOPS_TOKEN"}, TokenVariables(provider)...)
	for _, v := range vars {
		token := strings.TrimSpace(opts.Getenv(v))
		if token == "" {
			continue
		}
		user := opts.Getenv("GITOPS_USER")
		if provider == BitbucketServer && user == "" {
			user = opts.Getenv("BITBUCKET_USER")
		}
		red.Add(token)
		if provider == BitbucketServer && user == "" {
			return Auth{Method: &githttp.TokenAuth{Token: token}, Source: v, Redactor: red}, nil
		}
		if user == "" {
			user = tokenUser(provider)
		}
		red.AddBasic(user, token)
		return Auth{Method: &githttp.BasicAuth{Username: user, Password: token}, Source: v, Redactor: red}, nil
	}
	user, password, err := credentialFill(ctx, r, opts)
	if err != nil {
		return Auth{}, red.Error(err)
	}
	if password != "" {
		red.AddBasic(user, password)
		return Auth{Method: &githttp.BasicAuth{Username: user, Password: password}, Source: "git credential fill", Redactor: red}, nil
	}
	return Auth{Redactor: red}, nil
}

// userinfoPassword returns the password in a URL's user information.
func userinfoPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// sshAuth uses the SSH agent.
func sshAuth(r Remote, opts AuthOptions, red *redact.Redactor) (Auth, error) {
	user := r.User
	if user == "" {
		user = "git"
	}
	agent := opts.SSHAgent
	if agent == nil {
		if opts.Getenv("SSH_AUTH_SOCK") == "" {
			return Auth{}, fmt.Errorf("pushing to %s over SSH needs an SSH agent: SSH_AUTH_SOCK is not set", r)
		}
		agent = func(user string) (transport.AuthMethod, error) { return gitssh.NewSSHAgentAuth(user) }
	}
	m, err := agent(user)
	if err != nil {
		return Auth{}, fmt.Errorf("connecting to the SSH agent: %w", err)
	}
	return Auth{Method: m, Source: "ssh-agent", Redactor: red}, nil
}

// credentialFill asks git's credential helpers for the remote's credentials.
func credentialFill(ctx context.Context, r Remote, opts AuthOptions) (user, password string, err error) {
	fill := opts.CredentialFill
	if fill == nil {
		fill = gitCredentialFill
	}
	host := r.Host
	if r.Port != "" {
		host += ":" + r.Port
	}
	req := fmt.Sprintf("protocol=%s\nhost=%s\npath=%s\n", r.Scheme, host, r.Path)
	if r.User != "" {
		req += "username=" + r.User + "\n"
	}
	out, err := fill(ctx, req+"\n")
	if err != nil {
		return "", "", fmt.Errorf("git credential fill for %s://%s: %w", r.Scheme, host, err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			user = v
		case "password":
			password = v
		}
	}
	return user, password, nil
}

// gitCredentialFill runs `git credential fill`, never prompting. No git, or
// no helper that knows the host, gives empty output.
func gitCredentialFill(ctx context.Context, request string) (string, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return "", nil
	}
	cmd := exec.CommandContext(ctx, gitBin, "credential", "fill")
	cmd.Stdin = strings.NewReader(request)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never", "GIT_ASKPASS=", "SSH_ASKPASS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// Nothing found and prompting disabled: not an error, no credentials.
		return "", nil
	}
	return stdout.String(), nil
}

// codecommitAuth signs a password for CodeCommit's HTTPS endpoint with AWS
// credentials, as git-remote-codecommit does: the user name is the access
// key id (with %session-token for temporary credentials), the password is
// the time and a SigV4 signature of a request "GIT /v1/repos/NAME".
func codecommitAuth(ctx context.Context, r Remote, opts AuthOptions, red *redact.Redactor) (Auth, error) {
	region := r.Region
	if region == "" {
		region = opts.Getenv("AWS_REGION")
	}
	if region == "" {
		region = opts.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return Auth{}, fmt.Errorf("CodeCommit remote %s: no region in the URL, AWS_REGION or AWS_DEFAULT_REGION", r)
	}
	if opts.AWS == nil {
		return Auth{}, fmt.Errorf("CodeCommit remote %s: no AWS credential source", r)
	}
	creds, err := opts.AWS(ctx, r.Profile, region)
	if err != nil {
		return Auth{}, fmt.Errorf("CodeCommit remote %s: AWS credentials: %w", r, err)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Auth{}, fmt.Errorf("CodeCommit remote %s: the AWS credentials are empty", r)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	host := "git-codecommit." + region + ".amazonaws.com"
	if r.Host != "" && r.Scheme != "codecommit" {
		host = r.Host
	}
	user, password := CodeCommitPassword(creds, region, host, "/"+r.Path, now().UTC())
	red.Add(creds.SecretAccessKey, creds.SessionToken)
	red.AddBasic(user, password)
	return Auth{
		Method:   &githttp.BasicAuth{Username: user, Password: password},
		Source:   "AWS credentials (SigV4)",
		Redactor: red,
		URL:      "https://" + host + "/" + r.Path,
	}, nil
}

// CodeCommitPassword returns the user name and password with which
// CodeCommit's HTTPS endpoint host accepts a Git request for path
// (/v1/repos/NAME) at time t.
func CodeCommitPassword(creds AWSCredentials, region, host, path string, t time.Time) (user, password string) {
	stamp := t.UTC().Format("20060102T150405")
	day := stamp[:8]
	canonical := "GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"
	sum := sha256.Sum256([]byte(canonical))
	scope := day + "/" + region + "/codecommit/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + creds.SecretAccessKey)
	for _, part := range []string{day, region, "codecommit", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	user = creds.AccessKeyID
	if creds.SessionToken != "" {
		user += "%" + creds.SessionToken
	}
	return user, stamp + "Z" + hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
