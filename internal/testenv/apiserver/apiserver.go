// Package apiserver starts a real kube-apiserver, backed by a real etcd, on
// 127.0.0.1 for tests.
//
// The two binaries are built once by hack/cluster/build.sh into a cache
// folder outside the repository (see DefaultBinDir). Start is the entry point
// for tests: it skips the test when the binaries are missing, or fails it when
// GITOPS_REQUIRE_TOOLS=1 (as CI sets). New is the same without testing.TB,
// for callers that manage their own lifetime and directories.
//
// Each server gets its own free ports, data directory, serving certificate,
// service-account key and random bearer tokens, so several test packages can
// run servers side by side. Two users exist: "admin" (group system:masters,
// allowed everything) and "viewer" (no groups and no RBAC bindings, so
// forbidden everything that is not public).
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv"
)

// Names of the environment variables that Start reads.
const (
	// EnvToolsCache overrides the tools cache folder; the binaries are in its
	// bin/ subfolder. hack/cluster/build.sh honours the same variable.
	EnvToolsCache = "GITOPS_TOOLS_CACHE"
	// EnvRequire, set to "1", makes Start fail the test instead of skipping it
	// when the binaries are missing.
	EnvRequire = "GITOPS_REQUIRE_TOOLS"
)

// Names of the binaries in the bin folder, as hack/cluster/build.sh links them.
const (
	APIServerBinary = "kube-apiserver"
	EtcdBinary      = "etcd"
)

// Users known to every server.
const (
	// AdminUser is in group system:masters.
	AdminUser = "admin"
	// ViewerUser has no groups and no RBAC rights.
	ViewerUser = "viewer"
)

// DefaultReadyTimeout is how long New waits for /readyz when Options does not
// say otherwise.
const DefaultReadyTimeout = 60 * time.Second

// startAttempts is how many times New tries fresh ports when a process lost
// the race for the ports it was given.
const startAttempts = 3

// Options configures New.
type Options struct {
	// BinDir holds the kube-apiserver and etcd binaries.
	BinDir string
	// Dir is an empty folder for the data, certificates, keys, token file and
	// logs; it must outlive the server.
	Dir string
	// ReadyTimeout bounds the wait for /readyz; zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// ExtraAPIServerArgs are appended to the kube-apiserver command line, for
	// example "--feature-gates=...".
	ExtraAPIServerArgs []string
}

// Server is a running etcd plus kube-apiserver pair.
type Server struct {
	// URL is the API server's base URL, https://127.0.0.1:PORT.
	URL string

	dir         string
	caPEM       []byte
	adminToken  string
	viewerToken string
	etcd        *testenv.Process
	apiserver   *testenv.Process
	stopOnce    sync.Once
}

// DefaultBinDir returns the folder that hack/cluster/build.sh fills:
// $GITOPS_TOOLS_CACHE/bin, else $XDG_CACHE_HOME/kubectl-gitops/tools/bin,
// else $HOME/.cache/kubectl-gitops/tools/bin. getenv is os.Getenv or a
// stand-in.
func DefaultBinDir(getenv func(string) string) string {
	if dir := getenv(EnvToolsCache); dir != "" {
		return filepath.Join(dir, "bin")
	}
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(getenv("HOME"), ".cache")
	}
	return filepath.Join(cache, "kubectl-gitops", "tools", "bin")
}

