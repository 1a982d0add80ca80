// Package registry reads what image automation needs from container
// registries: the tags of image repositories, as Flux's
// image-reflector-controller lists them (go-containerregistry's remote.List,
// following the registry's pagination), and the digest of a tag, as it
// resolves one for a policy that reflects digests (remote.Head).
//
// A Client lists many repositories at once, with a bound on how many it
// lists concurrently, a timeout on each HTTP request, and retries with
// exponential backoff when a registry answers 429 Too Many Requests or a 5xx
// status (honouring Retry-After). A repository that fails does not stop the
// others: each gets its own result, and its error says what to do about it.
// Credentials come from the keychain the caller passes (docker config and
// credential helpers such as docker-credential-ecr-login with
// authn.DefaultKeychain) and never appear in errors.
package registry

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
)

// Defaults for the zero values of Options.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	DefaultRetries     = 4
	DefaultBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	// DefaultPageSize is the number of tags asked for per page, the most
	// Amazon ECR accepts and go-containerregistry's default.
	DefaultPageSize = 1000
)

// Options configure a Client. The zero value works: it lists over HTTPS with
// authn.DefaultKeychain.
type Options struct {
	// Keychain resolves the credentials of each registry. Nil means
	// authn.DefaultKeychain: the docker config file ($DOCKER_CONFIG or
	// ~/.docker/config.json) and the credential helpers it names.
	Keychain authn.Keychain
	// Insecure reaches every registry over plain HTTP.
	Insecure bool
	// InsecureRegistries are the registries (host or host:port) reached over
	// plain HTTP. Loopback and private addresses are tried over HTTP anyway.
	InsecureRegistries []string
	// Concurrency bounds how many repositories (or tags, for Digests) are
	// read at once; 0 means DefaultConcurrency.
	Concurrency int
	// Timeout bounds each HTTP request, from sending it to reading its body;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a request is retried after a 429 or 5xx
	// answer or a network failure; 0 means DefaultRetries, a negative
	// number none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one; 0 means DefaultBackoff.
	Backoff time.Duration
	// MaxBackoff caps each wait; a Retry-After asking for longer ends the
	// retries. 0 means DefaultMaxBackoff.
	MaxBackoff time.Duration
	// PageSize is the number of tags asked for per page; 0 means
	// DefaultPageSize.
	PageSize int
	// UserAgent is added to the User-Agent of every request.
	UserAgent string
	// Transport sends the HTTP requests, every attempt included; nil means
	// go-containerregistry's remote.DefaultTransport. Tests wrap it to
	// count requests.
	Transport http.RoundTripper
	// Progress, when not nil, is called with the number of repositories (or
	// tags) done and their total: first with 0 done, then after each one,
	// from one goroutine at a time.
	Progress func(done, total int)
}

// Client reads tags and digests from registries.
type Client struct {
	opts Options
	// sleep waits for d or until ctx is done; nil waits on a timer, tests
	// replace it.
	sleep func(ctx context.Context, d time.Duration) error

	// The puller and pusher of single artifacts, made once: they keep
	// each repository's authentication between requests.
	pullOnce, pushOnce sync.Once
	pull               *remote.Puller
	push               *remote.Pusher
	pullErr, pushErr   error
}

// artifactPuller returns the client's puller of single artifacts.
func (c *Client) artifactPuller() (*remote.Puller, error) {
	c.pullOnce.Do(func() { c.pull, c.pullErr = c.puller() })
	return c.pull, c.pullErr
}

// artifactPusher returns the client's pusher, made once like the puller.
func (c *Client) artifactPusher() (*remote.Pusher, error) {
	c.pushOnce.Do(func() {
		opts := []remote.Option{
			remote.WithAuthFromKeychain(c.opts.Keychain),
			remote.WithTransport(c.transport()),
			remote.WithRetryStatusCodes(),
			remote.WithRetryPredicate(func(error) bool { return false }),
			remote.WithJobs(1),
		}
		if c.opts.UserAgent != "" {
			opts = append(opts, remote.WithUserAgent(c.opts.UserAgent))
		}
		c.push, c.pushErr = remote.NewPusher(opts...)
	})
	return c.push, c.pushErr
}

// New returns a Client with opts, defaults filled in.
func New(opts Options) *Client {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Transport == nil {
		opts.Transport = remote.DefaultTransport
	}
	opts.InsecureRegistries = slices.Clone(opts.InsecureRegistries)
	return &Client{opts: opts}
}

// Result is the outcome of listing one repository.
type Result struct {
	// Tags are the repository's tags in the order the registry lists them.
	Tags []string
	// Err, when not nil, is an *Error saying why the tags could not be
	// listed.
	Err error
}

// DigestResult is the outcome of resolving one tag.
type DigestResult struct {
	// Digest is the digest of the manifest or index the tag points to,
	// "sha256:...".
	Digest string
	// Err, when not nil, is an *Error.
	Err error
}

// puller returns a go-containerregistry puller for one batch of requests:
// it shares the authentication handshake of each repository between them.
// go-containerregistry's own retries are off: the client's transport does
// them, with Retry-After.
func (c *Client) puller() (*remote.Puller, error) {
	opts := []remote.Option{
		remote.WithAuthFromKeychain(c.opts.Keychain),
		remote.WithTransport(c.transport()),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithPageSize(c.opts.PageSize),
	}
	if c.opts.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.opts.UserAgent))
	}
	return remote.NewPuller(opts...)
}

