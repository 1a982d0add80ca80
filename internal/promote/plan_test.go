package promote

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
)

// sockShop is the folder of the bundled example's overlays.
const sockShop = "../../testdata/examples/sock-shop/microservices-repo/deploy/kubernetes/overlays/"

func exampleOverlay(t *testing.T, name string) Overlay {
	t.Helper()
	p := sockShop + name + "/kustomization.yaml"
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return Overlay{Kustomization: File{Path: "deploy/kubernetes/overlays/" + name + "/kustomization.yaml", Data: data}}
}

// kust makes an overlay of one kustomization file, and other files given
// as path, content pairs.
func kust(path, data string, others ...string) Overlay {
	o := Overlay{Kustomization: File{Path: path, Data: []byte(data)}}
	for i := 0; i+1 < len(others); i += 2 {
		o.Files = append(o.Files, File{Path: others[i], Data: []byte(others[i+1])})
	}
	return o
}

// wantFile checks the new content of a target file.
func wantFile(path, want string) func(*testing.T, Result) {
	return func(t *testing.T, r Result) {
		t.Helper()
		got, ok := r.Files[path]
		if !ok {
			t.Fatalf("%s does not change; files: %v", path, keys(r.Files))
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
}

// wantChanges checks the changes, as "line action image field old new marker".
func wantChanges(want ...Change) func(*testing.T, Result) {
	return func(t *testing.T, r Result) {
		t.Helper()
		if diff := cmp.Diff(want, r.Changes); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
	}
}

func wantNothing(t *testing.T, r Result) {
	t.Helper()
	if len(r.Files) != 0 || len(r.Changes) != 0 {
		t.Errorf("want no change, got files %v, changes %+v", keys(r.Files), r.Changes)
	}
}

// wantSkip checks that something was skipped for a reason containing why.
func wantSkip(image, why string) func(*testing.T, Result) {
	return func(t *testing.T, r Result) {
		t.Helper()
		for _, s := range r.Skipped {
			if s.Image == image && strings.Contains(s.Reason, why) {
				return
			}
		}
		t.Errorf("no skip of %s for %q in %+v", image, why, r.Skipped)
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

const (
	from = "dev/kustomization.yaml"
	to   = "test/kustomization.yaml"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		from, to Overlay
		images   []string
		checks   []func(*testing.T, Result)
	}{
		{
			name: "sock-shop development to test: the tag moves, test keeps its newName",
			from: exampleOverlay(t, "development"), to: exampleOverlay(t, "test"),
			checks: []func(*testing.T, Result){
				wantChanges(Change{File: "deploy/kubernetes/overlays/test/kustomization.yaml", Line: 9, Image: "weaveworksdemos/front-end",
					Field: "newTag", Action: Set, Old: "main-1f49071-20", New: "main-d480788-24"}),
				wantFile("deploy/kubernetes/overlays/test/kustomization.yaml",
					strings.Replace(string(exampleOverlay(t, "test").Kustomization.Data), "newTag: main-1f49071-20", "newTag: main-d480788-24", 1)),
			},
		},
		{
			name: "sock-shop development to prod",
			from: exampleOverlay(t, "development"), to: exampleOverlay(t, "prod"),
			checks: []func(*testing.T, Result){
				wantFile("deploy/kubernetes/overlays/prod/kustomization.yaml",
					strings.Replace(string(exampleOverlay(t, "prod").Kustomization.Data), "newTag: main-1f49071-20", "newTag: main-d480788-24", 1)),
			},
		},
		{
			name: "the marker on the target's newTag stays",
			from: exampleOverlay(t, "test"), to: exampleOverlay(t, "development"),
			checks: []func(*testing.T, Result){
				wantChanges(Change{File: "deploy/kubernetes/overlays/development/kustomization.yaml", Line: 10, Image: "weaveworksdemos/front-end",
					Field: "newTag", Action: Set, Old: "main-d480788-24", New: "main-1f49071-20", Marker: "sock-shop:sock-shop-front-end:tag"}),
				wantFile("deploy/kubernetes/overlays/development/kustomization.yaml",
					strings.Replace(string(exampleOverlay(t, "development").Kustomization.Data), "newTag: main-d480788-24 #", "newTag: main-1f49071-20 #", 1)),
			},
		},
		{
			name: "tag and digest both carried",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n  digest: sha256:2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v1\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v2\n  digest: sha256:2\n"),
			},
		},
		{
			name: "tagSuffix is a version key too",
			from: kust(from, "images:\n- name: a\n  tagSuffix: -debug\n"),
			to:   kust(to, "images:\n- name: a\n  newName: r/a\n  newTag: v1\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newName: r/a\n  tagSuffix: \"-debug\"\n"),
			},
		},
		{
			name: "an added entry takes the source's newName",
			from: kust(from, "images:\n- name: a\n  newName: dev.example.com/a\n  newTag: v2\n"),
			to:   kust(to, "images:\n- name: b\n  newTag: v1\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: b\n  newTag: v1\n- name: a\n  newName: dev.example.com/a\n  newTag: v2\n"),
			},
		},
		{
			name: "a source entry without a version is skipped",
			from: kust(from, "images:\n- name: a\n  newName: dev.example.com/a\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v1\n"),
			checks: []func(*testing.T, Result){
				wantNothing,
				wantSkip("a", "no newTag, digest or tagSuffix"),
			},
		},
		{
			name: "an unset digest in the target is left alone",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v1\n  digest: \"\"\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v2\n  digest: \"\"\n"),
			},
		},
		{
			name: "a null newTag gets its value on its line",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag:\n  newName: x\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v2\n  newName: x\n"),
				wantChanges(Change{File: to, Line: 3, Image: "a", Field: "newTag", Action: Set, New: "v2"}),
			},
		},
		{
			name: "an empty string in a quoted target value keeps its quotes",
			from: kust(from, "images:\n- name: a\n  digest: sha256:2\n"),
			to:   kust(to, "images:\n- name: a\n  digest: ''\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  digest: 'sha256:2'\n"),
			},
		},
		{
			name: "every target entry of the name is promoted",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v1\n- name: a\n  newTag: v0\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v2\n- name: a\n  newTag: v2\n"),
			},
		},
		{
			name: "a flow-style entry is rewritten in place",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "images: [{name: a, newTag: v1}, {name: b, newTag: '1'}]\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images: [{name: a, newTag: v2}, {name: b, newTag: '1'}]\n"),
			},
		},
		{
			name: "a version key on the entry's first line is replaced there",
			from: kust(from, "images:\n- name: a\n  digest: sha256:2\n"),
			to:   kust(to, "images:\n- newTag: v1 # {\"$imagepolicy\": \"ns:a:tag\"}\n  name: a\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- digest: sha256:2\n  name: a\n"),
				wantChanges(
					Change{File: to, Line: 2, Image: "a", Field: "newTag", Action: Remove, Old: "v1", Marker: "ns:a:tag"},
					Change{File: to, Line: 2, Image: "a", Field: "digest", Action: Add, New: "sha256:2"}),
			},
		},
		{
			name: "a key added at the end of a file without a final line break",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n  digest: sha256:2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v1"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v2\n  digest: sha256:2"),
			},
		},
		{
			name: "a byte order mark is kept",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "\ufeffimages: [] # none\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "\ufeffimages: # none\n- name: a\n  newTag: v2\n"),
			},
		},
		{
			name: "a whole reference is matched by its normalized repository",
			from: kust(from, "resources: [d.yaml]\n", "dev/d.yaml", "image: nginx:1.25 # {\"$imagepolicy\": \"web:nginx\"}\n"),
			to:   kust(to, "resources: [d.yaml]\n", "test/d.yaml", "image: docker.io/library/nginx:1.24\n"),
			checks: []func(*testing.T, Result){
				wantFile("test/d.yaml", "image: docker.io/library/nginx:1.25\n"),
			},
		},
		{
			name: "a policy is matched before a repository",
			from: kust(from, "resources: [d.yaml]\n", "dev/d.yaml", "a: ghcr.io/x/app:v2 # {\"$imagepolicy\": \"ns:app\"}\n"),
			to: kust(to, "resources: [d.yaml]\n", "test/d.yaml",
				"a: mirror.example.com/app:v1 # {\"$imagepolicy\": \"ns:app\"}\nimage: ghcr.io/x/app:v0\n"),
			checks: []func(*testing.T, Result){
				wantFile("test/d.yaml", "a: mirror.example.com/app:v2 # {\"$imagepolicy\": \"ns:app\"}\nimage: ghcr.io/x/app:v0\n"),
			},
		},
		{
			name: "a tag marker is left alone when the version is a digest alone",
			from: kust(from, "resources: [d.yaml]\n", "dev/d.yaml", "image: ghcr.io/x/app@sha256:2 # {\"$imagepolicy\": \"ns:app\"}\n"),
			to: kust(to, "resources: [d.yaml]\n", "test/d.yaml",
				"tag: v1 # {\"$imagepolicy\": \"ns:app:tag\"}\ndigest: '' # {\"$imagepolicy\": \"ns:app:digest\"}\n"),
			checks: []func(*testing.T, Result){
				wantFile("test/d.yaml", "tag: v1 # {\"$imagepolicy\": \"ns:app:tag\"}\ndigest: 'sha256:2' # {\"$imagepolicy\": \"ns:app:digest\"}\n"),
			},
		},
		{
			name: "entries are not touched by a policy when a source entry promotes them",
			from: kust(from, "images:\n- name: app\n  newTag: v2\n", "dev/d.yaml", "image: ghcr.io/x/app:v3 # {\"$imagepolicy\": \"ns:app\"}\n"),
			to:   kust(to, "images:\n- name: app\n  newTag: v1 # {\"$imagepolicy\": \"ns:app:tag\"}\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: app\n  newTag: v2 # {\"$imagepolicy\": \"ns:app:tag\"}\n"),
			},
		},
		{
			name:   "--image by repository keeps only that policy",
			from:   kust(from, "images:\n- name: a\n  newTag: v2\n", "dev/d.yaml", "image: ghcr.io/x/app:v3 # {\"$imagepolicy\": \"ns:app\"}\n"),
			to:     kust(to, "images:\n- name: a\n  newTag: v1\n", "test/d.yaml", "image: ghcr.io/x/app:v1\n"),
			images: []string{"ghcr.io/x/app"},
			checks: []func(*testing.T, Result){
				wantChanges(Change{File: "test/d.yaml", Line: 1, Image: "ghcr.io/x/app", Field: "image", Action: Set,
					Old: "ghcr.io/x/app:v1", New: "ghcr.io/x/app:v3"}),
			},
		},
		{
			name:   "--image by policy",
			from:   kust(from, "images:\n- name: a\n  newTag: v2\n", "dev/d.yaml", "image: ghcr.io/x/app:v3 # {\"$imagepolicy\": \"ns:app\"}\n"),
			to:     kust(to, "images:\n- name: a\n  newTag: v1\n", "test/d.yaml", "image: ghcr.io/x/app:v1\n"),
			images: []string{"ns:app"},
			checks: []func(*testing.T, Result){
				wantFile("test/d.yaml", "image: ghcr.io/x/app:v3\n"),
			},
		},
		{
			name: "a target file that is not YAML is skipped",
			from: kust(from, "images:\n- name: a\n  newTag: v2\n"),
			to:   kust(to, "images:\n- name: a\n  newTag: v2\n", "test/values.yaml", "a: [\n"),
			checks: []func(*testing.T, Result){
				wantNothing,
				func(t *testing.T, r Result) {
					if len(r.Skipped) != 1 || r.Skipped[0].File != "test/values.yaml" {
						t.Errorf("skipped %+v", r.Skipped)
					}
				},
			},
		},
		{
			name:   "nothing to promote",
			from:   kust(from, "images:\n- name: a\n  newTag: '1.10'\n"),
			to:     kust(to, "images:\n- name: a\n  newTag: \"1.10\" # same\n"),
			checks: []func(*testing.T, Result){wantNothing},
		},
		{
			name:   "an empty source",
			from:   kust(from, ""),
			to:     kust(to, "images:\n- name: a\n  newTag: v1\n"),
			checks: []func(*testing.T, Result){wantNothing},
		},
		{
			name: "an empty target",
			from: kust(from, "images:\n- name: a\n  newTag: v1\n"),
			to:   kust(to, ""),
			checks: []func(*testing.T, Result){
				wantFile(to, "images:\n- name: a\n  newTag: v1\n"),
			},
		},
		{
			name: "images added before the next document",
			from: kust(from, "images:\n- name: a\n  newTag: v1\n"),
			to:   kust(to, "kind: Kustomization\n  # indented comment\n---\nkind: Other\n"),
			checks: []func(*testing.T, Result){
				wantFile(to, "kind: Kustomization\n  # indented comment\nimages:\n- name: a\n  newTag: v1\n---\nkind: Other\n"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Plan(tt.from, tt.to, tt.images)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			for _, check := range tt.checks {
				check(t, r)
			}
			// Promoting again into the result changes nothing.
			again := tt.to
			if d, ok := r.Files[again.Kustomization.Path]; ok {
				again.Kustomization.Data = d
			}
			again.Files = append([]File(nil), again.Files...)
			for i, f := range again.Files {
				if d, ok := r.Files[f.Path]; ok {
					again.Files[i].Data = d
				}
			}
			r2, err := Plan(tt.from, again, tt.images)
			if err != nil {
				t.Fatalf("Plan again: %v", err)
			}
			wantNothing(t, r2)
		})
	}
}

