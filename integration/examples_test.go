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
	for _, name := range []string{"github-actions.yaml", "github-actions-matrix.yaml", "gitlab-ci.yml"} {
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
		// No compile step: the action, or the release's image.
		cmds := map[string][]string{
			"github-actions.yaml":        {"uses: kubectl-gitops/kubectl-gitops@"},
			"github-actions-matrix.yaml": {"uses: kubectl-gitops/kubectl-gitops@", "ci analyze --shard ${{ matrix.shard }}/3", "from: analyses", "ci check --from analyses"},
			"gitlab-ci.yml":              {"image: ghcr.io/kubectl-gitops/kubectl-gitops:v", "kubectl-gitops ci comment", "kubectl-gitops ci check"},
		}[name]
		for _, cmd := range cmds {
			if !strings.Contains(string(data), cmd) {
				t.Errorf("examples/%s does not run %q", name, cmd)
			}
		}
		if strings.Contains(string(data), "go install") {
			t.Errorf("examples/%s compiles the tool", name)
		}
	}
	// The action runs the installer and both commands.
	action, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(action, &doc); err != nil || doc["runs"] == nil {
		t.Errorf("action.yml is not an action: %v", err)
	}
	for _, want := range []string{"hack/action/install.sh", "inputs.args", "kubectl-gitops ci check", "actions/cache@"} {
		if !strings.Contains(string(action), want) {
			t.Errorf("action.yml does not hold %q", want)
		}
	}
}