// transport sends the client's requests with its timeout and retries.
// Every request of a registry may be sent again: reads are, and so is
// starting an upload or putting a blob or manifest by its digest.
func (c *Client) transport() *httpretry.Transport {
	return &httpretry.Transport{Base: c.opts.Transport, Policy: httpretry.Policy{
		Attempts:   c.opts.Retries + 1,
		Backoff:    c.opts.Backoff,
		MaxWait:    c.opts.MaxBackoff,
		Jitter:     0.2,
		Timeout:    c.opts.Timeout,
		Repeatable: func(*http.Request) bool { return true },
		Sleep:      c.sleep,
	}}
}

// nameOptions returns the options to parse a reference to a registry.
func (c *Client) nameOptions(ref string) []name.Option {
	if c.opts.Insecure {
		return []name.Option{name.Insecure}
	}
	if len(c.opts.InsecureRegistries) > 0 {
		if r, err := name.ParseReference(ref); err == nil && slices.Contains(c.opts.InsecureRegistries, r.Context().RegistryStr()) {
			return []name.Option{name.Insecure}
		}
		if r, err := name.NewRepository(ref); err == nil && slices.Contains(c.opts.InsecureRegistries, r.RegistryStr()) {
			return []name.Option{name.Insecure}
		}
	}
	return nil
}

// ListTags lists the tags of each repository ("registry/path/name", Docker
// Hub names such as "nginx" included) and returns one result per
// repository given, keyed as given. Repositories that name the same one are
// listed once.
func (c *Client) ListTags(ctx context.Context, repos []string) map[string]Result {
	results := make(map[string]Result, len(repos))
	p, err := c.puller()
	if err != nil {
		for _, r := range repos {
			results[r] = Result{Err: &Error{Repository: r, Kind: KindInvalid, Err: err}}
		}
		return results
	}
	type job struct {
		repo name.Repository
		as   []string
	}
	var jobs []*job
	byName := map[string]*job{}
	for _, r := range repos {
		repo, err := name.NewRepository(r, c.nameOptions(r)...)
		if err != nil {
			results[r] = Result{Err: &Error{Repository: r, Kind: KindInvalid, Err: err}}
			continue
		}
		if j, ok := byName[repo.Name()]; ok {
			j.as = append(j.as, r)
			continue
		}
		j := &job{repo: repo, as: []string{r}}
		byName[repo.Name()] = j
		jobs = append(jobs, j)
	}
	var mu sync.Mutex
	c.run(ctx, len(jobs), func(ctx context.Context, i int) {
		j := jobs[i]
		ctx, stats := httpretry.WithCounter(ctx)
		tags, err := p.List(ctx, j.repo)
		mu.Lock()
		defer mu.Unlock()
		for _, r := range j.as {
			if err != nil {
				results[r] = Result{Err: classify(ctx, r, err, stats, c.opts.Timeout)}
			} else {
				results[r] = Result{Tags: slices.Clone(tags)}
			}
		}
	})
	return results
}

// Digest returns the digest of the manifest or index a tag reference
// ("registry/path/name:tag") points to, with a HEAD request as Flux does,
// falling back to GET for a registry that does not answer HEAD with the
// digest.
func (c *Client) Digest(ctx context.Context, ref string) (string, error) {
	r := c.Digests(ctx, []string{ref})[ref]
	return r.Digest, r.Err
}

// Digests resolves many tag references at once, with the client's bound on
// concurrency and its progress callback; one result per reference given.
func (c *Client) Digests(ctx context.Context, refs []string) map[string]DigestResult {
	results := make(map[string]DigestResult, len(refs))
	p, err := c.puller()
	if err != nil {
		for _, r := range refs {
			results[r] = DigestResult{Err: &Error{Repository: r, Kind: KindInvalid, Err: err}}
		}
		return results
	}
	unique := slices.Compact(slices.Sorted(slices.Values(refs)))
	var mu sync.Mutex
	c.run(ctx, len(unique), func(ctx context.Context, i int) {
		ref := unique[i]
		d, err := c.digest(ctx, p, ref)
		mu.Lock()
		defer mu.Unlock()
		results[ref] = DigestResult{Digest: d, Err: err}
	})
	return results
}

func (c *Client) digest(ctx context.Context, p *remote.Puller, ref string) (string, error) {
	r, err := name.ParseReference(ref, c.nameOptions(ref)...)
	if err != nil {
		return "", &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	ctx, stats := httpretry.WithCounter(ctx)
	desc, err := p.Head(ctx, r)
	if err != nil && headUnsupported(err) {
		var got *remote.Descriptor
		if got, err = p.Get(ctx, r); err == nil {
			return got.Digest.String(), nil
		}
	}
	if err != nil {
		e := classify(ctx, ref, err, stats, c.opts.Timeout)
		e.tag = true
		return "", e
	}
	return desc.Digest.String(), nil
}

// run calls do for 0..n-1 with at most Concurrency calls at once, reporting
// progress after each.
func (c *Client) run(ctx context.Context, n int, do func(ctx context.Context, i int)) {
	var (
		mu   sync.Mutex
		done int
	)
	if c.opts.Progress != nil {
		c.opts.Progress(0, n)
	}
	var g errgroup.Group
	g.SetLimit(c.opts.Concurrency)
	for i := range n {
		g.Go(func() error {
			do(ctx, i)
			if c.opts.Progress != nil {
				mu.Lock()
				done++
				c.opts.Progress(done, n)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
}

// headUnsupported tells whether a HEAD request failed in a way a GET may not.
func headUnsupported(err error) bool {
	if s, ok := statusOf(err); ok {
		return s == http.StatusMethodNotAllowed || s == http.StatusNotImplemented
	}
	return containsAny(err.Error(), "did not include Docker-Content-Digest", "did not include Content-Type", "did not include Content-Length")
}