// wantDiag checks that err is a *diag.Error at file:line whose message
// contains msg.
func wantDiag(file string, line int, msg string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		d, ok := diag.As(err)
		if !ok {
			t.Fatalf("error %v is not a *diag.Error", err)
		}
		if d.File != file || d.Line != line || !strings.Contains(d.Msg, msg) {
			t.Errorf("error = %q (file %q line %d), want %s:%d: ...%s...", err, d.File, d.Line, file, line, msg)
		}
	}
}

func wantIs(target error, msg string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) || !strings.Contains(err.Error(), msg) {
			t.Errorf("error = %v, want %v with %q", err, target, msg)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	good := kust(from, "images:\n- name: a\n  newTag: v2\n")
	tests := []struct {
		name     string
		from, to Overlay
		images   []string
		checks   []func(*testing.T, error)
	}{
		{name: "target is not YAML", from: good, to: kust(to, "images:\n- name: a\n  newTag: [v1\n"),
			checks: []func(*testing.T, error){wantDiag(to, 3, "malformed YAML")}},
		{name: "target is a list", from: good, to: kust(to, "- a\n- b\n"),
			checks: []func(*testing.T, error){wantDiag(to, 1, "not a mapping")}},
		{name: "images is not a list", from: good, to: kust(to, "kind: Kustomization\nimages:\n  name: a\n"),
			checks: []func(*testing.T, error){wantDiag(to, 3, "images must be a list")}},
		{name: "an entry without a name", from: good, to: kust(to, "images:\n- name: b\n  newTag: v1\n- newTag: v1\n"),
			checks: []func(*testing.T, error){wantDiag(to, 4, "images entry 2 has no name")}},
		{name: "an entry that is not a mapping", from: good, to: kust(to, "images:\n- a:v1\n"),
			checks: []func(*testing.T, error){wantDiag(to, 2, "not a mapping")}},
		{name: "a key set twice in an entry", from: good, to: kust(to, "images:\n- name: a\n  newTag: v1\n  newTag: v0\n"),
			checks: []func(*testing.T, error){wantDiag(to, 4, "already defined")}},
		{name: "a version that is not a string", from: good, to: kust(to, "images:\n- name: a\n  newTag: {v: 1}\n"),
			checks: []func(*testing.T, error){wantDiag(to, 3, "newTag must be a string")}},
		{name: "source is malformed", from: kust(from, "images: 3\n"), to: good,
			checks: []func(*testing.T, error){wantDiag(from, 1, "images must be a list")}},
		{name: "source lists an image twice", from: kust(from, "images:\n- name: a\n  newTag: v1\n- name: a\n  newTag: v2\n"), to: good,
			checks: []func(*testing.T, error){wantDiag(from, 4, "lists a twice")}},
		{name: "unknown image", from: kust(from, "images:\n- name: b\n  newTag: v1\n- name: a\n  newTag: v1\n"), to: good,
			images: []string{"a", "c"},
			checks: []func(*testing.T, error){wantIs(ErrUnknownImage, `"c": dev/kustomization.yaml has a, b`)}},
		{name: "unknown image in a source without images", from: kust(from, "resources: [x]\n"), to: good,
			images: []string{"c"},
			checks: []func(*testing.T, error){wantIs(ErrUnknownImage, "has no images")}},
		{name: "source markers disagree",
			from: kust(from, "resources: [d.yaml]\n", "dev/d.yaml",
				"a: r/app:v1 # {\"$imagepolicy\": \"ns:app\"}\nb: v2 # {\"$imagepolicy\": \"ns:app:tag\"}\n"),
			to:     good,
			checks: []func(*testing.T, error){wantDiag("dev/d.yaml", 2, "disagree on the tag")}},
		{name: "a flow entry that needs a key", from: kust(from, "images:\n- name: a\n  digest: sha256:1\n"),
			to:     kust(to, "images:\n- {name: a, newTag: v1}\n"),
			checks: []func(*testing.T, error){wantDiag(to, 2, "flow style")}},
		{name: "a flow list that needs an entry", from: good, to: kust(to, "images: [{name: b, newTag: v1}]\n"),
			checks: []func(*testing.T, error){wantDiag(to, 1, "flow-style list")}},
		{name: "a flow kustomization that needs images", from: good, to: kust(to, "{resources: [x]}\n"),
			checks: []func(*testing.T, error){wantDiag(to, 1, "flow style")}},
		{name: "a block scalar", from: good, to: kust(to, "images:\n- name: a\n  newTag: |\n    v1\n"),
			checks: []func(*testing.T, error){wantDiag(to, 3, "block scalar"), wantIs(ErrCannotRewrite, "")}},
		{name: "an anchored value", from: good, to: kust(to, "images:\n- name: a\n  newTag: &t v1\nx: *t\n"),
			checks: []func(*testing.T, error){wantDiag(to, 3, "anchored"), wantIs(ErrCannotRewrite, "")}},
		{name: "a removal on the entry's first line",
			from:   good,
			to:     kust(to, "images:\n- digest: sha256:1\n  name: a\n  newTag: v1\n"),
			checks: []func(*testing.T, error){wantDiag(to, 2, "move name: to the first line")}},
		{name: "two versions for one field",
			from: kust(from, "resources: [d.yaml]\n", "dev/d.yaml",
				"a: r/app:v1 # {\"$imagepolicy\": \"ns:one\"}\nb: r/app:v2 # {\"$imagepolicy\": \"ns:two\"}\n"),
			to:     kust(to, "resources: [d.yaml]\n", "test/d.yaml", "image: r/app:v0\n"),
			checks: []func(*testing.T, error){wantDiag("test/d.yaml", 1, "two values")}},
		{name: "a source value with a control character", from: kust(from, "images:\n- name: a\n  newTag: \"v\\t1\"\n"), to: good,
			checks: []func(*testing.T, error){wantDiag(from, 3, "control character")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Plan(tt.from, tt.to, tt.images)
			if err == nil {
				t.Fatalf("Plan succeeded: %+v", r)
			}
			for _, check := range tt.checks {
				check(t, err)
			}
		})
	}
}
