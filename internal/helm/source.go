package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Sources are what a HelmRelease's chart and values are looked up in: the
// Flux sources, ConfigMaps and Secrets the repository renders, and the
// trees of the GitRepositories that are this repository.
type Sources interface {
	// Spec returns the spec, as JSON, of the source of kind (HelmRepository,
	// GitRepository, OCIRepository, HelmChart, Bucket, ExternalArtifact)
	// namespace/name that the repository renders.
	Spec(kind, namespace, name string) (json.RawMessage, bool)
	// Data returns the data of ConfigMap or Secret namespace/name, Secret
	// values decoded, and whether it is encrypted with SOPS.
	Data(kind, namespace, name string) (data map[string]string, encrypted, ok bool)
	// Tree returns the tree of GitRepository namespace/name when it is this
	// repository, at the revision being rendered or another of its local
	// revisions; else the reason it is not rendered from here.
	Tree(namespace, name string) (repo.Tree, string)
}

// Unchecked is why a HelmRelease's chart could not be had: a source the
// repository does not define, another repository, a registry that cannot
// be reached or refuses the credentials, a chart not in the cache offline.
// Nothing is known to be wrong with the HelmRelease: it is not rendered.
type Unchecked struct{ Reason string }

func (u *Unchecked) Error() string { return u.Reason }

// DefaultInterval is how long a version resolution is reused when neither
// the source nor the HelmRelease sets an interval.
const DefaultInterval = 10 * time.Minute

// Resolve finds and fetches the chart of hr as source-controller would
// build it: from spec.chart (a HelmRepository, a GitRepository of this
// repository, never a Bucket) or spec.chartRef (an OCIRepository or a
// HelmChart), its valuesFiles merged as the chart's values. Errors that
// leave the HelmRelease unchecked rather than wrong are *Unchecked. The
// chart is read when it renders: one that does not load fails Render.
func Resolve(ctx context.Context, f *Fetcher, hr *helmv2.HelmRelease, src Sources) (*Chart, error) {
	switch {
	case hr.Spec.ChartRef != nil:
		ref := hr.Spec.ChartRef
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		spec, ok := src.Spec(ref.Kind, ns, ref.Name)
		if !ok {
			return nil, undefined(ref.Kind, ns, ref.Name)
		}
		switch ref.Kind {
		case "OCIRepository":
			var s sourcev1.OCIRepositorySpec
			if err := json.Unmarshal(spec, &s); err != nil {
				return nil, fmt.Errorf("OCIRepository %s/%s: %w", ns, ref.Name, err)
			}
			var r OCIRef
			if s.Reference != nil {
				r = OCIRef{Tag: s.Reference.Tag, SemVer: s.Reference.SemVer, SemverFilter: s.Reference.SemverFilter, Digest: s.Reference.Digest}
			}
			mediaType := ""
			if s.LayerSelector != nil {
				mediaType = s.LayerSelector.MediaType
			}
			auth := authFrom(src, ns, secretsOf(s.SecretRef, s.CertSecretRef))
			auth.Insecure, auth.Provider = s.Insecure, s.Provider
			c, err := f.FromOCIRepository(ctx, s.URL, r, mediaType, interval(s.Interval.Duration, hr), auth)
			if err != nil {
				return nil, fetchError(err)
			}
			return c, nil
		case "HelmChart":
			var s sourcev1.HelmChartSpec
			if err := json.Unmarshal(spec, &s); err != nil {
				return nil, fmt.Errorf("HelmChart %s/%s: %w", ns, ref.Name, err)
			}
			return fromTemplate(ctx, f, ns, chartTemplate{Chart: s.Chart, Version: s.Version, Kind: s.SourceRef.Kind, Name: s.SourceRef.Name, Namespace: ns,
				Interval: s.Interval.Duration, Strategy: s.ReconcileStrategy, ValuesFiles: s.ValuesFiles, IgnoreMissing: s.IgnoreMissingValuesFiles}, hr, src)
		}
		return nil, &Unchecked{Reason: fmt.Sprintf("spec.chartRef: %s %s/%s: charts from a %s are not rendered", ref.Kind, ns, ref.Name, ref.Kind)}
	case hr.Spec.Chart != nil:
		t := hr.Spec.Chart.Spec
		ns := t.SourceRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		var iv time.Duration
		if hr.Spec.Chart.Spec.Interval != nil {
			iv = hr.Spec.Chart.Spec.Interval.Duration
		}
		return fromTemplate(ctx, f, ns, chartTemplate{Chart: t.Chart, Version: t.Version, Kind: t.SourceRef.Kind, Name: t.SourceRef.Name, Namespace: ns,
			Interval: iv, Strategy: t.ReconcileStrategy, ValuesFiles: t.ValuesFiles, IgnoreMissing: t.IgnoreMissingValuesFiles}, hr, src)
	}
	return nil, errors.New("neither spec.chart nor spec.chartRef is set")
}

// chartTemplate is a HelmChart's spec, or a HelmRelease's spec.chart.spec
// that helm-controller makes one from.
type chartTemplate struct {
	Chart, Version, Kind, Name, Namespace string
	Interval                              time.Duration
	Strategy                              string
	ValuesFiles                           []string
	IgnoreMissing                         bool
}

