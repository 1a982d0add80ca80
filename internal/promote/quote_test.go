package promote

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		v     string
		style yaml.Style
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
		{name: "single quotes kept", v: "it's", style: yaml.SingleQuotedStyle, want: "'it''s'"},
		{name: "double quotes kept", v: `a"b\c`, style: yaml.DoubleQuotedStyle, want: `"a\"b\\c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encode(tt.v, tt.style, tt.flow)
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
