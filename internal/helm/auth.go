package helm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// Auth is how a chart source reaches its server, from its spec and the
// Secrets its secretRef and certSecretRef name, as source-controller reads
// them. The zero value is the docker config and its helpers, over TLS with
// the system's CAs.
type Auth struct {
	// Username and Password are basic credentials (secretRef's username
	// and password).
	Username, Password string
	// DockerConfig is the secretRef's .dockerconfigjson: registry
	// credentials by host, as in an imagePullSecret.
	DockerConfig []byte
	// CA, Cert and Key are PEM (certSecretRef's ca.crt, tls.crt, tls.key):
	// the CA the server's certificate is checked against, besides the
	// system's, and a client certificate with its key.
	CA, Cert, Key []byte
	// Insecure reaches an OCI registry over plain HTTP (spec.insecure).
	Insecure bool
	// Provider is the spec's provider: aws, azure or gcp sign in with the
	// cloud's identity, which here is the docker config's credential
	// helper for the registry (docker-credential-ecr-login for ECR).
	Provider string
}

// key identifies the client an Auth makes, without holding a secret.
func (a Auth) key() string {
	return cache.Key("helm-auth/1", a.Username, a.Password, string(a.DockerConfig),
		string(a.CA), string(a.Cert), string(a.Key), fmt.Sprint(a.Insecure))
}

// plain tells whether a needs no client of its own.
func (a Auth) plain() bool {
	return a.Username == "" && len(a.DockerConfig) == 0 && len(a.CA) == 0 && len(a.Cert) == 0 && len(a.Key) == 0 && !a.Insecure
}

// hint is said after a refusal of the credentials of a source whose
// provider signs in with the cloud's identity.
func (a Auth) hint() string {
	switch a.Provider {
	case "aws", "azure", "gcp":
		return fmt.Sprintf("; with provider %s the cluster signs in with its cloud identity, here the registry's credential helper in the docker config does", a.Provider)
	}
	return ""
}

// client returns the registry client of a: f's own when a adds nothing,
// else one made once per run for each distinct Auth.
func (f *Fetcher) client(a Auth) (*registry.Client, error) {
	if a.plain() {
		return f.registry, nil
	}
	k := a.key()
	if c, ok := f.clients.Load(k); ok {
		return c.(*registry.Client), nil
	}
	access, err := a.access()
	if err != nil {
		return nil, err
	}
	c, _ := f.clients.LoadOrStore(k, f.registry.With(access))
	return c.(*registry.Client), nil
}

// access turns a into what the registry client needs. The docker config
// is read by go-containerregistry's Kubernetes keychain, as
// source-controller reads an imagePullSecret.
func (a Auth) access() (registry.Access, error) {
	var out registry.Access
	switch {
	case len(a.DockerConfig) > 0:
		kc, err := kauth.NewFromPullSecrets(context.Background(), []corev1.Secret{{
			Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: a.DockerConfig},
		}})
		if err != nil {
			return out, errors.New("its secretRef's .dockerconfigjson is not a docker config")
		}
		out.Keychain = kc
	case a.Username != "":
		out.Keychain = basic{authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password})}
	}
	if len(a.CA) > 0 || len(a.Cert) > 0 || len(a.Key) > 0 {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if len(a.CA) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(a.CA) {
				return out, errors.New("its certSecretRef's ca.crt holds no PEM certificate")
			}
			cfg.RootCAs = pool
		}
		if len(a.Cert) > 0 || len(a.Key) > 0 {
			if len(a.Cert) == 0 || len(a.Key) == 0 {
				return out, errors.New("its certSecretRef has one of tls.crt and tls.key without the other")
			}
			pair, err := tls.X509KeyPair(a.Cert, a.Key)
			if err != nil {
				return out, errors.New("its certSecretRef's tls.crt and tls.key are not a certificate and its key")
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		out.TLS = cfg
	}
	out.Insecure = a.Insecure
	return out, nil
}

// basic is a keychain of one source's basic credentials, for every
// registry that source's requests reach.
type basic struct{ auth authn.Authenticator }

func (b basic) Resolve(authn.Resource) (authn.Authenticator, error) { return b.auth, nil }

// secretNames are the Secrets of a source's secretRef and certSecretRef;
// an empty name is none.
type secretNames struct{ Secret, Cert string }

// authFrom reads a source's Secrets as source-controller does: from
// secretRef a .dockerconfigjson, or username and password (and, for an
// HTTP repository, the TLS files older sources kept there); from
// certSecretRef ca.crt, tls.crt and tls.key (or their older caFile,
// certFile and keyFile). A Secret this repository does not render, or
// encrypts, adds nothing: the docker config is asked instead.
func authFrom(src Sources, ns string, s secretNames) Auth {
	var a Auth
	read := func(name string) map[string]string {
		if name == "" {
			return nil
		}
		data, encrypted, ok := src.Data("Secret", ns, name)
		if !ok || encrypted {
			return nil
		}
		return data
	}
	if d := read(s.Secret); d != nil {
		if cfg, ok := d[corev1.DockerConfigJsonKey]; ok {
			a.DockerConfig = []byte(cfg)
		} else {
			a.Username, a.Password = d["username"], d["password"]
		}
		a.tlsFrom(d)
	}
	if d := read(s.Cert); d != nil {
		a.tlsFrom(d)
	}
	return a
}

// tlsFrom takes the TLS files of a Secret's data, the current keys before
// the older ones.
func (a *Auth) tlsFrom(d map[string]string) {
	pick := func(keys ...string) []byte {
		for _, k := range keys {
			if v, ok := d[k]; ok && v != "" {
				return []byte(v)
			}
		}
		return nil
	}
	if v := pick("ca.crt", "caFile"); v != nil {
		a.CA = v
	}
	if v := pick("tls.crt", "certFile"); v != nil {
		a.Cert = v
	}
	if v := pick("tls.key", "keyFile"); v != nil {
		a.Key = v
	}
}
