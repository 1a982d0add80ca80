package markers

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// brief is the part of a Marker the table tests state.
type brief struct {
	Line, Column int
	Setter       string
	Value        string
	Style        Style
	Flow         bool
}

func briefs(ms []Marker) []brief {
	var bs []brief
	for _, m := range ms {
		bs = append(bs, brief{Line: m.Line, Column: m.Column, Setter: m.Setter(), Value: m.Value, Style: m.Style, Flow: m.Flow})
	}
	return bs
}

const mk = `# {"$imagepolicy": "apps:app"}`

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []brief
	}{
		{name: "kustomization images",
			in: "images:\n- name: app\n  newName: ghcr.io/org/app # {\"$imagepolicy\": \"apps:app:name\"}\n  newTag: v1 # {\"$imagepolicy\": \"apps:app:tag\"}\n  digest: sha256:1 # {\"$imagepolicy\": \"apps:app:digest\"}\n",
			want: []brief{
				{Line: 3, Column: 12, Setter: "apps:app:name", Value: "ghcr.io/org/app"},
				{Line: 4, Column: 11, Setter: "apps:app:tag", Value: "v1"},
				{Line: 5, Column: 11, Setter: "apps:app:digest", Value: "sha256:1"},
			}},
		{name: "deployment image",
			in:   "spec:\n  containers:\n  - name: c\n    image: ghcr.io/org/app:v1 " + mk + "\n",
			want: []brief{{Line: 4, Column: 12, Setter: "apps:app", Value: "ghcr.io/org/app:v1"}}},
		{name: "comment without space, several hashes, trailing space",
			in: "a: x #{\"$imagepolicy\": \"apps:app\"}\nb: y ## {\"$imagepolicy\": \"apps:app\"}  \n",
			want: []brief{
				{Line: 1, Column: 4, Setter: "apps:app", Value: "x"},
				{Line: 2, Column: 4, Setter: "apps:app", Value: "y"},
			}},
		{name: "extra string members are allowed",
			in:   "a: x # {\"$imagepolicy\": \"apps:app\", \"note\": \"pinned\"}\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app", Value: "x"}}},
		{name: "the last of duplicate members wins, as in encoding/json",
			in:   "a: x # {\"$imagepolicy\": \"apps:one\", \"$imagepolicy\": \"apps:two\"}\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:two", Value: "x"}}},
		{name: "long form $ref",
			in:   "a: x # {\"$ref\": \"#/definitions/io.k8s.cli.setters.apps:app:tag\"}\n# " + Token + "\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app:tag", Value: "x"}}},
		{name: "head comment on a list item",
			in:   "images:\n" + mk + "\n- ghcr.io/org/app:v1\n",
			want: []brief{{Line: 3, Column: 3, Setter: "apps:app", Value: "ghcr.io/org/app:v1"}}},
		{name: "head comment on a value below its key",
			in:   "image:\n  " + mk + "\n  ghcr.io/org/app:v1\n",
			want: []brief{{Line: 3, Column: 3, Setter: "apps:app", Value: "ghcr.io/org/app:v1"}}},
		{name: "quoting styles",
			in: "a: 'x' " + mk + "\nb: \"y\" " + mk + "\nc: |- " + mk + "\n  z\nd: > " + mk + "\n  w\n",
			want: []brief{
				{Line: 1, Column: 4, Setter: "apps:app", Value: "x", Style: SingleQuoted},
				{Line: 2, Column: 4, Setter: "apps:app", Value: "y", Style: DoubleQuoted},
				{Line: 3, Column: 4, Setter: "apps:app", Value: "z", Style: Literal},
				{Line: 5, Column: 4, Setter: "apps:app", Value: "w\n", Style: Folded},
			}},
		{name: "anchor and tag skipped in the position",
			in:   "a: &x !!str v1 " + mk + "\n",
			want: []brief{{Line: 1, Column: 13, Setter: "apps:app", Value: "v1"}}},
		{name: "flow collections",
			in: "a: {image: x:v1, " + mk + "\n  b: 1}\nc: [x:v1, " + mk + "\n  y]\n",
			want: []brief{
				{Line: 1, Column: 12, Setter: "apps:app", Value: "x:v1", Flow: true},
				{Line: 3, Column: 5, Setter: "apps:app", Value: "x:v1", Flow: true},
			}},
		{name: "multi-line plain scalar",
			in:   "a: one\n  two " + mk + "\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app", Value: "one two"}}},
		{name: "integer and null scalars are markers too",
			in: "a: 1 " + mk + "\nb: ~ " + mk + "\n",
			want: []brief{
				{Line: 1, Column: 4, Setter: "apps:app", Value: "1"},
				{Line: 2, Column: 4, Setter: "apps:app", Value: "~"},
			}},
		{name: "documents and CRLF",
			in: "a: x " + mk + "\r\n---\r\nb: y " + mk + "\r\n--- # two\r\nc: z " + mk + "\r\n",
			want: []brief{
				{Line: 1, Column: 4, Setter: "apps:app", Value: "x"},
				{Line: 3, Column: 4, Setter: "apps:app", Value: "y"},
				{Line: 5, Column: 4, Setter: "apps:app", Value: "z"},
			}},
		{name: "columns count characters",
			in:   "ä: ü:v1 " + mk + "\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app", Value: "ü:v1"}}},
		{name: "byte order mark",
			in:   "\ufeffa: x " + mk + "\n",
			want: []brief{{Line: 1, Column: 5, Setter: "apps:app", Value: "x"}}},
		{name: "only the first of duplicate keys",
			in:   "a: x " + mk + "\na: y " + mk + "\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app", Value: "x"}}},
		{name: "empty metadata.annotations is dropped, its value unread",
			in:   "metadata:\n  name: n\n  annotations: '' " + mk + "\nimage: x " + mk + "\n",
			want: []brief{{Line: 4, Column: 8, Setter: "apps:app", Value: "x"}}},
		{name: "not read: keys, aliases, collections, empty values",
			in:   "x:v1: a\n? k " + mk + "\n: b\nc: &a v\nd: *a " + mk + "\ne: " + mk + "\n  f: 1\ng: " + mk + "\n",
			want: nil},
		{name: "no token in the file",
			in:   "a: x # {\"\\u0024imagepolicy\": \"apps:app\"}\n",
			want: nil},
		{name: "escaped key read once the token is in the file",
			in:   "a: x # {\"\\u0024imagepolicy\": \"apps:app\"}\n# " + Token + "\n",
			want: []brief{{Line: 1, Column: 4, Setter: "apps:app", Value: "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Find("f.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if diff := cmp.Diff(tt.want, briefs(ms)); diff != "" {
				t.Errorf("markers (-want +got):\n%s", diff)
			}
			for _, m := range ms {
				if m.File != "f.yaml" || m.End < m.Start || m.End > len(tt.in) {
					t.Errorf("marker %+v: bad file or span", m)
				}
			}
		})
	}
}

