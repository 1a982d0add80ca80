package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestExamples keeps the CI workflows of examples/ and the README's copies
// the same, and each a YAML document that names the commands it runs.
func TestExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"github-actions.yaml", "gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc) == 0 {
			t.Errorf("examples/%s is not a YAML mapping: %v", name, err)
		}
		// The README shows the file without its leading comment.
		var body []string
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if len(body) == 0 && strings.HasPrefix(l, "#") {
				continue
			}
			body = append(body, l)
		}
		if !strings.Contains(string(readme), "```yaml\n"+strings.Join(body, "")+"```") {
			t.Errorf("README.md does not show examples/%s as it is", name)
		}
		for _, cmd := range []string{"kubectl-gitops ci comment", "kubectl-gitops ci check", "go install github.com/kubectl-gitops/kubectl-gitops/cmd/kubectl-gitops@"} {
			if !strings.Contains(string(data), cmd) {
				t.Errorf("examples/%s does not run %q", name, cmd)
			}
		}
	}
}
