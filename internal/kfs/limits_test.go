package kfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// aliasBomb is nine levels of anchors, each a list of ten aliases to the
// one before: a few hundred bytes that expand to a billion nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n")
	b.WriteString(`    a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]` + "\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "    a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	return b.String()
}

func configMap(name string, keys int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n", name)
	for i := 0; i < keys; i++ {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	return b.String()
}

func documents(n int) string {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = configMap(fmt.Sprint("cm", i), 1)
	}
	return strings.Join(docs, "---\n")
}

func TestCheckFile(t *testing.T) {
	small := Limits{FileBytes: 4096, Documents: 3, MapEntries: 4, AliasNodes: 100}.WithDefaults()
	tests := []struct {
		name   string
		limits Limits
		data   string
		// line is where the finding points, 0 for none expected.
		wantErr string
		line    int
		docs    int
	}{
		{name: "a plain object", limits: small, data: configMap("a", 3), docs: 1},
		{name: "mapping at the limit", limits: small, data: configMap("a", 4), docs: 1},
		{name: "mapping over the limit", limits: small, data: configMap("a", 5), wantErr: "mapping of 5 entries", line: 6},
		{name: "flow mapping over the limit", limits: small, data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: 1, b: 2, c: 3, d: 4, e: 5}\n", wantErr: "mapping of 5 entries", line: 4},
		{name: "JSON on one line over the limit", limits: small, data: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"a":"1","b":"2","c":"3","d":"4","e":"5"}}`, wantErr: "mapping of 5 entries", line: 1},
		{name: "a block scalar of many lines is not a mapping", limits: small, data: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  script: |\n    a\n    b\n    c\n    d\n    e\n    f\n", docs: 1},
		{name: "documents at the limit", limits: small, data: documents(3), docs: 3},
		{name: "documents over the limit", limits: small, data: documents(4), wantErr: "more than 3 YAML documents", line: 21},
		{name: "a leading marker and comments", limits: small, data: "# head\n---\n" + configMap("a", 1) + "---\n# only a comment\n", docs: 1},
		{name: "file over the size limit", limits: small, data: strings.Repeat("# padding\n", 500), wantErr: "per file"},
		{name: "anchors within bounds", limits: small, data: "a: &x [1, 2]\nb: *x\nc: *x\n", docs: 1},
		{name: "alias bomb", limits: Limits{}.WithDefaults(), data: aliasBomb(), wantErr: "aliases expand to more than 1000000 nodes", line: 11},
		{name: "alias bomb under a small limit", limits: Limits{AliasNodes: 100}.WithDefaults(), data: aliasBomb(), wantErr: "aliases expand to more than 100 nodes", line: 7},
		{name: "& and * that are not anchors", limits: small, data: "url: http://x/?a=1&b=2\nverbs: ['*']\n", docs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape, err := tt.limits.CheckFile("app/f.yaml", []byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if shape.Documents != tt.docs {
					t.Errorf("documents = %d, want %d", shape.Documents, tt.docs)
				}
				return
			}
			d, ok := diag.As(err)
			if !ok || !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v, want a limit's *diag.Error", err)
			}
			if d.File != "app/f.yaml" || d.Line != tt.line || !strings.Contains(d.Msg, tt.wantErr) || !strings.Contains(d.Msg, "--max-") {
				t.Errorf("got %s:%d: %s; want app/f.yaml:%d: ...%s... naming the flag", d.File, d.Line, d.Msg, tt.line, tt.wantErr)
			}
		})
	}
}

func TestRootBudget(t *testing.T) {
	l := Limits{Documents: 5, RootBytes: 100}.WithDefaults()
	var b rootBudget
	shape := func(docs ...int) Shape { return Shape{Documents: len(docs), DocLines: docs} }
	if err := b.add(l, "a.yaml", 10, shape(1, 5, 9)); err != nil {
		t.Fatal(err)
	}
	if err := b.add(l, "a.yaml", 10, shape(1, 5, 9)); err != nil {
		t.Fatalf("a file read twice counted twice: %v", err)
	}
	if err := b.add(l, "kustomization.yaml", 10, shape(1)); err != nil {
		t.Fatalf("a kustomization file counted as resources: %v", err)
	}
	err := b.add(l, "b.yaml", 10, shape(1, 7, 13))
	if d, ok := diag.As(err); !ok || d.File != "b.yaml" || d.Line != 13 {
		t.Fatalf("sixth document: %v, want b.yaml:13", err)
	}
	var big rootBudget
	if err := big.add(l, "a.yaml", 60, shape(1)); err != nil {
		t.Fatal(err)
	}
	if err := big.add(l, "b.yaml", 60, shape(1)); err == nil || !strings.Contains(err.Error(), "--max-root-size") {
		t.Fatalf("120 bytes under a 100-byte limit: %v", err)
	}
}

// FuzzScanShape holds the line scan to what a YAML parser finds: whenever
// a document holds a mapping wider than the limit, the scan must say it may
// (it can say so wrongly, never miss one), and it never counts fewer
// documents than the parser reads (empty ones aside, which kustomize drops).
func FuzzScanShape(f *testing.F) {
	for _, s := range []string{configMap("a", 5), documents(3), "a: {b: 1, c: 2, d: 3, e: 4}\n", "- a: 1\n  b: 2\n  c: 3\n  d: 4\n", "a:\n  b: |\n    x\n  c: 1\n  d: 2\n  e: 3\n  f: 4\n", "--- {a: 1}\n--- [1]\n"} {
		f.Add(s)
	}
	const maxEntries = 3
	f.Fuzz(func(t *testing.T, data string) {
		widest, docs := 0, 0
		dec := yaml.NewDecoder(bytes.NewReader([]byte(data)))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return // kustomize refuses it
			}
			if len(n.Content) > 0 && n.Content[0].ShortTag() != "!!null" {
				docs++ // an empty document is no resource
			}
			widest = max(widest, widestMapping(&n))
		}
		s := scanShape([]byte(data), maxEntries)
		if widest > maxEntries && !s.mayExceed {
			t.Errorf("a mapping of %d entries passed the scan:\n%s", widest, data)
		}
		if s.documents < docs {
			t.Errorf("scan counted %d documents, the parser %d:\n%s", s.documents, docs, data)
		}
	})
}

func widestMapping(n *yaml.Node) int {
	w := 0
	if n.Kind == yaml.MappingNode {
		w = len(n.Content) / 2
	}
	for _, c := range n.Content {
		w = max(w, widestMapping(c))
	}
	return w
}
