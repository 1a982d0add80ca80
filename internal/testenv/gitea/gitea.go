// Package gitea starts a real Gitea forge on 127.0.0.1 for tests, so that
// what kubectl gitops does to a forge (push a branch, open a pull request,
// comment on it) is checked against a real pull-request API.
//
// The binary is built once by hack/gitea/build.sh into the tools cache
// folder (see testenv.BinDir). Start skips the test when it is missing, or
// fails it when GITOPS_REQUIRE_TOOLS=1, as CI sets.
//
// Each server gets its own free port, work folder, sqlite database and random
// secrets, so tests can run servers side by side. It has one admin user,
// whose password and API token Server carries; CreateUser adds more. The
// helpers talk to Gitea's REST API (/api/v1) with net/http.
package gitea

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// Version is the Gitea release that hack/gitea/build.sh builds.
const Version = "v1.26.0"

// Binary is the name of the link to the current build in the tools folder.
const Binary = "gitea"

// ReadyTimeout bounds the wait for the API to answer after `gitea web`
// started.
const ReadyTimeout = 60 * time.Second

// stopGrace is how long Gitea gets to exit after SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// startAttempts is how many times Start tries a fresh port when another
// process took the one it chose before Gitea could listen on it.
const startAttempts = 3

// pollTimeout bounds one request of the wait for the API.
const pollTimeout = 2 * time.Second

// requestTimeout bounds one request of the helpers.
const requestTimeout = 60 * time.Second

// Server is a running Gitea.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// AdminUser is the name of a site administrator.
	AdminUser string
	// AdminPassword is AdminUser's password.
	AdminPassword string
	// Token is an API token of AdminUser with every scope. It also works as
	// the password of HTTP basic auth for git over HTTP.
	Token string

	bin    string
	dir    string
	env    []string
	client *http.Client
}

// PullRequest is what PullRequests tells about a pull request.
type PullRequest struct {
	Number int
	Title  string
	Body   string
	// Head and Base are branch names.
	Head, Base string
	// State is "open" or "closed".
	State  string
	Merged bool
	// Labels are label names.
	Labels []string
}

// Comment is a comment on an issue or a pull request.
type Comment struct {
	ID   int64
	Body string
	// User is the login of the author.
	User string
}

// String returns the URL: printing a Server never shows its secrets.
func (s *Server) String() string { return s.URL }

// GoString keeps %#v from printing the secrets too.
func (s *Server) GoString() string { return "gitea.Server(" + s.URL + ")" }

// Start starts a Gitea server with an admin user for the test and stops it in
// t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := filepath.Join(testenv.BinDir(), Binary)
	if info, err := os.Stat(bin); err != nil || info.IsDir() {
		testenv.Missing(t, fmt.Sprintf("%s is not built: run hack/gitea/build.sh (%s=1 makes this a failure)", bin, testenv.RequireEnv))
	}
	began := time.Now()
	s, err := newServer(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var p *testenv.Process
	for attempt := 1; ; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		var retry bool
		p, retry, err = s.start(port)
		if err == nil {
			break
		}
		if !retry || attempt == startAttempts {
			t.Fatal(err)
		}
		t.Logf("gitea: %v; trying another port", err)
	}
	t.Cleanup(func() { p.Stop(stopGrace) })
	if err := s.createAdmin(); err != nil {
		t.Fatal(err)
	}
	t.Logf("gitea %s at %s, started in %s (work folder %s)", Version, s.URL, time.Since(began).Round(time.Millisecond), s.dir)
	return s
}

// newServer prepares a server whose files live in dir.
func newServer(bin, dir string) (*Server, error) {
	for _, sub := range []string{"data", "log", "home", "repositories"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("creating the gitea work folder: %w", err)
		}
	}
	password, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	env := []string{"HOME=" + filepath.Join(dir, "home"), "GITEA_WORK_DIR=" + dir}
	for _, kv := range os.Environ() {
		// The server's settings come from its app.ini alone.
		if !strings.HasPrefix(kv, "GITEA_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return &Server{
		AdminUser:     "gitea-admin",
		AdminPassword: password,
		bin:           bin,
		dir:           dir,
		env:           env,
		client:        &http.Client{},
	}, nil
}

