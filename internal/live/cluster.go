package live

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/redact"
)

// Client rates used when the configuration sets none: kustomize-controller's
// defaults (--kube-api-qps 50, --kube-api-burst 300). client-go's own (5
// and 10) would make a large diff crawl.
const (
	defaultQPS   = 50
	defaultBurst = 300
)

// UnreachableError is the error Diff returns when the cluster does not
// answer, or refuses the credentials.
type UnreachableError struct {
	// Server is the API server's URL, without any user information.
	Server string
	// Reason says what went wrong, briefly ("connection refused").
	Reason string
	// Err is the underlying error.
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the cluster at %s: %s", e.Server, e.Reason)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// cluster is the clients Diff talks to the API server with.
type cluster struct {
	server string
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// warningHandler passes the server's warnings to a function.
type warningHandler func(ctx context.Context, text string)

func (w warningHandler) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	w(ctx, text)
}

// withRetries makes cfg's requests that meet a busy or failing server (a
// load balancer's 502, an API server restarting) go again, as every other
// client of the tool does: briefly, as an unreachable cluster should be
// named soon. client-go itself retries only the answers that carry
// Retry-After.
func withRetries(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &httpretry.Transport{Base: rt, Policy: httpretry.Policy{Attempts: 3, Backoff: 200 * time.Millisecond, MaxWait: 2 * time.Second, Jitter: 0.2}}
	})
}

// connect builds the clients on a copy of cfg and checks that the server
// answers.
func connect(ctx context.Context, cfg *rest.Config, warn warningHandler) (*cluster, error) {
	if cfg == nil {
		return nil, errors.New("no cluster configured")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = defaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = defaultBurst
	}
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warn
	withRetries(cfg)
	c := &cluster{server: serverURL(cfg.Host)}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster at %s: %w", c.server, err)
	}
	if _, err := dc.ServerVersionWithContext(ctx); err != nil && !apierrors.IsForbidden(err) {
		if f := c.fatal(err); f != nil {
			return nil, f
		}
		return nil, &UnreachableError{Server: c.server, Reason: err.Error(), Err: err}
	}
	c.dyn, err = dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster at %s: %w", c.server, err)
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(dc))
	return c, nil
}

// serverURL is host as a URL, without user information.
func serverURL(host string) string {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return host
	}
	u.User = nil
	return u.String()
}

// fatal returns the error that ends the run when err says the cluster is
// gone, refuses the credentials, or ctx ended; nil otherwise.
func (c *cluster) fatal(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if apierrors.IsUnauthorized(err) {
		return &UnreachableError{Server: c.server, Reason: "the server refused the credentials (401 Unauthorized)", Err: err}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return nil
	}
	var errno syscall.Errno
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &errno):
		return &UnreachableError{Server: c.server, Reason: errno.Error(), Err: err}
	case errors.As(err, &dns):
		return &UnreachableError{Server: c.server, Reason: dns.Error(), Err: err}
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &certInvalid):
		return &UnreachableError{Server: c.server, Reason: "TLS: " + urlCause(err), Err: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &UnreachableError{Server: c.server, Reason: "no answer (timed out)", Err: err}
	case errors.As(err, &urlErr):
		return &UnreachableError{Server: c.server, Reason: urlCause(err), Err: err}
	}
	return nil
}

// urlCause is err without the *url.Error's method and URL.
func urlCause(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// mapping finds the resource for gk at version.
func (c *cluster) mapping(ctx context.Context, gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	return c.mapper.RESTMappingWithContext(ctx, gk, version)
}

// anyMapping finds the resource for gk at version, or at the preferred
// version when the cluster no longer serves that one: for reading objects
// applied long ago.
func (c *cluster) anyMapping(ctx context.Context, gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMappingWithContext(ctx, gk, version)
	if err == nil || version == "" || !meta.IsNoMatchError(err) {
		return m, err
	}
	return c.mapper.RESTMappingWithContext(ctx, gk)
}

// resource returns the client for m's resource in namespace ns.
func (c *cluster) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(ns)
	}
	return c.dyn.Resource(m.Resource)
}

// redactor scrubs Secret values out of messages: those of the rendered
// and the live Secrets, raw and base64-encoded, and the caller's. The
// rendered ones and the caller's are masked in diffs too, wherever they
// appear, as diff.Revisions masks the values of rendered Secrets.
type redactor struct {
	msgs *redact.Redactor
	mu   sync.Mutex
	// diffs holds the values masked in diffs too.
	diffs map[string]bool
}

// minSecretLen is the shortest value scrubbed: shorter ones ("1", "yes")
// would mangle unrelated text.
const minSecretLen = 4

func newRedactor(values []string) *redactor {
	r := &redactor{msgs: redact.NewRedactor(), diffs: map[string]bool{}}
	for _, v := range values {
		r.add(v, true)
	}
	return r
}

func (r *redactor) add(v string, inDiffs bool) {
	if len(v) < minSecretLen {
		return
	}
	r.msgs.Add(v)
	if inDiffs {
		r.mu.Lock()
		r.diffs[v] = true
		r.mu.Unlock()
	}
}

// addSecret adds the values of o when it is a Secret: a rendered one
// (masked in diffs too) or a live one.
func (r *redactor) addSecret(o map[string]any, rendered bool) {
	if o["kind"] != "Secret" || o["apiVersion"] != "v1" {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		m, _ := o[field].(map[string]any)
		for _, v := range m {
			s, ok := v.(string)
			if !ok {
				continue
			}
			r.add(s, rendered)
			if field == "data" {
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					r.add(string(b), rendered)
				}
			} else {
				r.add(base64.StdEncoding.EncodeToString([]byte(s)), rendered)
			}
		}
	}
}

// diffValues returns the values masked in diffs, longest first.
func (r *redactor) diffValues() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Collect(maps.Keys(r.diffs))
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return out
}

// text masks the values in s.
func (r *redactor) text(s string) string { return r.msgs.String(s) }

// err returns err with its message masked, keeping what it wraps.
func (r *redactor) err(err error) error { return r.msgs.Error(err) }
