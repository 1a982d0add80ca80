package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestSplit(t *testing.T) {
	data := "# header\n---\na: 1\n---   # second\nb: 2\n---\n# only a comment\n---\n\nc: 3\n--- \n"
	var got []string
	for _, d := range Split([]byte(data)) {
		got = append(got, strings.TrimSpace(string(d.Text))+"@"+string(rune('0'+d.Line)))
	}
	want := []string{"a: 1@3", "b: 2@5", "c: 3@9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Split (-want +got):\n%s", diff)
	}
	// "..." ends a document: none at all in an empty one, and a document
	// may follow it without "---", as YAML parsers read them.
	for data, want := range map[string][]string{
		"---\n...\n":                nil,
		"a: 1\n... # end\nb: 2\n":   {"a: 1@1", "b: 2@3"},
		"a: 1\n...\n---\nb: 2\n...": {"a: 1@1", "b: 2@4"},
		"a: |\n  ...\n  x\n":        {"a: |\n  ...\n  x@1"},
		"a: 1\n....\n":              {"a: 1\n....@1"},
		// A directive belongs to the document the next "---" starts
		// (kid/home-ops' .sops.yaml starts with %YAML 1.1).
		"%YAML 1.1\n---\na: 1\n":                 {"%YAML 1.1\n---\na: 1@1"},
		"a: 1\n---\n# c\n%YAML 1.1\n---\nb: 2\n": {"a: 1@1", "# c\n%YAML 1.1\n---\nb: 2@3"},
	} {
		var got []string
		for _, d := range Split([]byte(data)) {
			got = append(got, strings.TrimSpace(string(d.Text))+"@"+string(rune('0'+d.Line)))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", data, diff)
		}
	}
}

func TestDecodeKeepsFileLines(t *testing.T) {
	data := []byte("apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n")
	docs := Split(data)
	o, err := Decode("f.yaml", docs[1])
	if err != nil {
		t.Fatal(err)
	}
	if o.Line != 6 || o.Kind != "Deployment" || o.ID() != "shop/web" || o.Group() != "apps" || o.Version() != "v1" {
		t.Errorf("object = %+v", o)
	}
	if n := Path(o.Node(), "spec", "replicas"); n == nil || n.Line != 12 {
		t.Errorf("spec.replicas line = %v, want 12", n)
	}
}

func TestSyntaxErrorLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		line int
		msg  string
	}{
		{name: "unclosed flow sequence", doc: "a: 1\nb: [x\n", line: 2, msg: "did not find expected ',' or ']'"},
		{name: "bad indentation", doc: "a: 1\nb:\n  - x\n bad\n", line: 4, msg: "did not find expected key"},
		{name: "tab", doc: "a: 1\n\tb: 2\n", line: 2, msg: "found a tab character that violates indentation"},
		{name: "mapping in a scalar", doc: "a: 1\nb: x\n  c: d\n", line: 3, msg: "mapping values are not allowed in this context"},
		{name: "unterminated quote", doc: "a: 1\nb: 'x\n", line: 2, msg: "found unexpected end of stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tc.doc), &n)
			if err == nil {
				t.Fatal("no error")
			}
			d := SyntaxError("f.yaml", 10, err)
			if d.Line != 10+tc.line-1 || d.Msg != "malformed YAML: "+tc.msg {
				t.Errorf("got %s, want line %d and %q", d, 10+tc.line-1, tc.msg)
			}
		})
	}
}

