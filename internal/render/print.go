package render

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// printYAML returns what res.AsYAML returns: the object as `kustomize
// build` prints it. kustomize gets there through four texts: the object's
// nodes printed as YAML and read back into Go values, those printed as
// JSON, read back by YAML v2 (which picks int or float for each number)
// and printed. printYAML takes the Go values of the first step and turns
// them into those YAML v2 reads back from the JSON, without the JSON text
// and its parsing: a cold render of 300 roots takes 9% less time.
//
// An object whose values the JSON would change in ways not repeated here
// (a key that is not a string, a number JSON cannot hold, text YAML v2
// refuses) is printed by kustomize's own path, errors included.
func printYAML(res *resource.Resource) ([]byte, error) {
	if v, ok := jsonValues(&res.RNode); ok {
		return marshalYAML(v)
	}
	return res.AsYAML()
}

// jsonValues returns the values kustomize's chain ends with for n, and
// whether it knows them.
func jsonValues(n *kyaml.RNode) (any, bool) {
	if y := n.YNode(); y == nil || y.Kind != kyaml.MappingNode {
		return nil, false
	}
	m := map[string]any{}
	if decodable(n.YNode(), false) {
		// The nodes read as their text would: without printing and
		// parsing it, two fifths of what printing an object allocated.
		if n.YNode().Decode(&m) != nil {
			return nil, false
		}
		return asJSONValue(m)
	}
	// As RNode.MarshalJSON does: the nodes' text, not the nodes, whose
	// values can differ (an empty null in a flow mapping prints as '').
	text, err := n.String()
	if err != nil {
		return nil, false
	}
	if kyaml.Unmarshal([]byte(text), &m) != nil {
		return nil, false
	}
	return asJSONValue(m)
}

// decodable tells whether the values decoded from nodes are those decoded
// from their text: no anchor, alias or merge key, only the core schema's
// tags, and no null written as nothing inside a flow collection, which
// prints as ”.
func decodable(n *kyaml.Node, flow bool) bool {
	if n.Anchor != "" {
		return false
	}
	switch n.Kind {
	case kyaml.AliasNode:
		return false
	case kyaml.ScalarNode:
		switch n.Tag {
		case "", "!!str", "!!int", "!!float", "!!bool":
			return true
		case "!!null":
			return !flow || n.Value != ""
		case "!!merge":
			return false
		}
		return false
	case kyaml.MappingNode, kyaml.SequenceNode, kyaml.DocumentNode:
		if n.Tag != "" && n.Tag != "!!map" && n.Tag != "!!seq" {
			return false
		}
		flow = flow || n.Style&kyaml.FlowStyle != 0
		for i, c := range n.Content {
			if n.Kind == kyaml.MappingNode && i%2 == 0 && !stringKey(c) {
				// A key of another type: an empty null key is dropped
				// by decoding, kept by the text.
				return false
			}
			if !decodable(c, flow) {
				return false
			}
		}
		return true
	}
	return false
}

// stringKey tells whether a mapping key k is a string, as decoding reads
// it: not a collection, nor a null, number or boolean.
func stringKey(k *kyaml.Node) bool {
	return k.Kind == kyaml.ScalarNode && k.ShortTag() == "!!str"
}

// asJSONValue returns the value YAML v2 reads from encoding/json's text of
// v, and whether it knows it: maps become map[any]any, numbers the int or
// float64 their JSON text reads as. It reuses v's slices.
func asJSONValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, bool, int:
		return v, true
	case string:
		return v, printable(v)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		text, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		var out any
		if yamlv2.Unmarshal(text, &out) != nil {
			return nil, false
		}
		return out, true
	case time.Time:
		// YAML reads an unquoted date as a time, JSON prints it in RFC
		// 3339: kustomize prints 2001-12-14 as "2001-12-14T00:00:00Z".
		text, err := json.Marshal(v)
		var s string
		if err != nil || json.Unmarshal(text, &s) != nil {
			return nil, false
		}
		return s, true
	case []any:
		for i, e := range v {
			c, ok := asJSONValue(e)
			if !ok {
				return nil, false
			}
			v[i] = c
		}
		return v, true
	case map[string]any:
		m := make(map[any]any, len(v))
		for k, e := range v {
			c, ok := asJSONValue(e)
			if !ok || !printable(k) {
				return nil, false
			}
			m[k] = c
		}
		return m, true
	}
	return nil, false
}

// printable tells whether s comes back unchanged from encoding/json's text
// read by YAML v2: valid UTF-8 (JSON replaces the rest), and none of the
// characters JSON leaves as they are and YAML refuses (DEL, the C1
// controls, U+FFFE, U+FFFF) or may read otherwise (NEL, a line break to
// YAML; the byte order mark). JSON escapes the C0 controls, which YAML
// reads back.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f {
			return printableRunes(s[i:])
		}
	}
	return true
}

func printableRunes(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false // invalid UTF-8, or U+FFFD itself: rare either way
		case r == 0x7f, r >= 0x80 && r < 0xa0, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return false
		}
	}
	return true
}

