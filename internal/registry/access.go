package registry

import (
	"crypto/tls"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Access is how one Flux source reaches its registry, from its spec: the
// credentials of its secretRef, the TLS settings of its certSecretRef and
// whether it is insecure (plain HTTP).
type Access struct {
	// Keychain is asked for credentials before the client's own (the docker
	// config and its helpers); nil adds none.
	Keychain authn.Keychain
	// TLS is the TLS configuration of the connections (a CA, a client
	// certificate); nil keeps the client's. It applies when the client's
	// Transport is an *http.Transport, remote.DefaultTransport included; a
	// caller's other transport is kept as it is.
	TLS *tls.Config
	// Insecure reaches the registry over plain HTTP.
	Insecure bool
}

// With returns a client like c that reaches registries as a carries: its
// keychain first, its TLS settings, plain HTTP when insecure. It keeps its
// own authentication state, so a source's credentials are never sent
// where another source's request goes.
func (c *Client) With(a Access) *Client {
	opts := c.opts
	if a.Keychain != nil {
		opts.Keychain = authn.NewMultiKeychain(a.Keychain, c.opts.Keychain)
	}
	if t, ok := opts.Transport.(*http.Transport); ok && a.TLS != nil {
		t = t.Clone()
		t.TLSClientConfig = a.TLS
		opts.Transport = t
	}
	opts.Insecure = opts.Insecure || a.Insecure
	return &Client{opts: opts, sleep: c.sleep}
}
