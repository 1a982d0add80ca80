package safetext

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name                       string
		in                         string
		text, line, html, md, code string
	}{
		{name: "an ordinary path", in: "apps/x/base/deploy.yaml",
			text: "apps/x/base/deploy.yaml", line: "apps/x/base/deploy.yaml", html: "apps/x/base/deploy.yaml",
			md: `apps/x/base/deploy.yaml`, code: "`apps/x/base/deploy.yaml`"},
		{name: "unicode letters stay", in: "apps/café/ü.yaml",
			text: "apps/café/ü.yaml", line: "apps/café/ü.yaml", html: "apps/café/ü.yaml", md: "apps/café/ü.yaml", code: "`apps/café/ü.yaml`"},
		{name: "a newline starting a YAML document", in: "app\n---\nkind: Secret",
			text: `"app\n---\nkind: Secret"`, line: `app\n---\nkind: Secret`, html: `&#34;app\n---\nkind: Secret&#34;`,
			md: `app\\n---\\nkind: Secret`, code: "`\"app\\n---\\nkind: Secret\"`"},
		{name: "a workflow command", in: "x\n::error file=a::forged",
			text: `"x\n::error file=a::forged"`, line: `x\n::error file=a::forged`, html: `&#34;x\n::error file=a::forged&#34;`,
			md: `x\\n::error file=a::forged`, code: "`\"x\\n::error file=a::forged\"`"},
		{name: "closing the summary", in: "a</code></summary>\n\n### 0 errors — safe to merge",
			text: `"a</code></summary>\n\n### 0 errors — safe to merge"`, line: `a</code></summary>\n\n### 0 errors — safe to merge`,
			html: `&#34;a&lt;/code&gt;&lt;/summary&gt;\n\n### 0 errors — safe to merge&#34;`,
			md:   `a&lt;/code&gt;&lt;/summary&gt;\\n\\n\#\#\# 0 errors — safe to merge`,
			code: "`\"a</code></summary>\\n\\n### 0 errors — safe to merge\"`"},
		{name: "backticks and pipes", in: "a`b|c``d",
			text: "a`b|c``d", line: "a`b|c``d", html: "a`b|c``d", md: "a\\`b\\|c\\`\\`d", code: "```a`b\\|c``d```"},
		{name: "a terminal escape", in: "a\x1b[31mred",
			text: `"a\x1b[31mred"`, line: `a\x1b[31mred`, html: `&#34;a\x1b[31mred&#34;`, md: `a\\x1b\[31mred`, code: "`\"a\\x1b[31mred\"`"},
		{name: "a bidirectional override", in: "a\u202ecba",
			text: `"a\u202ecba"`, line: `a\u202ecba`, html: `&#34;a\u202ecba&#34;`, md: `a\\u202ecba`, code: "`\"a\\u202ecba\"`"},
		{name: "invalid UTF-8", in: "a\xffb",
			text: `"a\xffb"`, line: `a\xffb`, html: `&#34;a\xffb&#34;`, md: `a\\xffb`, code: "`\"a\\xffb\"`"},
		{name: "a leading backtick", in: "`a",
			text: "`a", line: "`a", html: "`a", md: "\\`a", code: "`` `a ``"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct{ format, got, want string }{
				{"Text", Text(tt.in), tt.text},
				{"Line", Line(tt.in), tt.line},
				{"HTML", HTML(tt.in), tt.html},
				{"Markdown", Markdown(tt.in), tt.md},
				{"CodeSpan", CodeSpan(tt.in), tt.code},
			} {
				if c.got != c.want {
					t.Errorf("%s(%q) = %s, want %s", c.format, tt.in, c.got, c.want)
				}
			}
		})
	}
}

func TestBreaksLines(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"apps/café/ü.yaml", false},
		{".yayamlls.yaml\u200e", false}, // a left-to-right mark: invisible, inert
		{"a\u202ecba", false},
		{"a\u200bb", false},
		{"a\nb", true},
		{"a\x1b[31mred", true},
		{"a\u0085b", true}, // NEL, a C1 control
		{"a\u2028b", true},
		{"a\u2029b", true},
		{"a\xffb", true},
	} {
		if got := BreaksLines(tt.in); got != tt.want {
			t.Errorf("BreaksLines(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if Printable(tt.in) && tt.want {
			t.Errorf("%q is Printable yet breaks lines", tt.in)
		}
	}
}

// FuzzFormats holds every format to what makes it safe: one line, only
// printable characters, nothing that closes or opens structure, and Text
// reversible.
func FuzzFormats(f *testing.F) {
	for _, s := range []string{"apps/x.yaml", "a\nb", "a</code></summary>", "a`b|c", "\x1b[2J", "a\u2028b", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"Text": Text(s), "Line": Line(s), "HTML": HTML(s), "Markdown": Markdown(s), "CodeSpan": CodeSpan(s)} {
			if !Printable(out) {
				t.Errorf("%s(%q) = %q holds a character that is not printable", name, s, out)
			}
			if !utf8.ValidString(out) {
				t.Errorf("%s(%q) is not UTF-8", name, s)
			}
		}
		if txt := Text(s); txt != s {
			back, err := strconv.Unquote(txt)
			if err != nil || back != s {
				t.Errorf("Text(%q) = %s does not unquote to it: %q, %v", s, txt, back, err)
			}
		}
		if h := HTML(s); strings.ContainsAny(h, "<>") {
			t.Errorf("HTML(%q) = %s holds a tag character", s, h)
		}
		if md := Markdown(s); strings.Contains(strings.ReplaceAll(md, `\\`, ""), "<") || hasUnescaped(md, '`') || hasUnescaped(md, '|') {
			t.Errorf("Markdown(%q) = %s holds markdown structure", s, md)
		}
		code := CodeSpan(s)
		fence := code[:strings.IndexFunc(code, func(r rune) bool { return r != '`' })]
		if inner := strings.TrimSuffix(strings.TrimPrefix(code, fence), fence); strings.Contains(inner, fence) || hasUnescaped(inner, '|') {
			t.Errorf("CodeSpan(%q) = %s: its content can close it or split a table cell", s, code)
		}
	})
}

// hasUnescaped tells whether s holds c without a backslash before it.
func hasUnescaped(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == c {
			return true
		}
	}
	return false
}