// marshalYAML prints v, a value jsonValues returns, exactly as YAML v2's
// Marshal does, about three times as fast: YAML v2 reads each value through
// reflection and writes each event through a general emitter. The block
// printer knows what YAML v2 prints for the shapes objects have, long
// and multi-line strings included; for anything else (a key not ASCII or
// too long to be a simple key, a string it would escape and fold, a
// block scalar with spaces at its edges, a number type JSON values do
// not hold) it leaves the whole value to YAML v2. TestPrintBlockAsYAMLv2
// and FuzzPrintYAML hold the two to the same text.
func marshalYAML(v any) ([]byte, error) {
	if out, ok := printBlock(v); ok {
		return out, nil
	}
	return yamlv2.Marshal(v)
}

// printBlock prints a non-empty mapping v as YAML v2 does, and tells
// whether it knows how.
func printBlock(v any) ([]byte, bool) {
	m, ok := v.(map[any]any)
	if !ok || len(m) == 0 {
		return nil, false
	}
	p := yamlPrinter{out: make([]byte, 0, 1024)}
	if !p.mapping(m, 0, false) {
		return nil, false
	}
	return p.out, true
}

// yamlPrinter writes YAML v2's block style: a mapping's keys in YAML v2's
// order (keyLess), a sequence inside a mapping at the mapping's
// indentation, an empty collection in flow style.
type yamlPrinter struct {
	out  []byte
	keys []string // reused across mappings
}

// mapping prints m at indent; inline continues the current line (after a
// sequence's "- ") with the first key.
func (p *yamlPrinter) mapping(m map[any]any, indent int, inline bool) bool {
	start := len(p.keys)
	for k := range m {
		s, ok := k.(string)
		if !ok || len(s) > maxSimpleKey || !ascii(s) {
			return false
		}
		p.keys = append(p.keys, s)
	}
	keys := p.keys[start:]
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case keyLess(a, b):
			return -1
		case keyLess(b, a):
			return 1
		}
		return 0
	})
	defer func() { p.keys = p.keys[:start] }()
	for i, k := range keys {
		if i > 0 || !inline {
			p.indent(indent)
		}
		before := len(p.out)
		if !p.key(k, indent) {
			return false
		}
		p.out = append(p.out, ':')
		col := indent + len(p.out) - before
		switch v := m[k].(type) {
		case map[any]any:
			if len(v) == 0 {
				p.out = append(p.out, " {}\n"...)
				continue
			}
			p.out = append(p.out, '\n')
			if !p.mapping(v, indent+2, false) {
				return false
			}
		case []any:
			if len(v) == 0 {
				p.out = append(p.out, " []\n"...)
				continue
			}
			p.out = append(p.out, '\n')
			if !p.sequence(v, indent, false) {
				return false
			}
		default:
			p.out = append(p.out, ' ')
			if !p.scalar(v, col+1, indent+2) {
				return false
			}
			p.out = append(p.out, '\n')
		}
	}
	return true
}

// sequence prints s at indent; inline continues the current line with
// the first item.
func (p *yamlPrinter) sequence(s []any, indent int, inline bool) bool {
	for i, e := range s {
		if i > 0 || !inline {
			p.indent(indent)
		}
		p.out = append(p.out, "- "...)
		switch v := e.(type) {
		case map[any]any:
			if len(v) == 0 {
				p.out = append(p.out, "{}\n"...)
				continue
			}
			if !p.mapping(v, indent+2, true) {
				return false
			}
		case []any:
			if len(v) == 0 {
				p.out = append(p.out, "[]\n"...)
				continue
			}
			if !p.sequence(v, indent+2, true) {
				return false
			}
		default:
			if !p.scalar(v, indent+2, indent+2) {
				return false
			}
			p.out = append(p.out, '\n')
		}
	}
	return true
}

func (p *yamlPrinter) indent(n int) {
	for range n {
		p.out = append(p.out, ' ')
	}
}

// scalar prints v, which starts at column col, leaving the line open;
// indent is where its further lines start (a block scalar's, a folded
// scalar's).
func (p *yamlPrinter) scalar(v any, col, indent int) bool {
	switch v := v.(type) {
	case nil:
		p.out = append(p.out, "null"...)
	case bool:
		p.out = strconv.AppendBool(p.out, v)
	case int:
		p.out = strconv.AppendInt(p.out, int64(v), 10)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
		p.out = strconv.AppendFloat(p.out, v, 'g', -1, 64)
	case string:
		if plainWord(v) {
			p.out = append(p.out, v...)
			return true
		}
		if strings.Contains(v, "\n") {
			return p.literal(v, indent)
		}
		text, ok := scalarText(v)
		if !ok {
			return false
		}
		if col+len(text) <= foldColumn {
			p.out = append(p.out, text...)
			return true
		}
		// Past the fold column: folded at spaces as YAML v2 folds it.
		switch {
		case text[0] == '"' || !ascii(v):
			return false
		case text[0] == '\'':
			p.out = append(p.out, '\'')
			p.fold(v, col+1, indent, true)
			p.out = append(p.out, '\'')
		default:
			p.fold(v, col, indent, false)
		}
	default:
		return false
	}
	return true
}

