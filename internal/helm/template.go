package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Release is one HelmRelease to render, its chart fetched and its values
// merged.
type Release struct {
	HelmRelease *helmv2.HelmRelease
	Chart       *Chart
	Values      map[string]any
	// KubeVersion is the cluster's version the templates see
	// (.Capabilities.KubeVersion), "v1.34.0"; empty is Helm's default.
	KubeVersion string
	// APIVersions are the API versions the templates see besides Helm's
	// defaults (.Capabilities.APIVersions): "group/version" and
	// "group/version/Kind".
	APIVersions []string
}

// Labels helm-controller sets on every object of a release, naming the
// HelmRelease.
const (
	NameLabel      = "helm.toolkit.fluxcd.io/name"
	NamespaceLabel = "helm.toolkit.fluxcd.io/namespace"
)

// Name returns the name helm-controller gives hr's Helm release: its
// releaseName, else [targetNamespace-]name, shortened past 53 characters to
// 40 and the first 12 hex digits of its SHA-256.
func Name(hr *helmv2.HelmRelease) string {
	return shortenName(hr.GetReleaseName())
}

// template renders the chart of rel with its values as `helm template`
// does (capabilities from KubeVersion and APIVersions, lookup answering
// nothing), postRenderer, when set, running inside the install. It returns
// what the install rendered and the chart as the install left it: its
// dependencies pruned by their conditions, as helm-controller prunes them
// before applying their CRDs.
func template(ctx context.Context, rel Release, postRenderer func(*bytes.Buffer) (*bytes.Buffer, error)) (installed, *chartv2.Chart, error) {
	ch, err := rel.Chart.load()
	if err != nil {
		return installed{}, nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	if rel.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(rel.KubeVersion)
		if err != nil {
			return installed{}, nil, err
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, rel.APIVersions...)
	hr := rel.HelmRelease
	out, err := install(ctx, ch, rel.Values, installOptions{
		Name:                 Name(hr),
		Namespace:            hr.GetReleaseNamespace(),
		Capabilities:         caps,
		SkipSchemaValidation: hr.GetInstall().DisableSchemaValidation,
		PostRenderer:         postRenderer,
		PostRenderStrategy:   hr.GetPostRenderStrategy(),
	})
	if err != nil {
		return installed{}, nil, fmt.Errorf("chart %s: %w", rel.Chart, err)
	}
	return out, ch, nil
}

// Render renders rel as helm-controller installs it, and returns its
// objects: the chart's CustomResourceDefinitions unless install.crds is
// Skip, then the templates and hooks (none when install.disableHooks is
// set; test hooks only when spec.test.enable is set, as helm-controller
// runs them) through the HelmRelease's kustomize post-renderers, with its
// commonMetadata and its origin labels, which win over commonMetadata's.
// Objects without a namespace get the release's when their kind is
// namespaced, as Helm's client creates them.
//
// helm-controller runs commonMetadata and the origin labels as
// post-renderers too; setting the labels on the parsed objects instead
// gives the same objects (labels and annotations change neither the
// order Helm sorts objects in nor which are hooks) at a fraction of the
// cost, and the kustomize post-renderers, which may, still run inside
// Helm's install.
func Render(ctx context.Context, rel Release) ([]*kyaml.RNode, error) {
	hr := rel.HelmRelease
	var patch func(*bytes.Buffer) (*bytes.Buffer, error)
	if slices.ContainsFunc(hr.Spec.PostRenderers, func(p helmv2.PostRenderer) bool { return p.Kustomize != nil }) {
		patch = func(b *bytes.Buffer) (*bytes.Buffer, error) { return kustomizePatches(hr, b) }
	}
	r, ch, err := template(ctx, rel, patch)
	if err != nil {
		return nil, err
	}
	var out []*kyaml.RNode
	if hr.GetInstall().CRDs != helmv2.Skip {
		crds, err := chartCRDs(ch)
		if err != nil {
			return nil, fmt.Errorf("chart %s: crds/: %w", rel.Chart, err)
		}
		for _, n := range crds {
			if err := setLabels(n, originLabels(hr)); err != nil {
				return nil, err
			}
		}
		out = append(out, crds...)
	}
	hooksRendered := hr.GetPostRenderStrategy() != helmv2.PostRenderStrategyNoHooks
	add := func(nodes []*kyaml.RNode, err error, postRendered bool) error {
		if err != nil {
			return fmt.Errorf("chart %s: its output does not read as objects: %w", rel.Chart, err)
		}
		for _, n := range nodes {
			if postRendered {
				if err := commonMetadata(n, hr); err != nil {
					return err
				}
			}
			if n.GetNamespace() == "" && !resid.GvkFromNode(n).IsClusterScoped() {
				if err := n.SetNamespace(hr.GetReleaseNamespace()); err != nil {
					return err
				}
			}
		}
		out = append(out, nodes...)
		return nil
	}
	for _, m := range r.objects {
		if err := add(m.objects, m.err, true); err != nil {
			return nil, err
		}
	}
	for _, h := range r.Hooks {
		// With install.disableHooks helm-controller runs no hook, so
		// no hook object is ever made; the test hooks run only on a test.
		runs := !hr.GetInstall().DisableHooks
		if isTestHook(h) {
			runs = hr.GetTest().Enable
		}
		if runs {
			nodes, err := parseObjects(h.Manifest)
			if err := add(nodes, err, hooksRendered); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// commonMetadata sets the HelmRelease's commonMetadata on an object, then
// its origin labels.
func commonMetadata(n *kyaml.RNode, hr *helmv2.HelmRelease) error {
	if cm := hr.Spec.CommonMetadata; cm != nil {
		if err := setLabels(n, cm.Labels); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(cm.Annotations)) {
			if err := n.PipeE(kyaml.SetAnnotation(k, cm.Annotations[k])); err != nil {
				return err
			}
		}
	}
	return setLabels(n, originLabels(hr))
}

func originLabels(hr *helmv2.HelmRelease) map[string]string {
	return map[string]string{NameLabel: hr.Name, NamespaceLabel: hr.Namespace}
}

func setLabels(n *kyaml.RNode, labels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if err := n.PipeE(kyaml.SetLabel(k, labels[k])); err != nil {
			return err
		}
	}
	return nil
}

// parseObjects reads a manifest's documents, leaving out empty ones.
func parseObjects(manifest string) ([]*kyaml.RNode, error) {
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(manifest), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(nodes, func(n *kyaml.RNode) bool { return n.IsNilOrEmpty() }), nil
}

// chartCRDs returns the CustomResourceDefinitions of the chart's crds/
// directories, its enabled dependencies' included, as helm-controller
// applies them before installing.
func chartCRDs(ch *chartv2.Chart) ([]*kyaml.RNode, error) {
	var out []*kyaml.RNode
	for _, crd := range ch.CRDObjects() {
		nodes, err := parseObjects(string(crd.File.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", crd.Name, err)
		}
		for _, n := range nodes {
			gvk := resid.GvkFromNode(n)
			if gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition" {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

func isTestHook(h *releasev1.Hook) bool {
	for _, e := range h.Events {
		if e == releasev1.HookTest {
			return true
		}
	}
	return false
}

// shortenName is helm-controller's release.ShortenName.
func shortenName(name string) string {
	const maxLength, hashLength = 53, 12
	if len(name) <= maxLength {
		return name
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return name[:maxLength-hashLength-1] + "-" + sum[:hashLength]
}

// kustomizePatches runs the HelmRelease's kustomize post-renderers in
// order.
func kustomizePatches(hr *helmv2.HelmRelease, b *bytes.Buffer) (*bytes.Buffer, error) {
	data := b.Bytes()
	for i, pr := range hr.Spec.PostRenderers {
		if pr.Kustomize == nil {
			continue
		}
		var err error
		if data, err = kustomizePatch(data, pr); err != nil {
			return nil, fmt.Errorf("postRenderers[%d]: %w", i, err)
		}
	}
	return bytes.NewBuffer(data), nil
}

// kustomizePatch runs one kustomize post-renderer: the manifests as the
// only resource of a kustomization holding its patches and images, built
// in memory.
func kustomizePatch(data []byte, pr helmv2.PostRenderer) ([]byte, error) {
	fs := filesys.MakeFsInMemory()
	k := kustypes.Kustomization{Resources: []string{"helm-output.yaml"}}
	k.APIVersion, k.Kind = kustypes.KustomizationVersion, kustypes.KustomizationKind
	for _, im := range pr.Kustomize.Images {
		k.Images = append(k.Images, kustypes.Image{Name: im.Name, NewName: im.NewName, NewTag: im.NewTag, Digest: im.Digest})
	}
	for _, p := range pr.Kustomize.Patches {
		kp := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			kp.Target = &kustypes.Selector{LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
			kp.Target.Group, kp.Target.Version, kp.Target.Kind = t.Group, t.Version, t.Kind
			kp.Target.Name, kp.Target.Namespace = t.Name, t.Namespace
		}
		k.Patches = append(k.Patches, kp)
	}
	kdata, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := fs.WriteFile("helm-output.yaml", data); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("kustomization.yaml", kdata); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: kustypes.LoadRestrictionsNone, PluginConfig: kustypes.DisabledPluginConfig()}).Run(fs, ".")
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}
