package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
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

// Template renders the chart of rel with its values as `helm template`
// does (Helm's install action, client only, capabilities from KubeVersion
// and APIVersions, lookup answering nothing), and returns the manifest
// with its hooks. It is what Render post-renders; on its own it is what
// `helm template` prints.
func Template(ctx context.Context, rel Release, postRenderer func(*bytes.Buffer) (*bytes.Buffer, error)) (*releasev1.Release, error) {
	ch, err := rel.Chart.load()
	if err != nil {
		return nil, err
	}
	hr := rel.HelmRelease
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler())
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = Name(hr)
	install.Namespace = hr.GetReleaseNamespace()
	install.SkipCRDs = true
	install.Devel = true
	install.DisableHooks = hr.GetInstall().DisableHooks
	install.SkipSchemaValidation = hr.GetInstall().DisableSchemaValidation
	install.PostRenderStrategy = action.PostRenderStrategy(hr.GetPostRenderStrategy())
	if rel.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(rel.KubeVersion)
		if err != nil {
			return nil, err
		}
		install.KubeVersion = kv
	}
	install.APIVersions = common.VersionSet(rel.APIVersions)
	if postRenderer != nil {
		install.PostRenderer = postRendererFunc(postRenderer)
	}
	out, err := install.RunWithContext(ctx, ch, rel.Values)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", rel.Chart, trimHelmError(err))
	}
	r, ok := out.(*releasev1.Release)
	if !ok {
		return nil, fmt.Errorf("chart %s: only charts of API v2 are rendered", rel.Chart)
	}
	return r, nil
}

// trimHelmError drops the advice `helm template` adds for its own flags.
func trimHelmError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "\n\nUse --debug"); i >= 0 {
		return errors.New(msg[:i])
	}
	return err
}

type postRendererFunc func(*bytes.Buffer) (*bytes.Buffer, error)

func (f postRendererFunc) Run(b *bytes.Buffer) (*bytes.Buffer, error) { return f(b) }

// Render renders rel as helm-controller installs it: the chart's
// CustomResourceDefinitions unless install.crds is Skip, then the templates
// and hooks (test hooks only when spec.test.enable is set), through the
// HelmRelease's post-renderers, its commonMetadata and its origin labels.
// Objects without a namespace get the release's when their kind is
// namespaced, as Helm's client creates them. The output is printed as
// kustomize prints objects, comments dropped.
func Render(ctx context.Context, rel Release) ([]byte, error) {
	hr := rel.HelmRelease
	r, err := Template(ctx, rel, func(b *bytes.Buffer) (*bytes.Buffer, error) { return postRender(hr, b) })
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if hr.GetInstall().CRDs != helmv2.Skip {
		crds, err := chartCRDs(rel)
		if err != nil {
			return nil, fmt.Errorf("chart %s: crds/: %w", rel.Chart, err)
		}
		out.Write(crds)
	}
	writeDoc := func(s string) {
		out.WriteString("---\n")
		out.WriteString(s)
		out.WriteByte('\n')
	}
	writeDoc(r.Manifest)
	for _, h := range r.Hooks {
		if !isTestHook(h) || hr.GetTest().Enable {
			writeDoc(h.Manifest)
		}
	}
	m, err := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory()).NewResMapFromBytes(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("chart %s: its output does not read as objects: %w", rel.Chart, err)
	}
	ns := hr.GetReleaseNamespace()
	for _, res := range m.Resources() {
		if res.GetNamespace() == "" && !res.GetGvk().IsClusterScoped() {
			if err := res.SetNamespace(ns); err != nil {
				return nil, err
			}
		}
	}
	return m.AsYaml()
}

// chartCRDs returns the CustomResourceDefinitions of the chart's crds/
// directories, its enabled dependencies' included, with the origin labels,
// as helm-controller applies them before installing.
func chartCRDs(rel Release) ([]byte, error) {
	ch, err := rel.Chart.load()
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependencies(ch, rel.Values); err != nil {
		return nil, err
	}
	var docs bytes.Buffer
	for _, crd := range ch.CRDObjects() {
		docs.WriteString("---\n")
		docs.Write(crd.File.Data)
		docs.WriteByte('\n')
	}
	crds := keepCRDs(docs.Bytes())
	if len(crds) == 0 {
		return nil, nil
	}
	return originLabeled(rel.HelmRelease, crds)
}

func isTestHook(h *releasev1.Hook) bool {
	for _, e := range h.Events {
		if e == releasev1.HookTest {
			return true
		}
	}
	return false
}

// keepCRDs keeps the CustomResourceDefinitions of a crds/ directory's
// documents: helm-controller applies nothing else from there.
func keepCRDs(docs []byte) []byte {
	var out bytes.Buffer
	for _, d := range manifest.Split(docs) {
		o, err := manifest.Decode("crds/", d)
		if err != nil || o.Kind != "CustomResourceDefinition" || o.Group() != "apiextensions.k8s.io" {
			continue
		}
		out.WriteString("---\n")
		out.Write(d.Text)
		out.WriteByte('\n')
	}
	return out.Bytes()
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

// postRender runs the HelmRelease's post-renderers in helm-controller's
// order: each kustomize post-renderer, then commonMetadata, then the origin
// labels, which win over commonMetadata's.
func postRender(hr *helmv2.HelmRelease, b *bytes.Buffer) (*bytes.Buffer, error) {
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
	var ts []resmap.Transformer
	if cm := hr.Spec.CommonMetadata; cm != nil {
		if cm.Labels != nil {
			ts = append(ts, labels(cm.Labels))
		}
		if cm.Annotations != nil {
			ts = append(ts, &builtins.AnnotationsTransformerPlugin{Annotations: cm.Annotations, FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}}})
		}
	}
	if len(ts) > 0 {
		var err error
		if data, err = transform(data, ts...); err != nil {
			return nil, fmt.Errorf("commonMetadata: %w", err)
		}
	}
	data, err := originLabeled(hr, data)
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(data), nil
}

func originLabeled(hr *helmv2.HelmRelease, data []byte) ([]byte, error) {
	return transform(data, labels(map[string]string{NameLabel: hr.Name, NamespaceLabel: hr.Namespace}))
}

func labels(l map[string]string) resmap.Transformer {
	return &builtins.LabelTransformerPlugin{Labels: l, FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}}}
}

// transform runs kustomize transformers over manifests, as helm-controller's
// post-renderers do.
func transform(data []byte, ts ...resmap.Transformer) ([]byte, error) {
	m, err := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory()).NewResMapFromBytes(data)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := t.Transform(m); err != nil {
			return nil, err
		}
	}
	return m.AsYaml()
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
