package helm

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// installed is what a client-only install renders of a chart: its
// manifests in Helm's install order, and its hooks.
type installed struct {
	Manifests []releaseutil.Manifest
	Hooks     []*releasev1.Hook
	// objects are each manifest's objects, in turn.
	objects []parsed
}

// installOptions are the settings of Helm's install that change what a
// client-only install renders.
type installOptions struct {
	Name, Namespace string
	// Capabilities are what .Capabilities answers; required.
	Capabilities *common.Capabilities
	// SkipSchemaValidation leaves the values unchecked against the
	// chart's values.schema.json.
	SkipSchemaValidation bool
	// PostRenderer, when set, runs over the rendered manifests as
	// PostRenderStrategy says (empty is combined).
	PostRenderer       func(*bytes.Buffer) (*bytes.Buffer, error)
	PostRenderStrategy helmv2.PostRenderStrategy
}

// install renders ch with vals as Helm's install action does with its
// client-only dry run (`helm template`): dependencies pruned by their
// conditions and tags (ch is changed), the values checked against the
// chart's schema, the chart's kubeVersion constraint, the engine with no
// cluster (lookup answers nothing), NOTES.txt left out, the post-renderer,
// then hooks split from manifests and both sorted in install order.
//
// Helm's action package is not used for this: it links the SDK's storage
// drivers, its kube client and kubectl's scheme, a fifth of this binary
// and of its start-up, for a dry run that uses none of them.
// TestInstallAsHelmAction holds this to the action.
func install(ctx context.Context, ch *chartv2.Chart, vals map[string]any, o installOptions) (installed, error) {
	if err := chartutil.ValidateReleaseName(o.Name); err != nil {
		return installed{}, fmt.Errorf("release name %q: %w", o.Name, err)
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return installed{}, fmt.Errorf("chart dependencies processing failed: %w", err)
	}
	caps := o.Capabilities
	rel := common.ReleaseOptions{Name: o.Name, Namespace: o.Namespace, Revision: 1, IsInstall: true}
	values, err := commonutil.ToRenderValuesWithSchemaValidation(ch, vals, rel, caps, o.SkipSchemaValidation)
	if err != nil {
		return installed{}, err
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return installed{}, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", kv, caps.KubeVersion.Version)
	}
	files, err := engine.Engine{}.RenderWithContext(ctx, ch, values)
	if err != nil {
		return installed{}, err
	}
	maps.DeleteFunc(files, func(name, _ string) bool { return strings.HasSuffix(name, "NOTES.txt") })
	if o.PostRenderer != nil {
		if files, err = postRender(files, o.PostRenderer, o.PostRenderStrategy); err != nil {
			return installed{}, err
		}
	}
	hooks, manifests, objects, err := sortManifests(files)
	if err != nil {
		return installed{}, err
	}
	return installed{Manifests: manifests, Hooks: hooks, objects: objects}, nil
}

// fileAnnotation carries each document's template file through a
// post-renderer, the annotation Helm's install uses, so that the sort
// after it orders objects as without one.
const fileAnnotation = "postrenderer.helm.sh/postrender-filename"

// postRender runs pr over the rendered files as Helm's install does for
// strategy: "combined" (or empty) sends every document at once; "separate"
// sends the manifests and the hooks apart; "nohooks" sends the manifests
// only.
func postRender(files map[string]string, pr func(*bytes.Buffer) (*bytes.Buffer, error), strategy helmv2.PostRenderStrategy) (map[string]string, error) {
	switch strategy {
	case "", helmv2.PostRenderStrategyCombined:
		merged, err := annotate(files)
		if err != nil {
			return nil, err
		}
		out, err := pr(bytes.NewBufferString(merged))
		if err != nil {
			return nil, fmt.Errorf("error while running post render on files: %w", err)
		}
		return deannotate(out.String(), "")
	case helmv2.PostRenderStrategySeparate, helmv2.PostRenderStrategyNoHooks:
	default:
		return nil, fmt.Errorf("unknown post-render strategy: '%s'", strategy)
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	hookFiles, manifestFiles := map[string]string{}, map[string]string{}
	for _, h := range hooks {
		appendDoc(hookFiles, h.Path, h.Manifest)
	}
	for _, m := range manifests {
		appendDoc(manifestFiles, m.Name, m.Content)
	}
	out := map[string]string{}
	for _, g := range []struct {
		name   string
		files  map[string]string
		render bool
	}{
		{"hooks", hookFiles, strategy == helmv2.PostRenderStrategySeparate},
		{"manifests", manifestFiles, true},
	} {
		if len(g.files) == 0 {
			continue
		}
		rendered := g.files
		if g.render {
			merged, err := annotate(g.files)
			if err != nil {
				return nil, fmt.Errorf("error merging %s: %w", g.name, err)
			}
			b, err := pr(bytes.NewBufferString(merged))
			if err != nil {
				return nil, fmt.Errorf("error while running post render on %s: %w", g.name, err)
			}
			if rendered, err = deannotate(b.String(), g.name); err != nil {
				return nil, err
			}
		}
		for name, doc := range rendered {
			appendDoc(out, name, doc)
		}
	}
	return out, nil
}

func appendDoc(files map[string]string, name, doc string) {
	if prev, ok := files[name]; ok {
		doc = prev + "\n---\n" + doc
	}
	files[name] = doc
}

// annotate merges the documents of files, partials and empty ones left
// out, into one stream, each annotated with its file.
func annotate(files map[string]string) (string, error) {
	var docs []*kyaml.RNode
	for name, doc := range documents(files) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		nodes, err := kio.ParseAll(doc)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", name, err)
		}
		for _, n := range nodes {
			if err := n.PipeE(kyaml.SetAnnotation(fileAnnotation, name)); err != nil {
				return "", fmt.Errorf("annotating %s: %w", name, err)
			}
		}
		docs = append(docs, nodes...)
	}
	return kio.StringAll(docs)
}

// deannotate splits a post-renderer's output back into files by their
// annotation; a document without one (the post-renderer made it) gets a
// file of its own.
func deannotate(stream, group string) (map[string]string, error) {
	nodes, err := kio.ParseAll(stream)
	if err != nil {
		return nil, fmt.Errorf("error while parsing post rendered output: %w", err)
	}
	byFile := map[string][]*kyaml.RNode{}
	for i, n := range nodes {
		name := n.GetAnnotations()[fileAnnotation]
		switch {
		case name != "":
		case group == "":
			name = fmt.Sprintf("generated-by-postrender-%d.yaml", i)
		default:
			name = fmt.Sprintf("generated-by-postrender-%s-%d.yaml", group, i)
		}
		if err := n.PipeE(kyaml.ClearAnnotation(fileAnnotation)); err != nil {
			return nil, err
		}
		byFile[name] = append(byFile[name], n)
	}
	out := make(map[string]string, len(byFile))
	for name, docs := range byFile {
		s, err := kio.StringAll(docs)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}
