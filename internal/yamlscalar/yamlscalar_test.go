package yamlscalar

import (
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Encode writes a value every YAML reader takes back as the same string,
// in the style of the scalar it replaces when it can.
func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		v     string
		style Style
		flow  bool
		want  string
	}{
		{name: "plain tag", v: "v1.2.3", want: "v1.2.3"},
		{name: "a float in YAML 1.2", v: "1.10", want: `"1.10"`},
		{name: "an integer", v: "10", want: `"10"`},
		{name: "a boolean in YAML 1.1 only", v: "yes", want: `"yes"`},
		{name: "null", v: "~", want: `"~"`},
		{name: "empty", v: "", want: `""`},
		{name: "an indicator first", v: "-debug", want: `"-debug"`},
		{name: "a digest", v: "sha256:abc", want: "sha256:abc"},
		{name: "a reference with a port", v: "localhost:5000/app:v1", want: "localhost:5000/app:v1"},
		{name: "a comma in a flow collection", v: "a,b", flow: true, want: `"a,b"`},
		{name: "single quotes kept", v: "it's", style: SingleQuoted, want: "'it''s'"},
		{name: "a letter past ASCII", v: "café", want: "café"},
		{name: "YAML 1.1 octal", v: "0755", want: `"0755"`},
		{name: "a comment inside", v: "a #b", want: `"a #b"`},
		{name: "a block style becomes double-quoted", v: "v2", style: Literal, want: `"v2"`},
		{name: "double quotes kept", v: `a"b\c`, style: DoubleQuoted, want: `"a\"b\\c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Encode(tt.v, tt.style, tt.flow)
			if got != tt.want {
				t.Fatalf("encode(%q) = %s, want %s", tt.v, got, tt.want)
			}
			var n yaml.Node
			text := "a: " + got
			if tt.flow {
				text = "a: [" + got + "]"
			}
			if err := yaml.Unmarshal([]byte(text), &n); err != nil {
				t.Fatal(err)
			}
			s := n.Content[0].Content[1]
			if tt.flow {
				s = s.Content[0]
			}
			if s.Value != tt.v || s.Tag != "!!str" {
				t.Errorf("%s reads back as %s %q", text, s.Tag, s.Value)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for v, want := range map[string]string{
		"v1.2.3":    "",
		"two words": "",
		"a\tb":      `"a\tb" holds a control character`,
		"a\u00a0b":  `"a\u00a0b" holds a control character`,
		"\xff":      `"\xff" is not valid UTF-8`,
	} {
		if got := Check(v); got != want {
			t.Errorf("Check(%q) = %q, want %q", v, got, want)
		}
	}
}

// Span finds the text of each kind of scalar, in block and flow
// collections, past anchors, tags and the comments after them; a plain
// scalar's lines fold into its value or it is not delimited.
func TestSpan(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // the scalar's text; "" with end -1 when not delimited
	}{
		{name: "plain", doc: "a: v1 # note\n", want: "v1"},
		{name: "plain with a colon", doc: "a: localhost:5000/app:v1\n", want: "localhost:5000/app:v1"},
		{name: "double quoted", doc: "a: \"v\\\"1\" # c\n", want: `"v\"1"`},
		{name: "single quoted", doc: "a: 'it''s'\n", want: "'it''s'"},
		{name: "anchored and tagged", doc: "a: &x !!str v1\n", want: "v1"},
		{name: "tag then a comment", doc: "a: !!str # c\n  v1\n", want: "v1"},
		{name: "in a flow mapping", doc: "a: {b: v1, c: v2}\n", want: "v1"},
		{name: "folded plain", doc: "a: one\n  two\nb: c\n", want: "one\n  two"},
		{name: "literal", doc: "a: |\n  v1\n  v2\nb: c\n", want: "|\n  v1\n  v2"},
		{name: "CRLF", doc: "a: v1\r\nb: c\r\n", want: "v1"},
		{name: "NEL ends the line", doc: "a: v1\u0085b: c\n", want: "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			m := doc.Content[0]
			n := m.Content[1]
			flow := false
			if n.Kind == yaml.MappingNode {
				flow, n = true, n.Content[1]
			}
			start, end := Span(tt.doc, offset(tt.doc, n.Line, n.Column), n, m.Column-1, flow)
			if end < 0 {
				t.Fatalf("not delimited, want %q", tt.want)
			}
			if got := tt.doc[start:end]; got != tt.want {
				t.Errorf("span %q, want %q", got, tt.want)
			}
		})
	}
}

// offset turns yaml.v3's line and column into a byte offset of doc.
func offset(doc string, line, col int) int {
	o := 0
	for l := 1; l < line; l++ {
		o = LineEnd(doc, o)
		o += BreakLen(doc, o)
	}
	for c := 1; c < col; c++ {
		_, w := utf8.DecodeRuneInString(doc[o:])
		o += w
	}
	return o
}
