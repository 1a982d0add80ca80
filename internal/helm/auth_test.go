package helm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/helmtest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// guarded serves one in-memory registry twice on loopback: open, to push
// to, and behind basic authentication as user:password, to read from.
func guarded(t *testing.T, user, password string) (open, closed string) {
	t.Helper()
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	o := httptest.NewServer(h)
	c := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(o.Close)
	t.Cleanup(c.Close)
	return strings.TrimPrefix(o.URL, "http://"), strings.TrimPrefix(c.URL, "http://")
}

func pushChart(t *testing.T, host string) {
	t.Helper()
	if _, err := chartserve.Push(host, "charts", helmtest.Package(t, helmtest.Chart("app", "0.1.0"))); err != nil {
		t.Fatal(err)
	}
}

// A chart source's secretRef is read as source-controller reads it:
// username and password for a HelmRepository of type oci, an
// imagePullSecret's .dockerconfigjson for an OCIRepository. Without them
// the registry's refusal leaves the release unchecked, and no password
// shows. One source's credentials never serve another.
func TestResolveCredentials(t *testing.T) {
	open, closed := guarded(t, "flux", "hunter2")
	pushChart(t, open)
	dockerConfig := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, closed, base64.StdEncoding.EncodeToString([]byte("flux:hunter2")))
	specs := map[string]string{
		"HelmRepository/apps/basic":    fmt.Sprintf("{type: oci, url: 'oci://%s/charts', secretRef: {name: basic}}", closed),
		"HelmRepository/apps/none":     fmt.Sprintf("{type: oci, url: 'oci://%s/charts'}", closed),
		"HelmRepository/apps/wrong":    fmt.Sprintf("{type: oci, url: 'oci://%s/charts', secretRef: {name: wrong}}", closed),
		"HelmRepository/apps/aws":      fmt.Sprintf("{type: oci, url: 'oci://%s/charts', provider: aws}", closed),
		"HelmRepository/apps/sops":     fmt.Sprintf("{type: oci, url: 'oci://%s/charts', secretRef: {name: sealed}}", closed),
		"OCIRepository/apps/pull":      fmt.Sprintf("{url: 'oci://%s/charts/app', ref: {tag: 0.1.0}, secretRef: {name: pull}}", closed),
		"OCIRepository/apps/anonymous": fmt.Sprintf("{url: 'oci://%s/charts/app', ref: {tag: 0.1.0}}", closed),
	}
	src := sources{specs: specs, data: map[string]map[string]string{
		"Secret/apps/basic":  {"username": "flux", "password": "hunter2"},
		"Secret/apps/wrong":  {"username": "flux", "password": "letmein"},
		"Secret/apps/sealed": {"username": "ENC[AES256_GCM]", "password": "ENC[AES256_GCM]"},
		"Secret/apps/pull":   {".dockerconfigjson": dockerConfig},
	}, sops: map[string]bool{"Secret/apps/sealed": true}}
	byChart := func(repo string) string {
		return fmt.Sprintf("{metadata: {name: app, namespace: apps}, spec: {chart: {spec: {chart: app, version: 0.1.0, sourceRef: {kind: HelmRepository, name: %s}}}}}", repo)
	}
	byRef := func(repo string) string {
		return fmt.Sprintf("{metadata: {name: app, namespace: apps}, spec: {chartRef: {kind: OCIRepository, name: %s}}}", repo)
	}
	cases := []struct {
		name, release string
		unchecked     string // what the reason says; "" renders
	}{
		{name: "basic", release: byChart("basic")},
		{name: "pull secret", release: byRef("pull")},
		{name: "none", release: byChart("none"), unchecked: "unauthorized"},
		{name: "wrong password", release: byChart("wrong"), unchecked: "unauthorized"},
		{name: "provider", release: byChart("aws"), unchecked: "provider aws"},
		{name: "encrypted secret", release: byChart("sops"), unchecked: "unauthorized"},
		{name: "anonymous", release: byRef("anonymous"), unchecked: "unauthorized"},
	}
	// One fetcher for all, the credentials first: the sources without
	// them must not borrow another's.
	f := newFetcher(t, nil, false, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(context.Background(), f, release(t, tc.release), src)
			if tc.unchecked == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.load(); err != nil {
					t.Fatal(err)
				}
				return
			}
			var u *Unchecked
			if !errors.As(err, &u) || !strings.Contains(u.Reason, tc.unchecked) {
				t.Fatalf("error %v, want it unchecked saying %q", err, tc.unchecked)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "letmein") {
				t.Errorf("a password shows: %v", err)
			}
		})
	}
}

// pki is a CA, a server certificate for example.com that it signed, and a
// client certificate it signed, all PEM.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey []byte
}

