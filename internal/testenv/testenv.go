// Package testenv finds, for tests, the real programs the project's tests
// run beside kubectl gitops: peer tools that hack/tools.sh builds into a
// cache outside the repository. A test whose tool is missing is skipped,
// unless GITOPS_REQUIRE_TOOLS=1 (as `make test` and CI set), when it fails:
// CI must never pass by skipping.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv makes a missing tool a test failure instead of a skip.
const RequireEnv = "GITOPS_REQUIRE_TOOLS"

// BinDir is where the tool binaries are: $GITOPS_TOOLS_CACHE/bin, else
// kubectl-gitops/tools/bin under the user's cache directory.
func BinDir() string {
	if d := os.Getenv("GITOPS_TOOLS_CACHE"); d != "" {
		return filepath.Join(d, "bin")
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "kubectl-gitops", "tools", "bin")
}

// Tool returns the path of the named tool, or skips (or fails) the test
// when it has not been built.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(), name)
	if _, err := os.Stat(p); err != nil {
		Missing(t, name+" is not built: run hack/tools.sh "+name)
	}
	return p
}

// Missing skips the test, or fails it under GITOPS_REQUIRE_TOOLS=1.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}
