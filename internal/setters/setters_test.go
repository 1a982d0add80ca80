package setters

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

var (
	app    = markers.Policy{Namespace: "apps", Name: "app"}
	latest = map[markers.Policy]Latest{app: {Name: "ghcr.io/org/app", Tag: "v2.0.0"}}
)

func apply(t *testing.T, in string, values map[markers.Policy]Latest) (string, []Change, error) {
	t.Helper()
	ms, err := markers.Find("f.yaml", []byte(in))
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	out, changes, err := Apply([]byte(in), ms, values)
	return string(out), changes, err
}

func TestApply(t *testing.T) {
	const m = `# {"$imagepolicy": "apps:app"}`
	const tag = `# {"$imagepolicy": "apps:app:tag"}`
	tests := []struct {
		name   string
		in     string
		values map[markers.Policy]Latest
		want   string
		// changes is the number of changes expected.
		changes int
	}{
		{name: "plain", in: "image: ghcr.io/org/app:v1 " + m + "\n",
			want: "image: ghcr.io/org/app:v2.0.0 " + m + "\n", changes: 1},
		{name: "already current", in: "image: ghcr.io/org/app:v2.0.0 " + m + "\n",
			want: "image: ghcr.io/org/app:v2.0.0 " + m + "\n"},
		{name: "no policy", in: "image: ghcr.io/org/app:v1 " + m + "\n", values: map[markers.Policy]Latest{},
			want: "image: ghcr.io/org/app:v1 " + m + "\n"},
		{name: "plain, YAML 1.1 number quoted", in: "tag: v1 " + tag + "\n",
			values: map[markers.Policy]Latest{app: {Name: "x", Tag: "1.10"}},
			want:   `tag: "1.10" ` + tag + "\n", changes: 1},
		{name: "plain, YAML 1.1 boolean quoted", in: "tag: v1 " + tag + "\n",
			values: map[markers.Policy]Latest{app: {Name: "x", Tag: "on"}},
			want:   `tag: "on" ` + tag + "\n", changes: 1},
		{name: "plain, null word quoted", in: "tag: v1 " + tag + "\n",
			values: map[markers.Policy]Latest{app: {Name: "x", Tag: "null"}},
			want:   `tag: "null" ` + tag + "\n", changes: 1},
		{name: "plain, empty value quoted", in: "digest: sha256:1 # {\"$imagepolicy\": \"apps:app:digest\"}\n",
			want: "digest: \"\" # {\"$imagepolicy\": \"apps:app:digest\"}\n", changes: 1},
		{name: "integer scalar becomes a string", in: "tag: 1 " + tag + "\n",
			want: "tag: v2.0.0 " + tag + "\n", changes: 1},
		{name: "tag and anchor kept", in: "tag: &t !!str v1 " + tag + "\nother: *t\n",
			want: "tag: &t !!str v2.0.0 " + tag + "\nother: *t\n", changes: 1},
		{name: "flow mapping", in: "c: {image: ghcr.io/org/app:v1, " + m + "\n  pull: Always}\n",
			want: "c: {image: ghcr.io/org/app:v2.0.0, " + m + "\n  pull: Always}\n", changes: 1},
		{name: "multi-line plain joined", in: "image: ghcr.io/org/app\n  :v1 " + m + "\nnext: 1\n",
			want: "image: ghcr.io/org/app:v2.0.0 " + m + "\nnext: 1\n", changes: 1},
		{name: "multi-line double quoted joined", in: "image: \"ghcr.io/org/app\n  :v1\" " + m + "\nnext: 1\n",
			want: "image: \"ghcr.io/org/app:v2.0.0\" " + m + "\nnext: 1\n", changes: 1},
		{name: "literal block", in: "tag: | " + tag + "\n  v1\nnext: 1\n",
			want: "tag: |- " + tag + "\n  v2.0.0\nnext: 1\n", changes: 1},
		{name: "folded block kept with indicator", in: "tag: >2+ " + tag + "\n  v1\n\n  more\n\nnext: 1\n",
			want: "tag: >2- " + tag + "\n  v2.0.0\n\nnext: 1\n", changes: 1},
		{name: "empty block gets a line", in: "a:\n  tag: | " + tag + "\n  next: 1\n",
			want: "a:\n  tag: |- " + tag + "\n    v2.0.0\n  next: 1\n", changes: 1},
		{name: "block with leading blank line", in: "tag: | " + tag + "\n\n  v1\n",
			want: "tag: |- " + tag + "\n  v2.0.0\n", changes: 1},
		{name: "head comment on a list item", in: "images:\n" + m + "\n- ghcr.io/org/app:v1\n",
			want: "images:\n" + m + "\n- ghcr.io/org/app:v2.0.0\n", changes: 1},
		{name: "CRLF kept", in: "a: 1\r\nimage: ghcr.io/org/app:v1 " + m + "\r\nb: 2\r\n",
			want: "a: 1\r\nimage: ghcr.io/org/app:v2.0.0 " + m + "\r\nb: 2\r\n", changes: 1},
		{name: "digest appended", in: "image: x " + m + "\n",
			values: map[markers.Policy]Latest{app: {Name: "ghcr.io/org/app", Tag: "v2", Digest: "sha256:" + strings.Repeat("ab", 32)}},
			want:   "image: ghcr.io/org/app:v2@sha256:" + strings.Repeat("ab", 32) + " " + m + "\n", changes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := tt.values
			if values == nil {
				values = latest
			}
			got, changes, err := apply(t, tt.in, values)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if len(changes) != tt.changes {
				t.Errorf("got %d changes, want %d: %+v", len(changes), tt.changes, changes)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	const tag = `# {"$imagepolicy": "apps:app:tag"}`
	tests := []struct {
		name   string
		in     string
		values map[markers.Policy]Latest
		check  func(error) bool
	}{
		{name: "newline in value", in: "tag: v1 " + tag + "\n",
			values: map[markers.Policy]Latest{app: {Name: "x", Tag: "a\nb"}},
			check:  func(err error) bool { return errors.Is(err, ErrCannotRewrite) }},
		{name: "block scalar cannot hold an empty value", in: "digest: | # {\"$imagepolicy\": \"apps:app:digest\"}\n  sha256:1\n",
			check: func(err error) bool { return errors.Is(err, ErrCannotRewrite) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := tt.values
			if values == nil {
				values = latest
			}
			out, changes, err := apply(t, tt.in, values)
			if err == nil || !tt.check(err) {
				t.Fatalf("Apply error = %v", err)
			}
			if out != tt.in || changes != nil {
				t.Errorf("Apply changed the content on error: %q, %v", out, changes)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		style markers.Style
		flow  bool
		value string
		want  string
	}{
		{name: "single quoted doubles quotes", style: markers.SingleQuoted, value: "it's", want: "'it''s'"},
		{name: "double quoted escapes", style: markers.DoubleQuoted, value: `a"b\c`, want: `"a\"b\\c"`},
		{name: "plain indicator quoted", style: markers.Plain, value: "@latest", want: `"@latest"`},
		{name: "plain with colon-space quoted", style: markers.Plain, value: "a: b", want: `"a: b"`},
		{name: "plain in flow, comma quoted", style: markers.Plain, flow: true, value: "a,b", want: `"a,b"`},
		{name: "plain in block, comma kept", style: markers.Plain, value: "a,b", want: "a,b"},
		{name: "plain timestamp-like kept as YAML reads a string", style: markers.Plain, value: "v2024-01-02", want: "v2024-01-02"},
		{name: "plain octal-like quoted", style: markers.Plain, value: "0755", want: `"0755"`},
		{name: "plain tilde quoted", style: markers.Plain, value: "~", want: `"~"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(nil, markers.Marker{Style: tt.style, Flow: tt.flow}, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("encode(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
	if _, err := encode(nil, markers.Marker{}, "a\nb"); !errors.Is(err, ErrCannotRewrite) {
		t.Errorf("encode of a value with a newline: %v", err)
	}
}

func TestApplyStaleMarkers(t *testing.T) {
	in := []byte("image: ghcr.io/org/app:v1 # {\"$imagepolicy\": \"apps:app\"}\n")
	ms, err := markers.Find("f.yaml", in)
	if err != nil {
		t.Fatal(err)
	}
	// The same markers applied to content that moved.
	moved := append([]byte("# a new first line\n"), in...)
	out, _, err := Apply(moved, ms, latest)
	if !errors.Is(err, ErrCannotRewrite) {
		t.Fatalf("Apply on moved content: %v", err)
	}
	if string(out) != string(moved) {
		t.Errorf("content changed on error")
	}
}

func TestLatestValidate(t *testing.T) {
	tests := []struct {
		name    string
		latest  Latest
		wantErr bool
	}{
		{name: "tag", latest: Latest{Name: "ghcr.io/org/app", Tag: "v1"}},
		{name: "tag and digest", latest: Latest{Name: "ghcr.io/org/app", Tag: "v1", Digest: "sha256:" + strings.Repeat("0", 64)}},
		{name: "Docker Hub short name", latest: Latest{Name: "nginx", Tag: "1.27"}},
		{name: "upper case name", latest: Latest{Name: "ghcr.io/Org/App", Tag: "v1"}, wantErr: true},
		{name: "empty tag", latest: Latest{Name: "ghcr.io/org/app"}, wantErr: true},
		{name: "bad digest", latest: Latest{Name: "ghcr.io/org/app", Tag: "v1", Digest: "sha256:xyz"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.latest.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	l := Latest{Name: "ghcr.io/org/app", Tag: "v1", Digest: "sha256:abc"}
	tests := []struct {
		name  string
		field markers.Field
		want  string
	}{
		{name: "image", field: markers.FieldImage, want: "ghcr.io/org/app:v1@sha256:abc"},
		{name: "tag", field: markers.FieldTag, want: "v1"},
		{name: "name", field: markers.FieldName, want: "ghcr.io/org/app"},
		{name: "digest", field: markers.FieldDigest, want: "sha256:abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Value(tt.field); got != tt.want {
				t.Errorf("Value(%q) = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

func TestWriteAtomic(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the file after it was read, or is nil.
		edit    func(path string) error
		mode    os.FileMode
		link    bool
		wantErr error
		want    string
		// wantMode is the permission the file must have afterwards.
		wantMode os.FileMode
	}{
		{name: "replaced, mode kept", want: "new\n", wantMode: 0o640},
		{name: "explicit mode", mode: 0o600, want: "new\n", wantMode: 0o600},
		{name: "through a symlink", link: true, want: "new\n", wantMode: 0o640},
		{name: "changed since read", edit: func(p string) error { return os.WriteFile(p, []byte("someone else\n"), 0o640) },
			wantErr: ErrModified, want: "someone else\n", wantMode: 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "f.yaml")
			if err := os.WriteFile(file, []byte("old\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, 0o640); err != nil {
				t.Fatal(err)
			}
			path := file
			if tt.link {
				path = filepath.Join(dir, "link.yaml")
				if err := os.Symlink("f.yaml", path); err != nil {
					t.Fatal(err)
				}
			}
			if tt.edit != nil {
				if err := tt.edit(file); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteAtomic(path, []byte("old\n"), []byte("new\n"), tt.mode)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("WriteAtomic error = %v, want %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(file)
			if string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			info, _ := os.Stat(file)
			if info.Mode().Perm() != tt.wantMode {
				t.Errorf("mode = %v, want %v", info.Mode().Perm(), tt.wantMode)
			}
			if tt.link {
				if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the symlink was replaced")
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
		})
	}
}