// start writes app.ini for port, starts `gitea web` and waits until the API
// answers. retry reports whether the error may go away with another port.
//
// The port is free when chosen, not necessarily when Gitea listens on it a
// second or two later, and Gitea does not exit when it cannot listen. (It
// could take a listening socket from its parent, as systemd socket activation
// does, but then sends its parent SIGTERM, taking it for an older Gitea.)
// So waitReady checks that the server which answers is this one.
func (s *Server) start(port int) (p *testenv.Process, retry bool, err error) {
	cfg, err := s.config(port)
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(s.appINI(), cfg.appINI(), 0o600); err != nil {
		return nil, false, fmt.Errorf("writing app.ini: %w", err)
	}
	// waitReady reads the log of this attempt only.
	if err := os.Remove(s.giteaLog()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("removing the log of an earlier attempt: %w", err)
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	stdout := filepath.Join(s.dir, "log", "stdout.log")
	p, err = testenv.StartProcess(s.bin, stdout, []string{"web", "--config", s.appINI(), "--work-path", s.dir}, s.env)
	if err != nil {
		return nil, false, err
	}
	if retry, err := s.waitReady(p, cfg.appName); err != nil {
		p.Stop(stopGrace)
		return nil, retry, fmt.Errorf("gitea at %s: %w\n%s:\n%s\n%s:\n%s", s.URL, err,
			stdout, testenv.Tail(stdout, 20), s.giteaLog(), testenv.Tail(s.giteaLog(), 40))
	}
	return p, false, nil
}

// config returns the settings of a server on port.
func (s *Server) config(port int) (config, error) {
	secret, err := randomHex(32)
	if err != nil {
		return config{}, err
	}
	token, err := randomHex(32)
	if err != nil {
		return config{}, err
	}
	runUser := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		runUser = u.Username
	}
	nonce, err := randomHex(8)
	if err != nil {
		return config{}, err
	}
	return config{
		appName:       "kubectl-gitops tests " + nonce,
		dir:           s.dir,
		port:          port,
		runUser:       runUser,
		asRoot:        os.Getuid() == 0,
		secretKey:     secret,
		internalToken: token,
	}, nil
}

// waitReady polls /api/v1/version until it answers, p exits, Gitea logs
// that it cannot serve, or ReadyTimeout passes. Then it checks that the
// server that answered has appName, so is p. retry reports whether another
// process holds the port.
func (s *Server) waitReady(p *testenv.Process, appName string) (retry bool, err error) {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return false, fmt.Errorf("gitea web exited before it was ready: %v", p.Err())
		}
		// Gitea logs this and keeps running.
		if log, err := os.ReadFile(s.giteaLog()); err == nil && bytes.Contains(log, []byte("Failed to start server")) {
			return bytes.Contains(log, []byte("address already in use")), errors.New("gitea web could not serve")
		}
		if last = s.poll("/api/v1/version", nil); last == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		return false, fmt.Errorf("the API did not answer within %s: %w", ReadyTimeout, last)
	}
	// The health check describes the server with its APP_NAME.
	var health struct {
		Description string `json:"description"`
	}
	if err := s.poll("/api/healthz", &health); err != nil {
		return false, err
	}
	if health.Description != appName {
		return true, fmt.Errorf("another server answers on the port: it calls itself %q", health.Description)
	}
	return false, nil
}

// poll gets path without credentials within pollTimeout, decoding the answer
// into out when not nil.
func (s *Server) poll(path string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	return s.do(ctx, "", http.MethodGet, path, nil, out)
}

// createAdmin creates AdminUser with the gitea CLI, then an API token for it.
func (s *Server) createAdmin() error {
	if err := s.cli("admin", "user", "create", "--admin",
		"--username", s.AdminUser, "--password", s.AdminPassword,
		"--email", s.AdminUser+"@example.com", "--must-change-password=false"); err != nil {
		return err
	}
	token, err := s.createToken(s.AdminUser, s.AdminPassword)
	if err != nil {
		return err
	}
	s.Token = token
	return nil
}

// createToken makes an API token with every scope for user. Gitea makes
// tokens only for a caller who signs in with a password.
func (s *Server) createToken(user, password string) (string, error) {
	var created struct {
		Token string `json:"sha1"`
	}
	path := "/api/v1/users/" + url.PathEscape(user) + "/tokens"
	in := map[string]any{"name": "tests", "scopes": []string{"all"}}
	if err := s.do(context.Background(), "Basic "+basicAuth(user, password), http.MethodPost, path, in, &created); err != nil {
		return "", fmt.Errorf("creating a token for %s: %w", user, err)
	}
	if created.Token == "" {
		return "", fmt.Errorf("creating a token for %s: the answer holds no token", user)
	}
	return created.Token, nil
}

// cli runs a gitea command against the server's app.ini. Errors name the
// command by its first three words, which hold no secret, and carry its
// output.
func (s *Server) cli(args ...string) error {
	full := append([]string{"--config", s.appINI(), "--work-path", s.dir}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, full...)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gitea %s: %w\n%s", strings.Join(args[:min(3, len(args))], " "), err, out)
	}
	return nil
}