// MissingBinaries returns the binaries that New needs and binDir lacks.
func MissingBinaries(binDir string) []string {
	var missing []string
	for _, name := range []string{EtcdBinary, APIServerBinary} {
		info, err := os.Stat(filepath.Join(binDir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}

// Start starts a server for the test and stops it in t.Cleanup. It reads
// GITOPS_TOOLS_CACHE (through DefaultBinDir) to find the binaries and, when
// they are missing, skips the test, or fails it if GITOPS_REQUIRE_TOOLS
// is "1".
func Start(t testing.TB) *Server {
	t.Helper()
	binDir := DefaultBinDir(os.Getenv)
	if missing := MissingBinaries(binDir); len(missing) > 0 {
		msg := fmt.Sprintf("%s missing in %s: run hack/cluster/build.sh", strings.Join(missing, " and "), binDir)
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s (%s=1 requires them)", msg, EnvRequire)
		}
		t.Skipf("%s (set %s=1 to fail instead of skipping)", msg, EnvRequire)
	}
	dir := t.TempDir() // registered before Stop, so removed after it
	ctx, cancel := context.WithTimeout(context.Background(), DefaultReadyTimeout+10*time.Second)
	defer cancel()
	began := time.Now()
	s, err := New(ctx, Options{BinDir: binDir, Dir: dir})
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(s.Stop)
	t.Logf("kube-apiserver ready at %s in %s", s.URL, time.Since(began).Round(time.Millisecond))
	return s
}

// New starts etcd and kube-apiserver from opts.BinDir and waits until the API
// server answers /readyz. ctx bounds only the start: the processes run until
// Stop. On error nothing is left running, and the error carries the tail of
// both logs.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.BinDir == "" || opts.Dir == "" {
		return nil, errors.New("apiserver: Options.BinDir and Options.Dir are required")
	}
	if missing := MissingBinaries(opts.BinDir); len(missing) > 0 {
		return nil, fmt.Errorf("%s missing in %s: run hack/cluster/build.sh", strings.Join(missing, " and "), opts.BinDir)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	files, err := writeFiles(opts.Dir)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		s, err := startOnce(ctx, opts, files, attempt)
		if err == nil {
			return s, nil
		}
		if attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

// errPortTaken marks a start that failed because another process took a port
// between picking it and binding it.
var errPortTaken = errors.New("port taken by another process")

// startOnce starts both processes on fresh ports, in a subfolder of
// opts.Dir named after the attempt.
func startOnce(ctx context.Context, opts Options, f *files, attempt int) (*Server, error) {
	run := filepath.Join(opts.Dir, fmt.Sprintf("run%d", attempt))
	if err := os.MkdirAll(run, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", run, err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	s := &Server{
		URL:         fmt.Sprintf("https://127.0.0.1:%d", ports[2]),
		dir:         opts.Dir,
		caPEM:       f.certPEM,
		adminToken:  f.adminToken,
		viewerToken: f.viewerToken,
	}

	s.etcd, err = testenv.StartProcess(filepath.Join(opts.BinDir, EtcdBinary), filepath.Join(run, "etcd.log"), []string{
		"--name=default",
		"--data-dir=" + filepath.Join(run, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--unsafe-no-fsync=true",
	}, nil)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--etcd-servers=" + clientURL,
		"--bind-address=127.0.0.1",
		// Loopback keeps the server off the host's interfaces; the endpoint
		// reconcilers refuse a loopback address, and no pod needs the
		// kubernetes Service's endpoints here.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir=" + filepath.Join(run, "certs"),
		"--tls-cert-file=" + f.certFile,
		"--tls-private-key-file=" + f.keyFile,
		"--service-account-key-file=" + f.saKeyFile,
		"--service-account-signing-key-file=" + f.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--token-auth-file=" + f.tokenFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
	}, opts.ExtraAPIServerArgs...)
	s.apiserver, err = testenv.StartProcess(filepath.Join(opts.BinDir, APIServerBinary), filepath.Join(run, "kube-apiserver.log"), args, nil)
	if err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.waitReady(ctx, opts.ReadyTimeout); err != nil {
		s.Stop()
		return nil, s.startError(err)
	}
	return s, nil
}

// startError adds both logs' tails to err, and errPortTaken when a log says
// a port was in use.
func (s *Server) startError(err error) error {
	var b strings.Builder
	taken := false
	for _, p := range []*testenv.Process{s.etcd, s.apiserver} {
		tail := testenv.Tail(p.Log, 40)
		if strings.Contains(tail, "address already in use") {
			taken = true
		}
		fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", p.Log, tail)
	}
	if taken {
		return fmt.Errorf("%w (%w)%s", err, errPortTaken, b.String())
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// waitReady polls /readyz as admin until it answers 200, a process exits,
// timeout passes or ctx ends.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	transport, err := rest.TransportFor(s.RESTConfig())
	if err != nil {
		return fmt.Errorf("building client transport: %w", err)
	}
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("building /readyz request: %w", err)
		}
		if resp, err := client.Do(req); err != nil {
			last = err.Error()
		} else {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s/readyz (last: %s): %w", s.URL, last, ctx.Err())
		case <-s.etcd.Done():
			return fmt.Errorf("etcd exited before the API server was ready: %v", s.etcd.Err())
		case <-s.apiserver.Done():
			return fmt.Errorf("kube-apiserver exited before it was ready: %v", s.apiserver.Err())
		case <-tick.C:
		}
	}
}

// Stop stops kube-apiserver, then etcd: SIGTERM, then SIGKILL after a grace
// period. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		for _, p := range []*testenv.Process{s.apiserver, s.etcd} {
			if p != nil {
				p.Stop(10 * time.Second)
			}
		}
	})
}

// RESTConfig returns a client configuration for AdminUser.
func (s *Server) RESTConfig() *rest.Config { return s.restConfig(s.adminToken) }

// ViewerRESTConfig returns a client configuration for ViewerUser.
func (s *Server) ViewerRESTConfig() *rest.Config { return s.restConfig(s.viewerToken) }

func (s *Server) restConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            s.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), s.caPEM...)},
		QPS:             200,
		Burst:           400,
	}
}

// Kubeconfig writes a kubeconfig file for AdminUser into a test temporary
// folder and returns its path. Its current context is "admin".
func (s *Server) Kubeconfig(t testing.TB) string {
	t.Helper()
	return s.writeKubeconfig(t, AdminUser)
}

// ViewerKubeconfig writes a kubeconfig file for ViewerUser into a test
// temporary folder and returns its path. Its current context is "viewer".
func (s *Server) ViewerKubeconfig(t testing.TB) string {
	t.Helper()
	return s.writeKubeconfig(t, ViewerUser)
}

func (s *Server) writeKubeconfig(t testing.TB, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(path, user); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteKubeconfig writes a kubeconfig file for user (AdminUser or ViewerUser)
// to path, with one cluster "apiserver" and one context named after the user.
func (s *Server) WriteKubeconfig(path, user string) error {
	token := map[string]string{AdminUser: s.adminToken, ViewerUser: s.viewerToken}[user]
	if token == "" {
		return fmt.Errorf("writing kubeconfig: unknown user %q", user)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["apiserver"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: "apiserver", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = user
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when returned; New retries when another process takes one first.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