func newPKI(t *testing.T) pki {
	t.Helper()
	key := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	now := time.Now()
	caKey, _ := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	sign := func(serial int64, tmpl *x509.Certificate) ([]byte, []byte) {
		k, kpem := key()
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), kpem
	}
	var p pki
	p.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.serverCert, p.serverKey = sign(2, &x509.Certificate{DNSNames: []string{"example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.clientCert, p.clientKey = sign(3, &x509.Certificate{Subject: pkix.Name{CommonName: "flux"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

// A certSecretRef's ca.crt, tls.crt and tls.key reach a registry whose
// certificate a private CA signed and that asks for a client certificate
// (mutual TLS). The registry is reached as example.com, which the test's
// transport dials on loopback: go-containerregistry speaks plain HTTP to
// loopback names.
func TestResolveMutualTLS(t *testing.T) {
	p := newPKI(t)
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	open := httptest.NewServer(h)
	t.Cleanup(open.Close)
	pushChart(t, strings.TrimPrefix(open.URL, "http://"))

	srv := httptest.NewUnstartedServer(h)
	pair, err := tls.X509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AppendCertsFromPEM(p.ca)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	host := "example.com:" + port

	dialer := &net.Dialer{}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	f := NewFetcher(FetcherOptions{Registry: registry.New(registry.Options{Retries: -1, Timeout: 5 * time.Second, Transport: transport})})

	spec := fmt.Sprintf("{url: 'oci://%s/charts/app', ref: {tag: 0.1.0}, certSecretRef: {name: tls}}", host)
	hr := release(t, "{metadata: {name: app, namespace: apps}, spec: {chartRef: {kind: OCIRepository, name: app}}}")
	for _, tc := range []struct {
		name      string
		data      map[string]string
		unchecked string
	}{
		{name: "mutual", data: map[string]string{"ca.crt": string(p.ca), "tls.crt": string(p.clientCert), "tls.key": string(p.clientKey)}},
		{name: "older keys", data: map[string]string{"caFile": string(p.ca), "certFile": string(p.clientCert), "keyFile": string(p.clientKey)}},
		{name: "no client certificate", data: map[string]string{"ca.crt": string(p.ca)}, unchecked: "certificate required"},
		{name: "unknown CA", data: map[string]string{"tls.crt": string(p.clientCert), "tls.key": string(p.clientKey)}, unchecked: "certificate"},
		{name: "key without certificate", data: map[string]string{"ca.crt": string(p.ca), "tls.key": string(p.clientKey)}, unchecked: "tls.crt and tls.key"},
		{name: "a key alone", data: map[string]string{"tls.key": string(p.clientKey)}, unchecked: "tls.crt and tls.key"},
		{name: "not PEM", data: map[string]string{"ca.crt": "not a certificate"}, unchecked: "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources{specs: map[string]string{"OCIRepository/apps/app": spec}, data: map[string]map[string]string{"Secret/apps/tls": tc.data}}
			c, err := Resolve(context.Background(), f, hr, src)
			if tc.unchecked == "" {
				if err != nil {
					t.Fatal(err)
				}
				ch, err := c.load()
				if err != nil {
					t.Fatal(err)
				}
				if ch.Metadata.Version != "0.1.0" {
					t.Errorf("version %q", ch.Metadata.Version)
				}
				return
			}
			var u *Unchecked
			if !errors.As(err, &u) || !strings.Contains(u.Reason, tc.unchecked) {
				t.Fatalf("error %v, want it unchecked saying %q", err, tc.unchecked)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the key shows: %v", err)
			}
		})
	}
}

// An HTTP repository's basic credentials go to the host of its URL only:
// a chart its index places on another host is fetched without them,
// unless passCredentials, as Helm's getter does.
func TestPassCredentials(t *testing.T) {
	charts := helmtest.Serve(t, helmtest.Package(t, helmtest.Chart("app", "0.1.0")))
	var sawAuth []bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, ok := r.BasicAuth()
		sawAuth = append(sawAuth, ok)
		http.Redirect(w, r, charts.RepoURL+strings.TrimPrefix(r.URL.Path, "/elsewhere"), http.StatusFound)
	}))
	t.Cleanup(elsewhere.Close)
	// The index lives on localhost; its chart URL names 127.0.0.1.
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 0.1.0\n    apiVersion: v2\n    urls: [%s/elsewhere/app-0.1.0.tgz]\n", elsewhere.URL)
	}))
	t.Cleanup(index.Close)
	repoURL := strings.Replace(index.URL, "127.0.0.1", "localhost", 1)
	for _, pass := range []bool{false, true} {
		sawAuth = nil
		_, err := newFetcher(t, nil, false, nil).FromRepository(context.Background(), repoURL, "app", "0.1.0", time.Hour, Auth{Username: "u", Password: "p"}, pass)
		if err != nil {
			t.Fatal(err)
		}
		if len(sawAuth) != 1 || sawAuth[0] != pass {
			t.Errorf("passCredentials %v: the other host saw credentials %v", pass, sawAuth)
		}
	}
}
