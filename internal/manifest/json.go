package manifest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FromJSON builds the YAML node of a JSON document, keys in their order,
// without going through the YAML parser (which reads JSON a character at a
// time and is many times slower on it) nor encoding/json's token reader
// (an allocation per token): a validate reads every Flux object of a
// repository this way. It accepts what json.Valid accepts, and a string
// with an escape or a byte outside UTF-8 is decoded by encoding/json;
// FuzzFromJSON holds it to encoding/json's tokens.
func FromJSON(data []byte) (*yaml.Node, error) {
	p := jsonParser{data: data}
	n, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("JSON document: %w", err)
	}
	if p.space(); p.i < len(p.data) {
		return nil, fmt.Errorf("JSON document: trailing data after the value at offset %d", p.i)
	}
	return n, nil
}

// maxJSONDepth is encoding/json's bound on nesting.
const maxJSONDepth = 10000

type jsonParser struct {
	data []byte
	i    int
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) fail(what string) error {
	if p.i >= len(p.data) {
		return fmt.Errorf("unexpected end of input, %s", what)
	}
	return fmt.Errorf("invalid character %q at offset %d, %s", p.data[p.i], p.i, what)
}

func (p *jsonParser) value(depth int) (*yaml.Node, error) {
	p.space()
	if p.i >= len(p.data) {
		return nil, p.fail("looking for a value")
	}
	switch c := p.data[p.i]; {
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return nil, fmt.Errorf("exceeded max depth at offset %d", p.i)
		}
		return p.composite(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, lit := range [...]struct{ text, tag string }{{"true", "!!bool"}, {"false", "!!bool"}, {"null", "!!null"}} {
		if len(p.data)-p.i >= len(lit.text) && string(p.data[p.i:p.i+len(lit.text)]) == lit.text {
			p.i += len(lit.text)
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: lit.tag, Value: lit.text}, nil
		}
	}
	return nil, p.fail("looking for a value")
}

// composite reads an object or an array, p.i at its opening delimiter.
func (p *jsonParser) composite(depth int) (*yaml.Node, error) {
	object := p.data[p.i] == '{'
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	end := byte(']')
	if object {
		n.Kind, n.Tag, end = yaml.MappingNode, "!!map", '}'
	}
	p.i++
	if p.space(); p.i < len(p.data) && p.data[p.i] == end {
		p.i++
		return n, nil
	}
	for {
		if object {
			if p.space(); p.i >= len(p.data) || p.data[p.i] != '"' {
				return nil, p.fail("looking for an object key")
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			if p.space(); p.i >= len(p.data) || p.data[p.i] != ':' {
				return nil, p.fail("after an object key")
			}
			p.i++
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key})
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
		p.space()
		if p.i < len(p.data) {
			switch p.data[p.i] {
			case ',':
				p.i++
				continue
			case end:
				p.i++
				return n, nil
			}
		}
		return nil, p.fail("after a value")
	}
}

// str reads a string, p.i at its opening quote. One without escapes and
// in UTF-8 is the bytes between the quotes; encoding/json decodes the rest.
func (p *jsonParser) str() (string, error) {
	start := p.i
	plain := true
	for p.i++; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			raw := p.data[start:p.i]
			if plain && utf8.Valid(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("string at offset %d: %w", start, err)
			}
			return s, nil
		case c == '\\':
			plain = false
			p.i++ // the escaped character, which cannot end the string
		case c < 0x20:
			return "", p.fail("in a string")
		}
	}
	return "", p.fail("in a string")
}

// number reads a number as JSON's grammar writes it, keeping its text.
func (p *jsonParser) number() (*yaml.Node, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.data[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.fail("in a number")
	}
	tag := "!!int"
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("after a decimal point")
		}
		tag = "!!float"
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("in an exponent")
		}
		tag = "!!float"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(p.data[start:p.i])}, nil
}
