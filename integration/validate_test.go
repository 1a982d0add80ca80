package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// everyRule are the validate rules, each of which the every-rule fixture
// breaks once.
var everyRule = []string{"syntax", "build", "schema", "no-schema", "deprecated-api", "imagepolicy-marker", "imagepolicy-pattern", "flux-reference", "plain-secret", "duplicate-object"}

// TestValidateOutputs checks the message of every rule in every output
// format against golden files, on a repository that breaks each rule once.
func TestValidateOutputs(t *testing.T) {
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "every rule broken", gittest.CopyTree(t, filepath.Join("..", "testdata", "validate", "every-rule")))
	for _, format := range []string{"text", "json", "sarif", "github"} {
		t.Run(format, func(t *testing.T) {
			r := run(t, g.Dir, nil, "validate", "--all", "-o", format, "--color", "never")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			golden(t, "validate/every-rule."+format+".golden", r.stdout)
			for _, rule := range everyRule {
				if !strings.Contains(r.stdout, rule) {
					t.Errorf("no %s finding in the %s output", rule, format)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2-canary") {
				t.Errorf("the %s output shows the Secret's value", format)
			}
			switch format {
			case "json":
				var v any
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
					t.Errorf("not JSON: %v", err)
				}
			case "sarif":
				checkSARIF(t, r.stdout)
			case "github":
				for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
					if !strings.HasPrefix(l, "::error ") && !strings.HasPrefix(l, "::warning ") && !strings.HasPrefix(l, "::notice ") {
						t.Errorf("not a workflow command: %q", l)
					}
				}
			}
		})
	}
}

// checkSARIF checks the parts of a SARIF 2.1.0 log that code scanning
// reads: the rules, and each result's rule and location.
func checkSARIF(t *testing.T, out string) {
	t.Helper()
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string                `json:"ruleId"`
				Level     string                `json:"level"`
				Message   struct{ Text string } `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q with %d runs, want 2.1.0 with one", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	rules := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		rules[r.ID] = true
	}
	for _, id := range everyRule {
		if !rules[id] {
			t.Errorf("rule %s is not described in tool.driver.rules", id)
		}
	}
	if len(run.Results) == 0 {
		t.Fatal("no results")
	}
	for _, res := range run.Results {
		if !rules[res.RuleID] || res.Message.Text == "" || (res.Level != "error" && res.Level != "warning" && res.Level != "note") {
			t.Errorf("result %+v: unknown rule, empty message or bad level", res)
		}
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" || filepath.IsAbs(res.Locations[0].PhysicalLocation.ArtifactLocation.URI) {
			t.Errorf("result %s %q: want one location relative to the repository, got %+v", res.RuleID, res.Message.Text, res.Locations)
		}
	}
}

// TestValidateCountsTheRootsChecked: a check of one overlay counts that
// root, not the others it renders for what the rules look up, so that the
// parts of a split check add up to the whole.
func TestValidateCountsTheRootsChecked(t *testing.T) {
	dir := example(t, "microservices-repo")
	count := func(args ...string) int {
		t.Helper()
		r := run(t, dir, nil, append([]string{"validate", "-o", "json"}, args...)...)
		var report struct{ Summary struct{ Roots int } }
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
			t.Fatalf("validate %v: exit %d, %v\n%s", args, r.code, err, r.stderr)
		}
		return report.Summary.Roots
	}
	if n := count("deploy/kubernetes/overlays/prod"); n != 1 {
		t.Errorf("one overlay: %d roots, want 1", n)
	}
	all := count("--all")
	if parts := count("--all", "--shard", "1/2") + count("--all", "--shard", "2/2"); all != 3 || parts != all {
		t.Errorf("--all counts %d roots, its two shards %d; want 3 both", all, parts)
	}
}
