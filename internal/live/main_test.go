package live

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/testenv/apiserver"
)

// testCluster is the one API server the tests of this package share, nil
// when the binaries are missing (skipReason then says why).
var testCluster struct {
	server     *apiserver.Server
	skipReason string
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

// runTests starts one kube-apiserver and etcd for the whole test binary,
// runs the tests, and stops them.
func runTests(m *testing.M) int {
	binDir := apiserver.DefaultBinDir(os.Getenv)
	if missing := apiserver.MissingBinaries(binDir); len(missing) > 0 {
		testCluster.skipReason = fmt.Sprintf("%s missing in %s: run hack/cluster/build.sh", strings.Join(missing, " and "), binDir)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "live-apiserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), apiserver.DefaultReadyTimeout+10*time.Second)
	began := time.Now()
	srv, err := apiserver.New(ctx, apiserver.Options{BinDir: binDir, Dir: dir})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting kube-apiserver: %v\n", err)
		return 1
	}
	defer srv.Stop()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "kube-apiserver ready at %s in %s\n", srv.URL, time.Since(began).Round(time.Millisecond))
	}
	testCluster.server = srv
	return m.Run()
}

// sharedServer returns the shared API server, or skips the test without one
// (fails it when GITOPS_REQUIRE_TOOLS=1).
func sharedServer(t *testing.T) *apiserver.Server {
	t.Helper()
	if testCluster.server == nil {
		if os.Getenv(apiserver.EnvRequire) == "1" {
			t.Fatalf("%s (%s=1 requires them)", testCluster.skipReason, apiserver.EnvRequire)
		}
		t.Skipf("%s (set %s=1 to fail instead of skipping)", testCluster.skipReason, apiserver.EnvRequire)
	}
	return testCluster.server
}
