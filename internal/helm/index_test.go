package helm

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	repov1 "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// TestIndexAsHelmReadsIt holds indexFile to Helm's repo.IndexFile: an
// index Helm's repo package writes, and entries it would not (without
// metadata, with Helm 2's deprecated fields, with fields neither knows),
// decode to the same charts, versions, URLs, creation times, and entries
// with and without metadata.
func TestIndexAsHelmReadsIt(t *testing.T) {
	written := repov1.NewIndexFile()
	created := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, v := range []string{"1.0.0", "1.1.0-rc.1", "2.0.0+build.3"} {
		if err := written.MustAdd(&chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: "app", Version: v, AppVersion: "9"}, "app-"+v+".tgz", "https://charts.example.com", "sha256:00"); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range written.Entries["app"] {
		e.Created = created
	}
	data, err := yaml.Marshal(written)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var other []any
	if err := yaml.Unmarshal([]byte(`
- urls: [other-1.0.0.tgz]
  created: "2025-01-02T03:04:05Z"
- name: other
  version: 0.9.0
  checksum: abc
  engine: gotpl
  tillerVersion: ">=2"
  url: https://old.example.com/other-0.9.0.tgz
  urls: [other-0.9.0.tgz]
  unknown: field
- digest: sha256:11
  removed: true
  whatever: 1
- null
`), &other); err != nil {
		t.Fatal(err)
	}
	doc["entries"].(map[string]any)["other"] = other
	if data, err = yaml.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	var helms repov1.IndexFile
	if err := yaml.Unmarshal(data, &helms); err != nil {
		t.Fatal(err)
	}
	var ours indexFile
	if err := yaml.Unmarshal(data, &ours); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Metadata bool
		Version  string
		URLs     []string
		Created  time.Time
	}
	helmEntry := func(v *repov1.ChartVersion) (e entry) {
		if v != nil {
			e = entry{v.Metadata != nil, "", v.URLs, v.Created}
			if e.Metadata {
				e.Version = v.Version
			}
		}
		return e
	}
	ourEntry := func(v *indexEntry) (e entry) {
		if v != nil {
			e = entry{v.Metadata != nil, "", v.URLs, v.Created}
			if e.Metadata {
				e.Version = v.Version
			}
		}
		return e
	}
	if ours.APIVersion != helms.APIVersion || len(ours.Entries) != len(helms.Entries) {
		t.Fatalf("apiVersion %q and %d charts, Helm reads %q and %d", ours.APIVersion, len(ours.Entries), helms.APIVersion, len(helms.Entries))
	}
	for name, versions := range helms.Entries {
		var want, got []entry
		for _, v := range versions {
			want = append(want, helmEntry(v))
		}
		for _, v := range ours.Entries[name] {
			got = append(got, ourEntry(v))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("chart %s (-Helm's +ours):\n%s", name, diff)
		}
	}
}