func TestFindSpan(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "a: ghcr.io/org/app:v1   " + mk + "\n", want: "ghcr.io/org/app:v1"},
		{name: "single quoted", in: "a: 'it''s' " + mk + "\n", want: "'it''s'"},
		{name: "double quoted", in: `a: "x\"y" ` + mk + "\n", want: `"x\"y"`},
		{name: "anchored", in: "a: &z 'v' " + mk + "\n", want: "'v'"},
		{name: "multi-line plain", in: "a: one\n\n  two " + mk + "\nb: 1\n", want: "one\n\n  two"},
		{name: "block", in: "a: |2- " + mk + "\n  one\n  two\n\nb: 1\n", want: "|2- " + mk + "\n  one\n  two"},
		{name: "CRLF", in: "x: 1\r\na: 'v' " + mk + "\r\n", want: "'v'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Find("f.yaml", []byte(tt.in))
			if err != nil || len(ms) != 1 || ms[0].End < 0 {
				t.Fatalf("Find: %v, markers %+v", err, ms)
			}
			if got := tt.in[ms[0].Start:ms[0].End]; got != tt.want {
				t.Errorf("span = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScanMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// line and reason are the expected finding's line and a part of
		// its reason.
		line   int
		reason string
	}{
		{name: "single quotes", in: "a: x # {'$imagepolicy': 'apps:app'}\nb: y " + mk + "\n", line: 1, reason: "double quotes"},
		{name: "not an object", in: "a: x # $imagepolicy: apps:app\nb: y " + mk + "\n", line: 1, reason: "not a JSON object"},
		{name: "broken JSON", in: "a: x # {\"$imagepolicy\": \"apps:app\"\n", line: 1, reason: "not valid JSON"},
		{name: "text after the JSON", in: "a: x " + mk + " pinned\n", line: 1, reason: "text follows"},
		{name: "non-string member", in: "a: x # {\"$imagepolicy\": \"apps:app\", \"n\": 1}\n", line: 1, reason: "must be a string"},
		{name: "key case", in: "a: x # {\"$imagePolicy\": \"apps:app\"}\n" + "# " + Token + "\n", line: 1, reason: `the key is "$imagePolicy"`},
		{name: "no namespace", in: "a: x # {\"$imagepolicy\": \"app\"}\n", line: 1, reason: "names no namespace"},
		{name: "unknown suffix", in: "a: x # {\"$imagepolicy\": \"apps:app:version\"}\n", line: 1, reason: `unknown suffix ":version"`},
		{name: "too many parts", in: "a: x # {\"$imagepolicy\": \"apps:app:tag:x\"}\n", line: 1, reason: "too many parts"},
		{name: "bad namespace", in: "a: x # {\"$imagepolicy\": \"Apps:app\"}\n", line: 1, reason: "not a namespace"},
		{name: "empty policy", in: "a: x # {\"$imagepolicy\": \"\"}\n", line: 1, reason: "names no policy"},
		{name: "above a key", in: "spec:\n  " + mk + "\n  image: x\n", line: 2, reason: "on the line above a field"},
		{name: "after a key", in: "image: " + mk + "\n  x\n", line: 1, reason: "after a key"},
		{name: "on a list", in: "images: [a, b] " + mk + "\n", line: 1, reason: "not on a list or a mapping"},
		{name: "shadowed head comment", in: "l:\n" + mk + "\n- x # note\n", line: 2, reason: "reads the comment at the end"},
		{name: "block of comments", in: "l:\n# note\n" + mk + "\n- x\n", line: 3, reason: "several comment lines"},
		{name: "duplicate key", in: "a: x\na: y " + mk + "\n", line: 2, reason: "written twice"},
		{name: "alias", in: "a: &x v\nb: *x " + mk + "\n", line: 2, reason: "alias"},
		{name: "foot comment", in: "a:\n  b: x\n\n  " + mk + "\n\nc: 1\n", line: 4, reason: "not attached"},
		{name: "single-document List",
			in:   "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {image: x} \nx: y " + mk + "\n",
			line: 8, reason: "unwraps"},
		{name: "no double-quoted token: never parsed",
			in: "a: x # {'$imagepolicy': 'apps:app'}\n", line: 1, reason: "does not read this file at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Scan("f.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			var found *Malformed
			for i, m := range f.Malformed {
				if m.Line == tt.line && strings.Contains(m.Reason, tt.reason) {
					found = &f.Malformed[i]
				}
			}
			if found == nil {
				t.Fatalf("no finding at line %d with %q; got %+v", tt.line, tt.reason, f.Malformed)
			}
			if !strings.HasPrefix(found.Error(), "f.yaml:") {
				t.Errorf("Error() = %q", found.Error())
			}
		})
	}
}

