// Command gotk-components rebuilds the manifest that `flux install --export`
// (and `flux bootstrap`, as gotk-components.yaml) prints, from Flux sources
// that the caller has already put in the Go module cache.
//
// It replays the three kustomize builds that make that file, in process and
// without network:
//
//  1. each controller's release artifacts, <controller>.crds.yaml from
//     config/crd and <controller>.deployment.yaml from config/manager, as the
//     controllers' release workflow builds them;
//  2. the flux2 bundle, one file per manifests/bases/<controller> with its
//     release URLs pointed at the artifacts of step 1, plus rbac.yaml and
//     policies.yaml from manifests/rbac and manifests/policies;
//  3. the install overlay with flux's default options: namespace
//     flux-system, the instance/part-of/version labels, the Linux node
//     selector, the per-controller argument patches, and images from
//     ghcr.io/fluxcd.
//
// Usage:
//
//	gotk-components -flux-dir DIR -flux-version v2.x.y \
//	    -controller source-controller@v1.x.y=DIR ... \
//	    [-omit image-automation-controller@v1.x.y ...] [-o FILE]
//
// The order of the -controller flags is the order of the components. A
// controller named with -omit could not be obtained; the header says so.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gotk-components:", err)
		os.Exit(1)
	}
}

// controller is one Flux controller module: its name (which is also its
// component name), its version and its unpacked module directory.
type controller struct {
	name    string
	version string
	dir     string
}

// controllerFlags collects repeated -controller name@version=dir flags.
type controllerFlags []controller

func (c *controllerFlags) String() string {
	parts := make([]string, 0, len(*c))
	for _, ctrl := range *c {
		parts = append(parts, ctrl.name+"@"+ctrl.version+"="+ctrl.dir)
	}
	return strings.Join(parts, ",")
}

func (c *controllerFlags) Set(s string) error {
	nameVersion, dir, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: want name@version=dir", s)
	}
	name, version, ok := strings.Cut(nameVersion, "@")
	if !ok || name == "" || !strings.HasPrefix(version, "v") || dir == "" {
		return fmt.Errorf("%q: want name@version=dir", s)
	}
	*c = append(*c, controller{name: name, version: version, dir: dir})
	return nil
}

// omitFlags collects repeated -omit name@version flags.
type omitFlags []string

func (o *omitFlags) String() string { return strings.Join(*o, ",") }

func (o *omitFlags) Set(s string) error {
	*o = append(*o, s)
	return nil
}

// installOptions are the settings of `flux install` that shape the overlay.
// generate uses flux's defaults.
type installOptions struct {
	version            string
	namespace          string
	registry           string
	clusterDomain      string
	logLevel           string
	watchAllNamespaces bool
	networkPolicy      bool
	components         []string
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("gotk-components", flag.ContinueOnError)
	fluxDir := fl.String("flux-dir", "", "unpacked github.com/fluxcd/flux2/v2 module (holds manifests/)")
	fluxVersion := fl.String("flux-version", "", "Flux distribution version, e.g. v2.9.4")
	out := fl.String("o", "", "output file (default: standard output)")
	var ctrls controllerFlags
	fl.Var(&ctrls, "controller", "controller module as name@version=dir; repeat, in component order")
	var omitted omitFlags
	fl.Var(&omitted, "omit", "controller left out as name@version, named in the header; repeat")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *fluxDir == "" || !strings.HasPrefix(*fluxVersion, "v") || len(ctrls) == 0 {
		return errors.New("-flux-dir, -flux-version and at least one -controller are required")
	}

	opts := installOptions{
		version:            *fluxVersion,
		namespace:          "flux-system",
		registry:           "ghcr.io/fluxcd",
		clusterDomain:      "cluster.local",
		logLevel:           "info",
		watchAllNamespaces: true,
		networkPolicy:      true,
	}
	for _, c := range ctrls {
		opts.components = append(opts.components, c.name)
	}

	manifest, err := generate(*fluxDir, ctrls, omitted, opts)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(manifest)
		return err
	}
	if err := os.WriteFile(*out, manifest, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	return nil
}

// In-memory locations of the three stages.
const (
	fluxRoot   = "/flux2/manifests"
	bundleRoot = "/bundle"
)

// generate runs the three builds and returns the manifest with flux's
// header.
func generate(fluxDir string, ctrls []controller, omitted []string, opts installOptions) ([]byte, error) {
	mem := filesys.MakeFsInMemory()
	if err := copyTree(mem, filepath.Join(fluxDir, "manifests"), fluxRoot); err != nil {
		return nil, err
	}
	for _, c := range ctrls {
		if err := bundleController(mem, c); err != nil {
			return nil, fmt.Errorf("%s@%s: %w", c.name, c.version, err)
		}
	}
	for _, name := range []string{"rbac", "policies"} {
		if err := buildTo(mem, path.Join(fluxRoot, name), path.Join(bundleRoot, name+".yaml"), cliOptions()); err != nil {
			return nil, err
		}
	}
	if err := writeOverlay(mem, opts); err != nil {
		return nil, err
	}
	body, err := build(mem, bundleRoot, installBuildOptions())
	if err != nil {
		return nil, fmt.Errorf("building the install overlay: %w", err)
	}
	if err := checkDeployments(body, opts); err != nil {
		return nil, err
	}
	header := fmt.Sprintf("---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: %s\n# Components: %s\n",
		opts.version, strings.Join(opts.components, ","))
	for _, o := range omitted {
		header += fmt.Sprintf("# Omitted: %s (not available from the Go module proxy)\n", o)
	}
	return append([]byte(header), body...), nil
}

