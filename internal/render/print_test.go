package render

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
)

// printCases are objects whose printing crosses each edge of kustomize's
// text round trips: numbers YAML and JSON read differently, strings JSON
// escapes or YAML refuses, keys that are not strings, tags, anchors. fast
// tells whether printYAML prints the object itself, or leaves it to
// kustomize.
var printCases = []struct {
	name, data string
	fast       bool
}{
	{"deployment", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: front-end
  labels: {name: front-end, tier: "1"}
  annotations:
    description: "línea\tcon\ttabs & <html> \u2028 🚀 \u00a0 \U0001F600"
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: front-end
        image: weaveworksdemos/front-end:0.3.12
        args: ["--port=8079", "-v"]
        resources: {limits: {cpu: 300m, memory: 1000Mi}, requests: {cpu: 0.5}}
        ports: [{containerPort: 8079}]
`, true},
	{"ints", `{apiVersion: v1, kind: ConfigMap, metadata: {name: ints},
  ints: [0, -0, 7, -12, 0x1F, 0o17, 017, +5, 1_000, 9223372036854775807, -9223372036854775808]}`, true},
	{"uint64", `{apiVersion: v1, kind: ConfigMap, metadata: {name: big}, big: 18446744073709551615}`, false},
	{"beyond uint64", `{apiVersion: v1, kind: ConfigMap, metadata: {name: big}, big: 18446744073709551616}`, true},
	{"floats", `{apiVersion: v1, kind: ConfigMap, metadata: {name: floats},
  floats: [1.0, -1.5, .5, 1e3, 1E-7, 6.02e+23, 1e21, 1e20, 123456789012345678901234567890.0, -0.0, 0.000001, 0.0000001]}`, true},
	{"float as uint64", `{apiVersion: v1, kind: ConfigMap, metadata: {name: f}, f: 1e19}`, true},
	{"infinity", `{apiVersion: v1, kind: ConfigMap, metadata: {name: inf}, x: .inf}`, false},
	{"not a number", `{apiVersion: v1, kind: ConfigMap, metadata: {name: nan}, x: .nan}`, false},
	{"scalars", `apiVersion: v1
kind: ConfigMap
metadata: {name: scalars}
data:
  yes: yes
  no: "no"
  on: on
  y: y
  tilde: ~
  nothing: null
  empty: ""
  date: 2001-12-14
  time: 2001-12-14t21:59:43.10-05:00
  quotedint: "42"
  quotedfloat: '1.5'
  bool: true
  capital: True
  colon: "a: b"
  hash: "a #b"
  lead: " leading"
  trail: "trailing "
  multi: |
    line one
    line two
  folded: >
    folded
    text
  strip: |-
    kept
  tab: "\t"
  nul: "\0"
  bell: "\a"
  backslash: 'C:\path'
  "key with spaces": v
  "": emptykey
`, true},
	{"strings", `apiVersion: v1
kind: ConfigMap
metadata: {name: strings, namespace: flux-system}
data:
  path: ./apps/app-007/overlays/prod
  up: ../base
  interval: 10m
  units: ["10m0s", "1h30m", "5s", "100m", "512Mi", "2Gi", "9z", "3x", "12ab", "1e3", "0o17", "0x1F", "0b1", "1p2", "7E", "2001-12-14", "1_000", "1.5Gi"]
  dotted: ["./", "../", "./x", "../x", ".x", "...", ".../x", ".5", ".inf", "./a:b"]
  version: 1.2.3
  semver: ">=1.0.0 <2.0.0"
  sha: "0123456789abcdef"
  image: ghcr.io/org/app:v1.2.3@sha256:0123456789abcdef
  url: https://example.com/a?b=c#d
  colon: "a:"
  colons: a:b:c
  dash: -x
  lone: "-"
  hash: "#a"
  mid: a#b
  point: ".5"
  dots: ..
  base60: "1:20"
  binary: "0b101"
  underscored: "1_000"
  hex: "0x1F"
  date: "2001-12-14"
  tilde: "~"
  merge: "<<"
  words: [y, Y, "n", "yes", "On", "NULL", "yEs", "nULL"]
  quote: it's
  double: say "hi"
  backslash: a\b
  long: "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
  nearfold:
    deeper:
      deepest: "one two three four five six seven eight nine ten eleven twelve"
  nospaces: onetwothreefourfivesixseveneightnineteneleventwelvethirteenfourteenfifteensixteenseventeen
  "y": key
  "n": key
  a128aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: simple
`, true},
	{"long strings", `apiVersion: v1
kind: ConfigMap
metadata: {name: long}
data:
  java: -Xms64m -Xmx128m -XX:+UseG1GC -Djava.security.egd=file:/dev/urandom -Dspring.zipkin.enabled=false
  quoted: "key: value, then more words that run on and on past the eightieth column of the line"
  spaced: "two  spaces  between  words  that  run  on  and  on  past  the  eightieth  column  here"
  quote: "it's a long string with a quote in it that runs on past the eightieth column, it's long"
  trailing: "a string whose last word is long: supercalifragilisticexpialidocious-and-then-some-more-letters "
  edge: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c"
  edge2: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c"
  args:
  - --one --two --three --four --five --six --seven --eight --nine --ten --eleven --twelve
  - - nested and long enough to be folded at the eightieth column of the line it is on, twice over and then some
  deep:
    deeper:
      deepest: words that go on and on until they pass the eightieth column and fold there, twice or more, as YAML v2 does it
  lines: |
    first line
      indented line

    after an empty line
    a line long enough to pass the eightieth column without being folded, as block scalars never are
  stripped: |-
    no line break at the end
  list:
  - |
    in a list
  - - |-
      nested
  - key: |
      in a mapping in a list
`, true},
	{"strings YAML v2 prints", `apiVersion: v1
kind: ConfigMap
metadata: {name: fallback}
data:
  tabbed: "a long string with a	tab in it that runs on and on past the eightieth column of it"
  unicode: "a long string with ünïcödé in it that runs on and on past the eightieth column of it"
  kept: |+
    two line breaks at the end

  lead: " a\nb"
  trail: "a \nb"
  tab: "a\tb\nc"
  spacedline: "a\n b"
  ünicode: key
  ? aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
  : a key too long to be simple
`, true},
	{"key of two lines", "{apiVersion: v1, kind: ConfigMap, metadata: {name: key}, data: {\"two\\nlines\": v}}", true},
	{"NEL", `{apiVersion: v1, kind: ConfigMap, metadata: {name: nel}, data: {a: "x\u0085y"}}`, false},
	{"DEL", `{apiVersion: v1, kind: ConfigMap, metadata: {name: del}, data: {a: "\x7f"}}`, false},
	{"C1 control", `{apiVersion: v1, kind: ConfigMap, metadata: {name: c1}, data: {a: "\x9b"}}`, false},
	{"C1 control in a key", `{apiVersion: v1, kind: ConfigMap, metadata: {name: c1}, data: {"\x9b": a}}`, false},
	{"byte order mark", `{apiVersion: v1, kind: ConfigMap, metadata: {name: bom}, data: {a: "\ufeff"}}`, false},
	{"U+FFFE", `{apiVersion: v1, kind: ConfigMap, metadata: {name: fffe}, data: {a: "\ufffe"}}`, false},
	{"not UTF-8", "{apiVersion: v1, kind: Secret, metadata: {name: bin}, data: {a: !!binary /w==}}", false},
	{"tags", `apiVersion: v1
kind: Secret
metadata: {name: tags}
data:
  str: !!str 123
  int: !!int "42"
  float: !!float 3
  binary: !!binary aGVsbG8=
  custom: !Ref thing
`, true},
	{"anchors", `apiVersion: v1
kind: ConfigMap
metadata: {name: anchors}
base: &base {a: 1, b: [x, y]}
copy: *base
merged:
  <<: *base
  c: 3
`, true},
	{"int key", `{apiVersion: v1, kind: ConfigMap, metadata: {name: keys}, data: {1: one}}`, false},
	{"bool key", `{apiVersion: v1, kind: ConfigMap, metadata: {name: keys}, data: {true: yes}}`, false},
	{"null key", `{apiVersion: v1, kind: ConfigMap, metadata: {name: keys}, data: {null: x}}`, false},
	{"sequence key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata:\n  ? [a, b]\n  : list\n", false},
	{"nested", `apiVersion: v1
kind: ConfigMap
metadata: {name: nested}
items:
- [[], {}, [{}], {a: []}, null]
- {z: 1, a: 2, A: 3, a10: 4, a9: 5, "10": 6, "9": 7, "-1": 8}
`, true},
}

// TestPrintYAMLAsKustomize checks that printYAML prints every object, and
// fails on every object, exactly as kustomize's Resource.AsYAML does.
func TestPrintYAMLAsKustomize(t *testing.T) {
	for _, tt := range printCases {
		t.Run(tt.name, func(t *testing.T) {
			if comparePrint(t, []byte(tt.data)) != 1 {
				t.Fatal("kustomize does not read one object from it")
			}
			res, err := provider.NewDefaultDepProvider().GetResourceFactory().SliceFromBytes([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if _, fast := jsonValues(&res[0].RNode); fast != tt.fast {
				t.Errorf("printed by printYAML itself: %v, want %v", fast, tt.fast)
			}
		})
	}
	// Every object of the bundled example, as written.
	for _, f := range exampleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { comparePrint(t, data) })
	}
}

// FuzzPrintYAML holds printYAML to kustomize's printing on any input.
func FuzzPrintYAML(f *testing.F) {
	for _, tt := range printCases {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Aliases of aliases grow exponentially when kustomize expands
		// them: kustomize's own limit to find, not printYAML's.
		if len(data) > 1<<12 || bytes.Count(data, []byte("*")) > 8 {
			return
		}
		comparePrint(t, data)
	})
}

// comparePrint reads data as kustomize reads a resource file, compares
// printYAML with Resource.AsYAML on each object and returns how many there
// were.
func comparePrint(t *testing.T, data []byte) int {
	t.Helper()
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	resources, err := rf.SliceFromBytes(data)
	if err != nil {
		return 0 // kustomize would not read it: nothing to print
	}
	for _, res := range resources {
		want, wantErr := res.AsYAML()
		got, gotErr := printYAML(res)
		if (wantErr != nil) != (gotErr != nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("%s: error %v, kustomize's %v", res.GetName(), gotErr, wantErr)
		}
		if !bytes.Equal(got, want) && !reordered(res, got, want) {
			t.Fatalf("%s: printed\n%s\nkustomize prints\n%s", res.GetName(), got, want)
		}
	}
	return len(resources)
}

// reordered tells whether two printings of res differ only in the order
// of keys YAML v2 cannot order. It sorts keys with a comparison that is
// not a total order on some keys of many digits (1A0001009118007110020110A0,
// 117A221), so a map holding them is printed in an order that depends on
// how Go happens to iterate it, by kustomize as by printYAML.
func reordered(res *resource.Resource, a, b []byte) bool {
	var va, vb any
	if yamlv2.Unmarshal(a, &va) != nil || yamlv2.Unmarshal(b, &vb) != nil || !reflect.DeepEqual(va, vb) {
		return false
	}
	v, ok := jsonValues(&res.RNode)
	return ok && unordered(v)
}

// unordered tells whether a map in v prints differently when its keys are
// inserted in another order.
func unordered(v any) bool {
	switch v := v.(type) {
	case []any:
		return slices.ContainsFunc(v, unordered)
	case map[any]any:
		keys := slices.Collect(maps.Keys(v))
		first, _ := yamlv2.Marshal(v)
		for range 50 {
			rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			m := make(map[any]any, len(keys))
			for _, k := range keys {
				m[k] = v[k]
			}
			if again, _ := yamlv2.Marshal(m); !bytes.Equal(again, first) {
				return true
			}
		}
		for _, e := range v {
			if unordered(e) {
				return true
			}
		}
	}
	return false
}

// TestPrintBlockAsYAMLv2 holds the block printer to YAML v2's Marshal on
// the values of every case it prints, and checks that it prints most
// objects of the bundled example itself, not through YAML v2.
func TestPrintBlockAsYAMLv2(t *testing.T) {
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	compare := func(t *testing.T, data []byte) (objects, printed int) {
		t.Helper()
		resources, err := rf.SliceFromBytes(data)
		if err != nil {
			return 0, 0 // a kustomization, a values file: no objects
		}
		for _, res := range resources {
			v, ok := jsonValues(&res.RNode)
			if !ok {
				continue
			}
			objects++
			got, ok := printBlock(v)
			if !ok {
				continue
			}
			printed++
			if want, _ := yamlv2.Marshal(v); !bytes.Equal(got, want) && !unordered(v) {
				t.Errorf("%s: printed\n%s\nYAML v2 prints\n%s", res.GetName(), got, want)
			}
		}
		return objects, printed
	}
	for _, tt := range printCases {
		if tt.fast {
			t.Run(tt.name, func(t *testing.T) {
				_, printed := compare(t, []byte(tt.data))
				block := map[string]bool{"deployment": true, "ints": true, "strings": true, "long strings": true, "nested": true}
				if block[tt.name] && printed != 1 {
					t.Error("left to YAML v2")
				}
			})
		}
	}
	var objects, printed int
	for _, f := range exampleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, p := compare(t, data)
		objects, printed = objects+o, printed+p
	}
	t.Logf("the block printer printed %d of the example's %d objects", printed, objects)
	if printed*10 < objects*9 {
		t.Errorf("the block printer printed %d of the example's %d objects, want 90%%", printed, objects)
	}
}

// exampleFiles returns the YAML files of the bundled examples.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "..", "testdata", "examples"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Ext(p) == ".yaml" || filepath.Ext(p) == ".yml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d YAML files in the bundled examples", len(files))
	}
	return files
}
