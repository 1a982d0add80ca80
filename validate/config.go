package validate

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/deprecation"
	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// ConfigFile is the repository's settings file, at its root.
const ConfigFile = ".gitops.yaml"

// Config is what a repository's .gitops.yaml sets.
type Config struct {
	// KubernetesVersion is the cluster's version, for schemas and API
	// removals ("v1.33").
	KubernetesVersion string `json:"kubernetesVersion,omitempty" yaml:"kubernetesVersion,omitempty"`
	// FluxVersion is the Flux release the clusters run ("v2.6"), for a
	// repository that does not say it (no gotk-components.yaml header, no
	// FluxInstance): Flux installed by Terraform or a cloud provider's
	// extension. It sets which Flux APIs are served and whether post-build
	// substitution is strict.
	FluxVersion string `json:"fluxVersion,omitempty" yaml:"fluxVersion,omitempty"`
	// CRDs are directories (or files) of CustomResourceDefinitions to
	// validate custom resources against, besides those found in the
	// repository.
	CRDs []string `json:"crds,omitempty" yaml:"crds,omitempty"`
	// Rules maps a rule ID to off, warning or error.
	Rules map[string]Severity `json:"rules,omitempty" yaml:"rules,omitempty"`
	// FluxRepositories are paths, relative to the repository root, of
	// other repositories' working trees whose Flux objects this
	// repository refers to: an application repository whose $imagepolicy
	// markers name ImagePolicies that the Flux repository defines.
	FluxRepositories []string `json:"fluxRepositories,omitempty" yaml:"fluxRepositories,omitempty"`
	// SecretReferences are prefixes, besides the built-in ones (op://,
	// ref+, vault:, secret manager ARNs and names), of Secret values that
	// name a secret held in a secret manager rather than hold it: a Secret
	// made only of such values is not a plain secret.
	SecretReferences []string `json:"secretReferences,omitempty" yaml:"secretReferences,omitempty"`
	// Archives are folders of manifests nothing deploys any more
	// (gitignore patterns: "retired/", "apps/*/old"), besides hidden
	// folders and those named archive, archived or _archive: what no
	// cluster's tree reaches there is neither rendered nor checked unless
	// named. What a tree reaches is.
	Archives []string `json:"archives,omitempty" yaml:"archives,omitempty"`
	// Clusters declares the clusters of a repository laid out in a way
	// neither `flux bootstrap` nor the Flux Operator describes: each is
	// walked from its path, as the Kustomization flux-system/flux-system
	// whose source is this repository at ref.
	Clusters []ClusterSetting `json:"clusters,omitempty" yaml:"clusters,omitempty"`
}

// ClusterSetting is one cluster .gitops.yaml declares.
type ClusterSetting struct {
	Name string `json:"name" yaml:"name"`
	Path string `json:"path" yaml:"path"`
	// FluxVersion is the Flux release this cluster runs, where it differs
	// from the top-level fluxVersion.
	FluxVersion string `json:"fluxVersion,omitempty" yaml:"fluxVersion,omitempty"`
	Source      struct {
		URL string `json:"url,omitempty" yaml:"url,omitempty"`
		Ref string `json:"ref,omitempty" yaml:"ref,omitempty"`
	} `json:"source" yaml:"source"`
	// Line is where it is declared.
	Line int `json:"-" yaml:"-"`
}

// LoadConfig reads .gitops.yaml from the tree; a missing file is an empty
// configuration. A malformed file or an unknown rule or setting is an error
// at its line.
func LoadConfig(tree repo.Tree) (Config, error) {
	var cfg Config
	data, err := tree.ReadFile(ConfigFile)
	if err != nil {
		return cfg, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cfg, manifest.SyntaxError(ConfigFile, 1, err)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if errs := manifest.UnknownFields(ConfigFile, root, reflect.TypeFor[Config]()); len(errs) > 0 {
		return cfg, errs[0]
	}
	if err := root.Decode(&cfg); err != nil {
		return cfg, diag.Errorf(ConfigFile, root.Line, "%v", err)
	}
	if list := manifest.Lookup(root, "clusters"); list != nil && list.Kind == yaml.SequenceNode {
		for i, n := range list.Content {
			if i >= len(cfg.Clusters) {
				break
			}
			cfg.Clusters[i].Line = n.Line
			if cfg.Clusters[i].Name == "" || cfg.Clusters[i].Path == "" {
				return cfg, diag.Errorf(ConfigFile, n.Line, "a cluster needs a name and a path")
			}
			if v := manifest.Lookup(n, "fluxVersion"); v != nil {
				if err := CheckFluxVersion(cfg.Clusters[i].FluxVersion); err != nil {
					return cfg, diag.Errorf(ConfigFile, v.Line, "fluxVersion: %v", err)
				}
			}
		}
	}
	if v := manifest.Lookup(root, "fluxVersion"); v != nil {
		if err := CheckFluxVersion(cfg.FluxVersion); err != nil {
			return cfg, diag.Errorf(ConfigFile, v.Line, "fluxVersion: %v", err)
		}
	}
	if rules := manifest.Lookup(root, "rules"); rules != nil {
		for i := 0; i+1 < len(rules.Content); i += 2 {
			k, v := rules.Content[i], rules.Content[i+1]
			if err := checkRuleSetting(k.Value, Severity(v.Value)); err != nil {
				return cfg, &diag.Error{File: ConfigFile, Line: k.Line, Column: k.Column, Msg: err.Error()}
			}
		}
	}
	return cfg, nil
}

// check validates a configuration built in code.
func (c Config) check() error {
	ids := make([]string, 0, len(c.Rules))
	for id := range c.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := checkRuleSetting(id, c.Rules[id]); err != nil {
			return err
		}
	}
	return nil
}

// fluxVersion is a Flux release as .gitops.yaml names it: v2.6, 2.6.3.
var fluxVersion = regexp.MustCompile(`^v?(0|2)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$`)

// CheckFluxVersion accepts a Flux 2 release up to the bundled one (one
// render.FluxMinor knows), or a 0.x release, as fluxVersion settings and
// the --flux-version flag name one.
func CheckFluxVersion(v string) error {
	m := fluxVersion.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("%q is not a Flux release (v2.6, v2.6.3)", v)
	}
	if m[1] == "2" && render.FluxMinor(v) == "" {
		return fmt.Errorf("%s is newer than the newest Flux release this kubectl gitops knows, %s", v, deprecation.BundledFluxVersion)
	}
	return nil
}

func checkRuleSetting(id string, s Severity) error {
	if ruleByID(id).ID == "" {
		var ids []string
		for _, r := range Rules() {
			ids = append(ids, r.ID)
		}
		msg := fmt.Sprintf("unknown rule %q", id)
		if n := manifest.Nearest(id, ids); n != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", n)
		}
		return fmt.Errorf("%s", msg)
	}
	switch s {
	case Off, Warning, Error:
		return nil
	}
	return fmt.Errorf("rule %s: severity must be off, warning or error, not %q", id, s)
}
