package render

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// scanCases are kustomization files the scanner reads (scans) or leaves
// to the YAML parser; either way kustomizationFacts must say what the
// parser says.
var scanCases = []struct {
	name  string
	data  string
	scans bool
}{
	{"empty", "", true},
	{"comments only", "# nothing\n\n  # here\n", true},
	{"opening marker", "---\nresources:\n- a.yaml\n", true},
	{"overlay", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: sock-shop
resources:
  - ../../base   # the base
  - 'quoted it''s.yaml'
  - "double.yaml"
images:
  - name: weaveworksdemos/front-end
    newName: 127.0.0.1:5000/front-end
    newTag: main-abc-1 # {"$imagepolicy": "flux-system:front-end:tag"}
replicas:
- name: front-end
  count: 3
configMapGenerator:
  - name: settings
    envs:
      - settings.env
    files:
    - key=conf/app.conf
patches:
  - target:
      kind: Deployment
      name: front-end
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value: {name: ENV, value: prod}
  - path: one-line.yaml
    options:
      allowNameChange: true
`, true},
	{"component", "kind: Component\nresources:\n- x\n", true},
	{"quoted kind", "kind: 'Component' # a comment\n", true},
	{"block kind", "kind: |-\n  Component\n", true},
	{"renames", "namePrefix: dev-\nresources:\n- a\n", true},
	{"null prefix", "nameSuffix:\nresources:\n- a\n", true},
	{"helm", "helmCharts:\n- name: x\n  repo: https://charts.example.com\n  valuesInline:\n    a: 1\n", true},
	{"one-line literal", "patches:\n- patch: |-\n    one line\n  target:\n    kind: X\n", true},
	{"literal keeps its break", "patches:\n- patch: |\n    one line\n", true},
	{"literal of lines", "patches:\n- patch: |-\n    a\n\n    b\n  path: p\n", true},
	{"empty literal", "a: |\nb: c\n", true},
	{"a key=value on a literal's last line", "patches:\n- patch: |-\n    - op: add\n      value: --servers=8.8.8.8:53\n", true},
	{"spaces in a literal", "a: |-\n  x\n\n   \n  y\n", true},
	{"kept line breaks", "a: |+\n  x\n\n", false},
	{"folded lines", "a: >-\n  x\n  y\n", false},
	{"indentation indicator", "a: |2\n   x\n", false},
	{"leading empty line", "a: |-\n\n  x\n", false},
	{"flow sequence", "resources: [a, b]\n", false},
	{"flow mapping", "labels: {a: b}\n", false},
	{"anchor", "resources:\n- &a x\n- *a\n", false},
	{"tag", "resources:\n- !!str x\n", false},
	{"merge key", "a: &x\n  b: c\nd:\n  <<: *x\n", false},
	{"two documents", "resources:\n- a\n---\nresources:\n- b\n", false},
	{"multi-line plain", "namePrefix: a\n  b\n", false},
	{"multi-line plain item", "resources:\n- a\n  b\n", false},
	{"tab", "resources:\n\t- a\n", false},
	{"non-ASCII", "namePrefix: \u00e9t\u00e9-\n", false},
	{"carriage return", "resources:\r\n- a\r\n", false},
	{"escape", "namePrefix: \"a\\tb\"\n", false},
	{"quoted key", "\"resources\":\n- a\n", false},
	{"duplicate key", "resources:\n- a\nresources:\n- b\n", false},
	{"nested sequence", "a:\n- - b\n", false},
	{"empty item", "resources:\n-\n- a\n", false},
	{"top-level sequence", "- a\n- b\n", false},
	{"top-level scalar", "just text\n", false},
	{"indented top level", "  resources:\n  - a\n", false},
	{"bad indentation", "resources:\n  - a\n - b\n", false},
	{"value with colon", "a: b: c\n", false},
	{"unterminated quote", "a: 'b\n", false},
	{"text after quote", "a: 'b' c\n", false},
	{"syntax error", "a:\n  b: c\n d: e\n", false},
}

func TestScanKustomization(t *testing.T) {
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			want := parseKustomization("kustomization.yaml", []byte(c.data))
			got, ok := scanKustomization([]byte(c.data))
			if ok != c.scans {
				t.Fatalf("scanned: %v, want %v", ok, c.scans)
			}
			if ok && !reflect.DeepEqual(got, want) {
				t.Errorf("scanner:\n%+v\nparser:\n%+v", got, want)
			}
		})
	}
}

// TestScanKustomizationFiles holds the scanner to the parser on every
// kustomization file of the project's examples and fixtures, and checks
// that it reads most of them itself.
func TestScanKustomizationFiles(t *testing.T) {
	var files, scanned int
	for _, dir := range []string{"../../testdata", "../promote", "../setters"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !kfs.IsKustomizationFile(p) {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			got, ok := scanKustomization(data)
			if !ok {
				return nil
			}
			scanned++
			if want := parseKustomization(p, data); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: scanner:\n%+v\nparser:\n%+v", p, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 100 || scanned*10 < files*9 {
		t.Errorf("the scanner read %d of %d kustomization files, want 90%%", scanned, files)
	}
}

func FuzzScanKustomization(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := scanKustomization(data)
		if !ok {
			return
		}
		if want := parseKustomization("kustomization.yaml", data); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: scanner:\n%+v\nparser:\n%+v", data, got, want)
		}
	})
}

// docCases are Flux objects scanDoc reads (scans) or leaves to the YAML
// parser; either way docFacts must say what the parser says.
var docCases = []struct {
	name  string
	data  string
	scans bool
}{
	{"Kustomization", `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  retryInterval: 1m
  timeout: 5m
  path: ./apps/production
  prune: true
  wait: false
  force: no
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      replicas: "3"
      count: 3
      ratio: 0.5
      big: 12345678901234567890
      octal: 0o17
      when: 2024-01-01
      empty: ""
      none: ~
      flag: on
      minus: -12
      zero: 0
      lead: 012
      hex: 0x1F
      float: 1e3
      inf: .inf
      duration: 10m0s
      quantity: 512Mi
      stamp: 2001-12-14t21:59:43.10-05:00
      answer: y
      upper: NULL
      word: False
  dependsOn:
    - name: infrastructure
  patches:
    - patch: |
        - op: replace
          path: /spec/values/replicas
          value: 2
      target:
        kind: HelmRelease
`, true},
	{"GitRepository", `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/stefanprodan/podinfo
  ref:
    branch: master
  ignore: |
    /*
    !/kustomize
`, true},
	{"OCIRepository without ref", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: x\nspec:\n  url: oci://ghcr.io/x\n", true},
	{"HelmRelease", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  chartRef:\n    kind: OCIRepository\n    name: chart\n  values:\n    replicaCount: 1\n", true},
	{"HelmRelease patch", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  values:\n    replicaCount: 2\n", true},
	{"null spec", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\nspec:\n", true},
	{"ArtifactGenerator", "apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: g\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n      name: flux-system\n", true},
	{"kustomize's Kustomization", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n", true},
	{"comments and a marker", "---\n# the apps\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a # here\n", true},
	{"FluxInstance", "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\nspec:\n  sync:\n    kind: GitRepository\n", false},
	{"instance values", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: flux\nspec:\n  values:\n    instance:\n      sync:\n        path: x\n", false},
	{"flow spec", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\nspec: {path: ./x}\n", false},
	{"numeric key", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\nspec:\n  postBuild:\n    substitute:\n      1: one\n", false},
	{"boolean key", "apiVersion: v1\nkind: ConfigMap\ndata:\n  true: x\n", false},
	{"duplicate key", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  path: a\n  path: b\n", false},
	{"not a mapping", "- a\n", false},
	{"empty", "# nothing\n", false},
}

func TestScanDoc(t *testing.T) {
	for _, c := range docCases {
		t.Run(c.name, func(t *testing.T) {
			d := manifest.Doc{Line: 7, Text: []byte(c.data)}
			got, ok := scanDoc(d)
			if ok != c.scans {
				t.Fatalf("scanned: %v, want %v", ok, c.scans)
			}
			if want := parseDocFacts("f.yaml", d); ok && !reflect.DeepEqual(got, want) {
				t.Errorf("scanner:\n%+v\n%s\nparser:\n%+v\n%s", got, got.Spec, want, want.Spec)
			}
		})
	}
}

// TestScanDocFiles holds scanDoc to the parser on every Flux object of
// the project's examples and fixtures, and checks that it reads most of
// them itself.
func TestScanDocFiles(t *testing.T) {
	var docs, scanned int
	err := filepath.WalkDir("../../testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(p) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range manifest.Split(data) {
			if !fluxObjectLine.Match(doc.Text) {
				continue
			}
			docs++
			got, ok := scanDoc(doc)
			if !ok {
				continue
			}
			scanned++
			if want := parseDocFacts(p, doc); !reflect.DeepEqual(got, want) {
				t.Errorf("%s:%d: scanner:\n%+v\nparser:\n%+v", p, doc.Line, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The schema cases are written in flow style on purpose.
	if docs < 100 || scanned*10 < docs*8 {
		t.Errorf("the scanner read %d of %d Flux objects, want 80%%", scanned, docs)
	}
}

func FuzzScanDoc(f *testing.F) {
	for _, c := range docCases {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := manifest.Doc{Line: 3, Text: data}
		got, ok := scanDoc(d)
		if !ok {
			return
		}
		if want := parseDocFacts("f.yaml", d); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: scanner:\n%+v\nparser:\n%+v", data, got, want)
		}
	})
}

// FuzzResolvePlain holds the values resolvePlain tells itself to those
// the YAML parser decodes a plain scalar into.
func FuzzResolvePlain(f *testing.F) {
	for _, s := range []string{"true", "False", "NULL", "~", "0", "12", "-12", "012", "0x1F", "0o17", "1e3", ".inf", "10m0s", "512Mi", "1_000", "2001-12-14", "12345678901234567890", "y", "on", "v1", "./apps", "../base", ".5", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return // a value left empty: null, told by the reader
		}
		for _, c := range []byte(s) {
			if c >= 0x7f || c < 0x20 {
				return // text readBlock leaves to the parser
			}
		}
		if v, plain, ok := plainOrQuoted(s); !ok || !plain || v != s {
			return
		}
		got, ok := resolvePlain(s)
		var want any
		if err := yaml.Unmarshal([]byte(s), &want); err != nil || !ok {
			if ok {
				t.Errorf("%q: resolved to %#v, the parser fails: %v", s, got, err)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: resolved to %#v, the parser to %#v", s, got, want)
		}
	})
}