// CreateUser creates a user who is not an administrator, with a password and
// an API token with every scope, and returns the token.
func (s *Server) CreateUser(t testing.TB, name string) (token string) {
	t.Helper()
	password, err := randomHex(16)
	if err != nil {
		t.Fatal(err)
	}
	s.API(t, s.Token, http.MethodPost, "/api/v1/admin/users", map[string]any{
		"username":             name,
		"email":                name + "@example.com",
		"password":             password,
		"must_change_password": false,
	}, nil)
	token, err = s.createToken(name, password)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// CreateRepo creates an empty repository (no initial commit) owned by owner,
// a user or an organization, and returns its HTTP clone URL. Push to it with
// HTTP basic auth: a user name and that user's token (or password).
func (s *Server) CreateRepo(t testing.TB, owner, name string) (cloneURL string) {
	t.Helper()
	path := "/api/v1/admin/users/" + url.PathEscape(owner) + "/repos"
	if owner == s.AdminUser {
		path = "/api/v1/user/repos"
	}
	var repo struct {
		CloneURL string `json:"clone_url"`
	}
	s.API(t, s.Token, http.MethodPost, path, map[string]any{
		"name":           name,
		"auto_init":      false,
		"default_branch": "main",
	}, &repo)
	return repo.CloneURL
}

// PullRequests returns every pull request of owner/repo, open or closed,
// oldest first.
func (s *Server) PullRequests(t testing.TB, owner, repo string) []PullRequest {
	t.Helper()
	type branch struct {
		Ref string `json:"ref"`
	}
	var raw []struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		Body   string `json:"body"`
		State  string `json:"state"`
		Merged bool   `json:"merged"`
		Head   branch `json:"head"`
		Base   branch `json:"base"`
		Labels []struct {
			Name string `json:"name"`
		} `json:"labels"`
	}
	s.list(t, repoPath(owner, repo)+"/pulls?state=all&sort=oldest", &raw)
	prs := make([]PullRequest, 0, len(raw))
	for _, r := range raw {
		pr := PullRequest{
			Number: r.Number, Title: r.Title, Body: r.Body, State: r.State, Merged: r.Merged,
			Head: r.Head.Ref, Base: r.Base.Ref,
		}
		for _, l := range r.Labels {
			pr.Labels = append(pr.Labels, l.Name)
		}
		prs = append(prs, pr)
	}
	return prs
}

// Comments returns the comments on issue or pull request number of
// owner/repo, oldest first.
func (s *Server) Comments(t testing.TB, owner, repo string, number int) []Comment {
	t.Helper()
	var raw []struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	s.list(t, fmt.Sprintf("%s/issues/%d/comments", repoPath(owner, repo), number), &raw)
	comments := make([]Comment, 0, len(raw))
	for _, r := range raw {
		comments = append(comments, Comment{ID: r.ID, Body: r.Body, User: r.User.Login})
	}
	return comments
}

// API calls the REST API with token (empty for none): it sends in, when not
// nil, as JSON, and decodes the answer into out, when not nil. path starts
// with /api/v1/. Any answer but 2xx fails the test.
func (s *Server) API(t testing.TB, token, method, path string, in, out any) {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "token " + token
	}
	if err := s.do(context.Background(), auth, method, path, in, out); err != nil {
		t.Fatal(err)
	}
}

// list gets every page of a list endpoint into out, a pointer to a slice.
// Gitea's list endpoints answer at most 50 items a page.
func (s *Server) list(t testing.TB, path string, out any) {
	t.Helper()
	const limit = 50
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []json.RawMessage
	for page := 1; ; page++ {
		var items []json.RawMessage
		s.API(t, s.Token, http.MethodGet, fmt.Sprintf("%s%spage=%d&limit=%d", path, sep, page, limit), nil, &items)
		all = append(all, items...)
		if len(items) < limit {
			break
		}
	}
	data, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}

// do sends one request with the Authorization header auth (empty for none).
// A context without deadline gets requestTimeout.
// Errors name the method, the path, the status and Gitea's message, never
// the credentials.
func (s *Server) do(ctx context.Context, auth, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the body of %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// appINI is the path of the server's configuration file.
func (s *Server) appINI() string { return filepath.Join(s.dir, "app.ini") }

// giteaLog is the path of Gitea's own log file.
func (s *Server) giteaLog() string { return filepath.Join(s.dir, "log", "gitea.log") }

// repoPath returns the API path of a repository.
func repoPath(owner, repo string) string {
	return "/api/v1/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
}

// basicAuth returns the credentials part of a Basic Authorization header.
func basicAuth(user, password string) string {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, password)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}