func TestScanWellFormedHasNoFindings(t *testing.T) {
	in := "images:\n- name: a\n  newTag: v1 # {\"$imagepolicy\": \"apps:app:tag\"}\n" + mk + "\n- x\n# a comment about the imagepolicy\nb: 1\n"
	f, err := Scan("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Markers) != 2 || len(f.Malformed) != 0 {
		t.Errorf("got %d markers, malformed %+v", len(f.Markers), f.Malformed)
	}
}

func TestFindUnreadable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{name: "syntax error in a later document", in: "a: x " + mk + "\n---\nb: x: y\n", line: 3},
		{name: "separator followed by text", in: "a: x " + mk + "\n--- text\nb: 1\n", line: 2},
		{name: "document that is a list", in: "a: x " + mk + "\n---\n- y\n", line: 3},
		{name: "document that is a string", in: "a: x " + mk + "\n---\nhello\n", line: 3},
		{name: "metadata not a mapping", in: "metadata: [a]\na: x " + mk + "\n", line: 1},
		{name: "annotations a list", in: "metadata:\n  annotations: [a]\na: x " + mk + "\n", line: 2},
		{name: "not UTF-8", in: "a: \"\xff\"\nb: x " + mk + "\n", line: 1},
		{name: "inconsistent annotations with another object",
			in: "metadata:\n  annotations: ''\nmetadata: ~\n---\na: x " + mk + "\n", line: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Find("f.yaml", []byte(tt.in))
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("Find error = %v, want ErrUnreadable", err)
			}
			d, ok := diag.As(err)
			if !ok || d.File != "f.yaml" || d.Line != tt.line {
				t.Errorf("error %v: want f.yaml:%d", err, tt.line)
			}
			if ms != nil {
				t.Errorf("markers returned with the error: %v", ms)
			}
		})
	}
}