// releaseURL matches the release artifacts that flux2's bases download.
var releaseURL = regexp.MustCompile(`https://github\.com/fluxcd/([a-z0-9-]+)/releases/download/(v[^/\s]+)/([a-z0-9-]+)\.(crds|deployment)\.yaml`)

// bundleController builds the controller's release artifacts, points its
// flux2 base at them and builds the base into the bundle.
func bundleController(mem filesys.FileSystem, c controller) error {
	src := "/" + c.name
	for _, sub := range []string{"crd", "manager"} {
		if err := copyTree(mem, filepath.Join(c.dir, "config", sub), path.Join(src, "config", sub)); err != nil {
			return err
		}
	}
	base := path.Join(fluxRoot, "bases", c.name)
	if !mem.IsDir(base) {
		return fmt.Errorf("flux2 has no manifests/bases/%s", c.name)
	}
	artifacts := map[string]string{"crds": "config/crd", "deployment": "config/manager"}
	for kind, dir := range artifacts {
		target := path.Join(base, c.name+"."+kind+".yaml")
		if err := buildTo(mem, path.Join(src, dir), target, cliOptions()); err != nil {
			return err
		}
	}
	if err := localizeBase(mem, base, c); err != nil {
		return err
	}
	return buildTo(mem, base, path.Join(bundleRoot, c.name+".yaml"), cliOptions())
}

// localizeBase rewrites the release URLs in a flux2 base to the local
// artifacts, and fails if the base asks for another controller version than
// the module at hand or for any other remote resource.
func localizeBase(mem filesys.FileSystem, base string, c controller) error {
	kfile := path.Join(base, "kustomization.yaml")
	data, err := mem.ReadFile(kfile)
	if err != nil {
		return fmt.Errorf("reading flux2 base: %w", err)
	}
	var mismatch error
	found := 0
	local := releaseURL.ReplaceAllFunc(data, func(url []byte) []byte {
		m := releaseURL.FindSubmatch(url)
		repo, version, file, kind := string(m[1]), string(m[2]), string(m[3]), string(m[4])
		if repo != c.name || file != c.name || version != c.version {
			mismatch = fmt.Errorf("flux2 base %s wants %s %s, have %s %s", c.name, repo, version, c.name, c.version)
		}
		found++
		return []byte(c.name + "." + kind + ".yaml")
	})
	if mismatch != nil {
		return mismatch
	}
	if found != 2 {
		return fmt.Errorf("flux2 base %s: found %d release URLs, want 2", c.name, found)
	}
	if bytes.Contains(local, []byte("://")) {
		return fmt.Errorf("flux2 base %s: remote resource left after rewriting:\n%s", c.name, local)
	}
	return mem.WriteFile(kfile, local)
}