func fromTemplate(ctx context.Context, f *Fetcher, ns string, t chartTemplate, hr *helmv2.HelmRelease, src Sources) (*Chart, error) {
	switch t.Kind {
	case "HelmRepository":
		spec, ok := src.Spec(t.Kind, ns, t.Name)
		if !ok {
			return nil, undefined(t.Kind, ns, t.Name)
		}
		var s sourcev1.HelmRepositorySpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("HelmRepository %s/%s: %w", ns, t.Name, err)
		}
		auth := authFrom(src, ns, secretsOf(s.SecretRef, s.CertSecretRef))
		auth.Provider = s.Provider
		auth.Insecure = s.Type == sourcev1.HelmRepositoryTypeOCI && s.Insecure
		iv := s.Interval.Duration
		if iv == 0 {
			iv = t.Interval
		}
		c, err := f.FromRepository(ctx, s.URL, t.Chart, t.Version, interval(iv, hr), auth, s.PassCredentials)
		if err != nil {
			return nil, fetchError(err)
		}
		valuesFiles(c, t, func(ch *chartv2.Chart, name string) ([]byte, bool) { return chartFile(ch, name) })
		return c, nil
	case "GitRepository":
		tree, why := src.Tree(ns, t.Name)
		if tree == nil {
			return nil, &Unchecked{Reason: why}
		}
		dir := path.Clean(t.Chart)
		c, err := FromTree(tree, dir, nil)
		if err != nil {
			return nil, err
		}
		if rev := tree.Revision(); t.Strategy == sourcev1.ReconcileStrategyRevision && len(rev) >= 12 {
			c.adjusted("revision "+rev[:12], func(ch *chartv2.Chart) error { return setVersionMetadata(ch, rev[:12]) })
		}
		for _, name := range t.ValuesFiles {
			data, _ := tree.ReadFile(path.Clean(name))
			c.Digest = cache.Key(c.Digest, name, cache.Digest(data))
		}
		valuesFiles(c, t, func(_ *chartv2.Chart, name string) ([]byte, bool) {
			data, err := tree.ReadFile(path.Clean(name))
			return data, err == nil
		})
		c.Name, c.loads = "", &f.loaded
		if _, err := c.load(); err != nil {
			return nil, err
		}
		c.Source = fmt.Sprintf("GitRepository %s/%s", ns, t.Name)
		return c, nil
	case "Bucket":
		return nil, &Unchecked{Reason: fmt.Sprintf("chart %s from Bucket %s/%s: charts in Buckets are not fetched", t.Chart, ns, t.Name)}
	}
	return nil, fmt.Errorf("spec.chart.spec.sourceRef: unknown kind %q", t.Kind)
}

// secretsOf names the Secrets of a source's secretRef and certSecretRef.
func secretsOf(secret, cert *meta.LocalObjectReference) secretNames {
	var s secretNames
	if secret != nil {
		s.Secret = secret.Name
	}
	if cert != nil {
		s.Cert = cert.Name
	}
	return s
}

// valuesFiles makes the merge of a chart template's valuesFiles the
// chart's values, as source-controller packages it: values.yaml only if it
// is listed.
func valuesFiles(c *Chart, t chartTemplate, read func(ch *chartv2.Chart, name string) ([]byte, bool)) {
	if len(t.ValuesFiles) == 0 {
		return
	}
	files := slices.Clone(t.ValuesFiles)
	c.adjusted(fmt.Sprintf("valuesFiles %q %v", files, t.IgnoreMissing), func(ch *chartv2.Chart) error {
		vals := map[string]any{}
		for _, name := range files {
			data, ok := read(ch, name)
			if !ok {
				if t.IgnoreMissing {
					continue
				}
				return fmt.Errorf("valuesFiles: %s is not there", name)
			}
			v, err := common.ReadValues(data)
			if err != nil {
				return fmt.Errorf("valuesFiles: %s: %w", name, err)
			}
			vals = loader.MergeMaps(vals, v)
		}
		ch.Values = vals
		return nil
	})
}

// chartFile reads a file of a loaded chart by its path in the chart.
func chartFile(ch *chartv2.Chart, name string) ([]byte, bool) {
	name = path.Clean(name)
	for _, f := range ch.Raw {
		if f.Name == name {
			return f.Data, true
		}
	}
	for _, f := range ch.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func interval(d time.Duration, hr *helmv2.HelmRelease) time.Duration {
	switch {
	case d > 0:
		return d
	case hr.Spec.Interval.Duration > 0:
		return hr.Spec.Interval.Duration
	}
	return DefaultInterval
}

func undefined(kind, ns, name string) error {
	return &Unchecked{Reason: fmt.Sprintf("%s %s/%s is not defined in this repository", kind, ns, name)}
}

// fetchError tells a registry or network failure, which leaves the
// HelmRelease unchecked, from an answer about the chart (no such chart,
// no version in range), which is an error of the HelmRelease.
func fetchError(err error) error {
	var rerr *registry.Error
	var down *hostDown
	if errors.Is(err, ErrNotCached) || errors.As(err, &down) {
		return &Unchecked{Reason: err.Error()}
	}
	if errors.As(err, &rerr) && rerr.Kind != registry.KindNotFound {
		return &Unchecked{Reason: err.Error()}
	}
	return err
}