func TestSkip(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{path: "apps/kustomization.yaml", want: false},
		{path: "apps/values.yml", want: false},
		{path: "apps/Kustomization", want: false},
		{path: ".hidden/x.yaml", want: false},
		{path: "apps/kustomization", want: true},
		{path: "apps/x.YAML", want: true},
		{path: "apps/x.json", want: true},
		{path: "apps/x.yaml.tmpl", want: true},
		{path: "README.md", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := Skip(tt.path); got != tt.want {
				t.Errorf("Skip(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestFindKeepsFieldsConsistent(t *testing.T) {
	in := "a: 'x' # {\"$imagepolicy\": \"apps:app:tag\"}\n"
	ms, err := Find("dir/f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Marker{{File: "dir/f.yaml", Line: 1, Column: 4, Policy: Policy{"apps", "app"}, Field: FieldTag,
		Value: "x", Raw: `{"$imagepolicy": "apps:app:tag"}`, Style: SingleQuoted, Start: 3, End: 6}}
	if diff := cmp.Diff(want, ms, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := ms[0].Policy.String(); got != "apps:app" {
		t.Errorf("Policy.String() = %q", got)
	}
}

// TestProseIsNotAMarker: a comment that talks about markers is neither a
// marker nor a malformed one.
func TestProseIsNotAMarker(t *testing.T) {
	for _, text := range []string{
		"# Commit the newest tag to the overlay, at its $imagepolicy markers.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x # see the $imagepolicy docs\n",
	} {
		f, err := Scan("f.yaml", []byte(text))
		if err != nil || len(f.Markers) != 0 || len(f.Malformed) != 0 {
			t.Errorf("Scan(%q) = %+v, %v; want nothing", text, f, err)
		}
	}
	f, _ := Scan("f.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x # {'$imagepolicy': 'a:b'}\n"))
	if len(f.Malformed) != 1 {
		t.Errorf("a single-quoted marker is not reported: %+v", f)
	}
}