// writeOverlay lays `flux install`'s generated files beside the bundle.
func writeOverlay(mem filesys.FileSystem, opts installOptions) error {
	rbac, err := mem.ReadFile(path.Join(bundleRoot, "rbac.yaml"))
	if err != nil {
		return err
	}
	files := map[string]string{
		"namespace.yaml":           namespaceYAML(opts),
		"labels.yaml":              labelsYAML(opts),
		"node-selector.yaml":       nodeSelectorYAML(),
		"kustomization.yaml":       installKustomization(opts),
		"roles/kustomization.yaml": rolesKustomization(opts),
		"roles/rbac.yaml":          string(rbac),
	}
	for name, content := range files {
		p := path.Join(bundleRoot, name)
		if err := mem.MkdirAll(path.Dir(p)); err != nil {
			return err
		}
		if err := mem.WriteFile(p, []byte(content)); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

func namespaceYAML(opts installOptions) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/warn-version: latest
`, opts.namespace)
}

func labelsYAML(opts installOptions) string {
	return fmt.Sprintf(`apiVersion: builtin
kind: LabelTransformer
metadata:
  name: labels
labels:
  app.kubernetes.io/instance: %s
  app.kubernetes.io/part-of: flux
  app.kubernetes.io/version: %s
fieldSpecs:
- path: metadata/labels
  create: true
- kind: Deployment
  path: spec/template/metadata/labels
  create: true
`, opts.namespace, strconv.Quote(opts.version))
}

func nodeSelectorYAML() string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: all
spec:
  template:
    spec:
      nodeSelector:
        kubernetes.io/os: linux
`
}

func rolesKustomization(opts installOptions) string {
	return fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %[1]s
resources:
- rbac.yaml
nameSuffix: -%[1]s
`, opts.namespace)
}

// argReplacement replaces one argument of a controller's manager container.
type argReplacement struct {
	index int
	value string
}

// argReplacements returns the arguments that flux install sets on a
// component, by position in the container's args.
func argReplacements(component string, opts installOptions) []argReplacement {
	watch := fmt.Sprintf("--watch-all-namespaces=%t", opts.watchAllNamespaces)
	logLevel := "--log-level=" + opts.logLevel
	if component == "notification-controller" {
		return []argReplacement{{0, watch}, {1, logLevel}}
	}
	eventsAddr := ""
	if slices.Contains(opts.components, "notification-controller") {
		eventsAddr = fmt.Sprintf("http://notification-controller.$(RUNTIME_NAMESPACE).svc.%s./", opts.clusterDomain)
	}
	repl := []argReplacement{{0, "--events-addr=" + eventsAddr}, {1, watch}, {2, logLevel}}
	if component == "source-controller" || component == "source-watcher" {
		adv := fmt.Sprintf("--storage-adv-addr=%s.$(RUNTIME_NAMESPACE).svc.%s.", component, opts.clusterDomain)
		repl = append(repl, argReplacement{6, adv})
	}
	return repl
}

// installKustomization is the top kustomization of the install overlay.
func installKustomization(opts installOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\n", opts.namespace)
	b.WriteString("transformers:\n- labels.yaml\nresources:\n- namespace.yaml\n")
	if opts.networkPolicy {
		b.WriteString("- policies.yaml\n")
	}
	b.WriteString("- roles\n")
	for _, c := range opts.components {
		fmt.Fprintf(&b, "- %s.yaml\n", c)
	}
	b.WriteString("patches:\n- path: node-selector.yaml\n  target:\n    kind: Deployment\n")
	for _, c := range opts.components {
		fmt.Fprintf(&b, "- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: %s\n  patch: |-\n", c)
		for _, r := range argReplacements(c, opts) {
			fmt.Fprintf(&b, "    - op: replace\n      path: /spec/template/spec/containers/0/args/%d\n      value: %s\n",
				r.index, strconv.Quote(r.value))
		}
	}
	if opts.registry != "" {
		b.WriteString("images:\n")
		for _, c := range opts.components {
			fmt.Fprintf(&b, "- name: fluxcd/%s\n  newName: %s/%s\n", c, opts.registry, c)
		}
	}
	return b.String()
}

// checkDeployments fails when a positional argument patch landed on the
// wrong argument, which shows as a flag given twice or a value missing.
func checkDeployments(manifest []byte, opts installOptions) error {
	nodes, err := kio.FromBytes(manifest)
	if err != nil {
		return fmt.Errorf("reading the built manifest: %w", err)
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.GetKind() != "Deployment" {
			continue
		}
		name := n.GetName()
		seen[name] = true
		args, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=manager]", "args"))
		if err != nil || args == nil {
			return fmt.Errorf("deployment %s: no manager container args", name)
		}
		var values []string
		for _, e := range args.Content() {
			values = append(values, e.Value)
		}
		flags := map[string]bool{}
		for _, v := range values {
			f, _, _ := strings.Cut(v, "=")
			if flags[f] {
				return fmt.Errorf("deployment %s: flag %s given twice in %v", name, f, values)
			}
			flags[f] = true
		}
		for _, r := range argReplacements(name, opts) {
			if r.index >= len(values) || values[r.index] != r.value {
				return fmt.Errorf("deployment %s: args[%d] is not %q in %v", name, r.index, r.value, values)
			}
		}
	}
	for _, c := range opts.components {
		if !seen[c] {
			return fmt.Errorf("no deployment for component %s", c)
		}
	}
	return nil
}

// cliOptions are the kustomize CLI's build defaults, with which the
// controllers' release artifacts and the flux2 bundle are built.
func cliOptions() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	o.Reorder = krusty.ReorderOptionLegacy
	return o
}

// installBuildOptions are the options flux uses for its own builds: no
// load restrictions, no plugins, no reordering.
func installBuildOptions() *krusty.Options {
	return &krusty.Options{
		LoadRestrictions: types.LoadRestrictionsNone,
		PluginConfig:     types.DisabledPluginConfig(),
	}
}

func build(mem filesys.FileSystem, dir string, opts *krusty.Options) ([]byte, error) {
	m, err := krusty.MakeKustomizer(opts).Run(mem, dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

func buildTo(mem filesys.FileSystem, dir, target string, opts *krusty.Options) error {
	out, err := build(mem, dir, opts)
	if err != nil {
		return fmt.Errorf("building %s: %w", dir, err)
	}
	if err := mem.MkdirAll(path.Dir(target)); err != nil {
		return err
	}
	return mem.WriteFile(target, out)
}

// copyTree copies the regular files under the on-disk directory src to dst
// in the in-memory filesystem.
func copyTree(mem filesys.FileSystem, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		if d.IsDir() {
			return mem.MkdirAll(target)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(target, data)
	})
}