func TestUnknownFields(t *testing.T) {
	type inner struct {
		NewTag string `json:"newTag"`
	}
	type embedded struct {
		Kind string `json:"kind"`
	}
	type outer struct {
		embedded `json:",inline"`
		Images   []inner           `json:"images"`
		Labels   map[string]string `json:"labels"`
		Any      any               `json:"any"`
	}
	var n yaml.Node
	src := "kind: x\nimages:\n- newTagg: v1\nlabels:\n  free: form\nany:\n  whatever: 1\nimagse: []\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range UnknownFields("k.yaml", n.Content[0], reflect.TypeFor[outer]()) {
		got = append(got, e.Error())
	}
	want := []string{
		`k.yaml:3:3: unknown field "newTagg" (did you mean "newTag"?)`,
		`k.yaml:8:1: unknown field "imagse" (did you mean "images"?)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzSplitDecode: any input splits into documents that are pieces of the
// input starting at the lines given, and decoding never panics.
func FuzzSplitDecode(f *testing.F) {
	f.Add([]byte("a: 1\n---\nb: [\n"))
	f.Add([]byte("---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("\xff\xfe---"))
	f.Add([]byte("---\n...\na: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Split(data, []byte("\n"))
		for _, d := range Split(data) {
			if d.Line < 1 || d.Line > len(lines) {
				t.Fatalf("document line %d out of range", d.Line)
			}
			if !bytes.Contains(data, d.Text) {
				t.Fatal("document text is not part of the input")
			}
			if o, err := Decode("f.yaml", d); err == nil && o.Line < d.Line {
				t.Fatalf("object line %d before its document's %d", o.Line, d.Line)
			}
		}
	})
}

// FromJSON gives the node the YAML parser gives for the same JSON, so that
// a value read either way marshals alike.
func TestFromJSON(t *testing.T) {
	tests := []string{
		`{}`,
		`[]`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"1"}},"data":{"k":"yes","n":"null","e":""}}`,
		`{"spec":{"replicas":3,"ratio":0.5,"big":1e3,"on":true,"off":false,"none":null,"list":[1,"two",{"three":[]}]}}`,
		`{"z":1,"a":2,"m":{"b":[],"a":{}}}`,
		`"just a string"`,
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			got, err := FromJSON([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			var want yaml.Node
			if err := yaml.Unmarshal([]byte(in), &want); err != nil {
				t.Fatal(err)
			}
			g, err := yaml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			// The parser keeps JSON's flow style; compare in block style.
			clearStyle(want.Content[0])
			w, err := yaml.Marshal(want.Content[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(g) != string(w) {
				t.Errorf("FromJSON marshals as\n%s\nthe YAML parser's node as\n%s", g, w)
			}
		})
	}
}

func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

// FuzzFromJSON holds FromJSON to encoding/json: it accepts what
// json.Valid accepts, and builds the node encoding/json's tokens build.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":null}],"c":"d"}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"s":"tab\there \u00e9\ud83d\ude00 \/","n":-0.5e+3,"k":[true,false,null,{}]}`))
	f.Add([]byte("\"\xff\xfe\""))
	f.Add([]byte(` [ 1 , "x" ] `))
	f.Add([]byte(`01`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := FromJSON(data)
		if err != nil {
			if json.Valid(data) {
				t.Fatalf("valid JSON refused: %v", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON accepted: %q", data)
		}
		want, err := fromJSONTokens(data)
		if err != nil {
			t.Fatalf("encoding/json's tokens refuse what FromJSON read: %v", err)
		}
		if !reflect.DeepEqual(n, want) {
			g, _ := yaml.Marshal(n)
			w, _ := yaml.Marshal(want)
			t.Fatalf("FromJSON(%q) gives\n%s\nencoding/json's tokens\n%s", data, g, w)
		}
	})
}

// fromJSONTokens builds the node of a JSON document from encoding/json's
// tokens: what FromJSON must give.
func fromJSONTokens(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var node func() (*yaml.Node, error)
	node = func() (*yaml.Node, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			if t == '{' {
				n.Kind, n.Tag = yaml.MappingNode, "!!map"
			}
			for dec.More() {
				if n.Kind == yaml.MappingNode {
					key, err := dec.Token()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key.(string)})
				}
				v, err := node()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case string:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
		case json.Number:
			tag := "!!int"
			if strings.ContainsAny(string(t), ".eE") {
				tag = "!!float"
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
		case bool:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
		default:
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
		}
	}
	n, err := node()
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the value")
	}
	return n, nil
}

// BenchmarkFromJSON reads a Flux Kustomization as the validate's index of
// Flux objects does, beside encoding/json's tokens.
func BenchmarkFromJSON(b *testing.B) {
	data := []byte(`{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"app-007-prod","namespace":"flux-system","labels":{"kustomize.toolkit.fluxcd.io/name":"apps","kustomize.toolkit.fluxcd.io/namespace":"flux-system"}},"spec":{"interval":"10m0s","path":"./apps/app-007/overlays/prod","prune":true,"sourceRef":{"kind":"GitRepository","name":"flux-system"},"targetNamespace":"sock-shop-007","timeout":"2m","wait":false}}`)
	b.Run("FromJSON", func(b *testing.B) {
		for b.Loop() {
			if _, err := FromJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tokens", func(b *testing.B) {
		for b.Loop() {
			if _, err := fromJSONTokens(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPathThroughSequences: Path follows sequence indices as numbers, and
// finds nothing for an index out of range or a key on a sequence.
func TestPathThroughSequences(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("spec:\n  resources:\n  - name: a\n  - name: b\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"spec", "resources", "1", "name"}, "b"},
		{[]string{"spec", "resources", "0", "name"}, "a"},
		{[]string{"spec", "resources", "2", "name"}, ""},
		{[]string{"spec", "resources", "-1"}, ""},
		{[]string{"spec", "resources", "name"}, ""},
		{[]string{"spec", "missing", "0"}, ""},
	} {
		got := ""
		if n := Path(root, tc.path...); n != nil {
			got = n.Value
		}
		if got != tc.want {
			t.Errorf("Path(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestAliases: a name given by an alias of an anchor set in the same
// object (damacus/home-ops' namespaces label themselves with their name)
// is the object's name, as YAML reads it and kustomize builds it.
func TestAliases(t *testing.T) {
	data := []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    name: &name backend-jobs\n  name: *name\n")
	o, err := Decode("ns.yaml", Split(data)[0])
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "backend-jobs" {
		t.Errorf("name %q, want backend-jobs", o.Name)
	}
	if msg := NotAnObject(o.Node()); msg != "" {
		t.Errorf("NotAnObject = %q, want none", msg)
	}
	var meta yaml.Node
	if err := yaml.Unmarshal([]byte("base: &meta\n  name: web\nmetadata: *meta\n"), &meta); err != nil {
		t.Fatal(err)
	}
	if got := Scalar(Lookup(meta.Content[0], "metadata"), "name"); got != "web" {
		t.Errorf("a mapping given by an alias: name %q, want web", got)
	}
}