// key prints a mapping's key, which starts at column col. A key of
// several lines is never a block scalar: left to YAML v2.
func (p *yamlPrinter) key(s string, col int) bool {
	if plainWord(s) {
		p.out = append(p.out, s...)
		return true
	}
	if strings.Contains(s, "\n") {
		return false
	}
	text, ok := scalarText(s)
	if !ok || col+len(text) > foldColumn {
		return false
	}
	p.out = append(p.out, text...)
	return true
}

// scalarText returns s as YAML v2 prints it on its own, plain, quoted or
// double-quoted: inside an object it makes the same choice, and prints
// the same text unless the text is long enough to fold.
func scalarText(s string) ([]byte, bool) {
	text, err := yamlv2.Marshal(s)
	if err != nil || len(text) < 2 {
		return nil, false
	}
	return text[:len(text)-1], true // without the document's line break
}

// fold prints s, plain or between single quotes, from column col,
// breaking it as YAML v2 does: at a single space past the fold column,
// the next line starting at indent. In quotes, not at the first or last
// character, and a quote doubled.
func (p *yamlPrinter) fold(s string, col, indent int, quoted bool) {
	spaces := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			inner := !quoted || i != 0 && i != len(s)-1
			if !spaces && col > foldColumn && inner && (i+1 == len(s) || s[i+1] != ' ') {
				p.out = append(p.out, '\n')
				p.indent(indent)
				col = indent
			} else {
				p.out = append(p.out, ' ')
				col++
			}
			spaces = true
			continue
		}
		if quoted && c == '\'' {
			p.out = append(p.out, '\'')
			col++
		}
		p.out = append(p.out, c)
		col++
		spaces = false
	}
}

// literal prints a string of lines as YAML v2 does, as a literal block
// scalar whose lines start at indent, when it can: printable ASCII, no
// space at its start, its end or before a line break, and at most one
// line break at its end. It leaves the line open.
func (p *yamlPrinter) literal(s string, indent int) bool {
	if s[0] == ' ' || s[0] == '\n' || s[len(s)-1] == ' ' || strings.HasSuffix(s, "\n\n") || strings.Contains(s, " \n") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\n' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	body, kept := strings.CutSuffix(s, "\n")
	if kept {
		p.out = append(p.out, '|')
	} else {
		p.out = append(p.out, "|-"...)
	}
	for line := range strings.SplitSeq(body, "\n") {
		p.out = append(p.out, '\n')
		if line != "" {
			p.indent(indent)
			p.out = append(p.out, line...)
		}
	}
	return true
}

const (
	// maxSimpleKey is the longest key YAML v2 prints as a simple key;
	// a longer one takes the "? " form.
	maxSimpleKey = 128
	// foldColumn is the column past which YAML v2 breaks a scalar at a
	// space.
	foldColumn = 80
)

// plainWord tells whether YAML v2 prints s plain without looking further:
// nothing in it is an indicator, a space or a line break, and it does
// not read as another type. It starts with a letter, / or _ and is no
// YAML 1.1 word (yamlWord); or with ./ or ../ (no number starts so); or
// it is a run of digits and letters with a letter no number can hold (a
// duration, a quantity: 10m0s, 512Mi).
func plainWord(s string) bool {
	if s == "" || s[len(s)-1] == ':' {
		return false
	}
	switch c := s[0]; {
	case isLetter(c), c == '/', c == '_':
	case c == '.':
		if !strings.HasPrefix(s, "./") && !strings.HasPrefix(s, "../") {
			return false
		}
	case isDigit(c):
		return unitWord(s)
	default:
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case isLetter(c), isDigit(c), c == '.', c == '/', c == '_', c == '-', c == ':':
		default:
			return false
		}
	}
	return !yamlWord(s)
}

// unitWord tells whether s, which starts with a digit, is digits and
// letters only, one of which no number YAML v2 reads can hold (hex
// digits, base prefixes, exponents): neither an integer, a float nor a
// timestamp, so YAML v2 prints it plain.
func unitWord(s string) bool {
	unit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
		case isLetter(c):
			unit = unit || !strings.ContainsRune("abcdefABCDEFxXoObBeEpP", rune(c))
		default:
			return false
		}
	}
	return unit
}

// yamlWord tells whether YAML v2 reads a plain s that starts with a
// letter as a boolean or null.
func yamlWord(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL":
		return true
	}
	return false
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// keyLess orders two ASCII keys as YAML v2 orders a mapping's string
// keys: letters by code, a letter after anything else, runs of digits
// by their value.
func keyLess(a, b string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		al, bl := isLetter(a[i]), isLetter(b[i])
		if al && bl {
			return a[i] < b[i]
		}
		if al || bl {
			return bl
		}
		var an, bn int64
		if a[i] == '0' || b[i] == '0' {
			// A zero inside a number counts as a digit of it.
			for j := i - 1; j >= 0 && isDigit(a[j]); j-- {
				if a[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(a) && isDigit(a[ai]); ai++ {
			an = an*10 + int64(a[ai]-'0')
		}
		for ; bi < len(b) && isDigit(b[bi]); bi++ {
			bn = bn*10 + int64(b[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
