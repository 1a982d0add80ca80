package diff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	sigsyaml "sigs.k8s.io/yaml"
)

func objs(t *testing.T, docs ...string) []Object {
	t.Helper()
	var out []Object
	for _, d := range docs {
		var o Object
		if err := sigsyaml.Unmarshal([]byte(d), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func cmOf(name, v string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: shop\ndata:\n  a: \"" + v + "\"\n"
}

func TestObjects(t *testing.T) {
	deploy := func(replicas, image string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: " + replicas + "\n  template:\n    spec:\n      containers:\n      - name: web\n        image: " + image + "\n"
	}
	for _, tc := range []struct {
		name       string
		base, head []string
		opts       Options
		want       []Change
	}{
		{
			name: "no change",
			base: []string{deploy("1", "nginx:1")}, head: []string{deploy("1", "nginx:1")},
		},
		{
			name: "changed field",
			base: []string{deploy("1", "nginx:1")}, head: []string{deploy("1", "nginx:2")},
			want: []Change{{Object: "apps/v1/Deployment/shop/web", Action: Changed, Diff: "--- base/apps/v1/Deployment/shop/web\n+++ head/apps/v1/Deployment/shop/web\n@@ -8,5 +8,5 @@\n   template:\n     spec:\n       containers:\n-      - image: nginx:1\n+      - image: nginx:2\n         name: web\n"}},
		},
		{
			name: "ignored field",
			base: []string{deploy("1", "nginx:1")}, head: []string{deploy("3", "nginx:1")},
			opts: Options{Ignore: []string{"/spec/replicas"}},
		},
		{
			name: "status and generation are noise",
			base: []string{deploy("1", "nginx:1") + "status:\n  readyReplicas: 1\n"}, head: []string{deploy("1", "nginx:1")},
		},
		{
			name: "added and removed",
			base: []string{cmOf("old", "x")}, head: []string{cmOf("new", "x")},
			want: []Change{
				{Object: "v1/ConfigMap/shop/new", Action: Added, Diff: "--- /dev/null\n+++ head/v1/ConfigMap/shop/new\n@@ -0,0 +1,7 @@\n+apiVersion: v1\n+data:\n+  a: x\n+kind: ConfigMap\n+metadata:\n+  name: new\n+  namespace: shop\n"},
				{Object: "v1/ConfigMap/shop/old", Action: Removed, Diff: "--- base/v1/ConfigMap/shop/old\n+++ /dev/null\n@@ -1,7 +0,0 @@\n-apiVersion: v1\n-data:\n-  a: x\n-kind: ConfigMap\n-metadata:\n-  name: old\n-  namespace: shop\n"},
			},
		},
		{
			name: "generated ConfigMap with a new hash is a rename",
			base: []string{cmOf("settings-5m4gb2c9kf", "x")}, head: []string{cmOf("settings-t2h7c6f5d8", "y")},
			want: []Change{{Object: "v1/ConfigMap/shop/settings-t2h7c6f5d8", Action: Changed, From: "settings-5m4gb2c9kf",
				Diff: "--- base/v1/ConfigMap/shop/settings-t2h7c6f5d8\n+++ head/v1/ConfigMap/shop/settings-t2h7c6f5d8\n@@ -1,7 +1,7 @@\n apiVersion: v1\n data:\n-  a: x\n+  a: \"y\"\n kind: ConfigMap\n metadata:\n-  name: settings-5m4gb2c9kf\n+  name: settings-t2h7c6f5d8\n   namespace: shop\n"}},
		},
		{
			name: "Secret values are masked, keys named",
			base: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  kept: c2FtZQ==\n  changed: b2xk\n  gone: Ynll\n"},
			head: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  kept: c2FtZQ==\n  changed: bmV3\n  added: aGk=\n"},
			want: []Change{{Object: "v1/Secret/db", Action: Changed, Diff: "--- base/v1/Secret/db\n+++ head/v1/Secret/db\n@@ -1,7 +1,7 @@\n apiVersion: v1\n data:\n-  changed: '*** (before)'\n-  gone: '***'\n+  added: '***'\n+  changed: '*** (after)'\n   kept: '***'\n kind: Secret\n metadata:\n"}},
		},
		{
			name: "SOPS values the same",
			base: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  k: ENC[AES256_GCM,data:a]\nsops:\n  mac: x\n"},
			head: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  k: ENC[AES256_GCM,data:a]\nsops:\n  mac: x\n"},
		},
		{
			name: "SOPS ciphertext changed",
			base: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  k: ENC[AES256_GCM,data:a]\nsops:\n  mac: x\n"},
			head: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  k: ENC[AES256_GCM,data:b]\nsops:\n  mac: y\n"},
			want: []Change{{Object: "v1/Secret/db", Action: Changed, Diff: "--- base/v1/Secret/db\n+++ head/v1/Secret/db\n@@ -1,7 +1,7 @@\n apiVersion: v1\n data:\n-  k: '**SOPS** (before)'\n+  k: '**SOPS** (encrypted value changed)'\n kind: Secret\n metadata:\n   name: db\n-sops: '**SOPS** (before)'\n+sops: '**SOPS** (encrypted value changed)'\n"}},
		},
		{
			name: "a plain value beside SOPS ones",
			base: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  user: CANARY-1\n  k: ENC[AES256_GCM,data:a]\nsops:\n  mac: x\n"},
			head: []string{"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  user: CANARY-2\n  k: ENC[AES256_GCM,data:a]\nsops:\n  mac: x\n"},
			want: []Change{{Object: "v1/Secret/db", Action: Changed, Diff: "--- base/v1/Secret/db\n+++ head/v1/Secret/db\n@@ -5,4 +5,4 @@\n sops: '**SOPS**'\n stringData:\n   k: '**SOPS**'\n-  user: '*** (before)'\n+  user: '*** (after)'\n"}},
		},
		{
			name: "substituted secret values are masked anywhere",
			base: []string{cmOf("app", "password=hunter2")}, head: []string{cmOf("app", "password=hunter3")},
			opts: Options{Secrets: []string{"hunter2", "hunter3"}},
			want: []Change{{Object: "v1/ConfigMap/shop/app", Action: Changed, Diff: "--- base/v1/ConfigMap/shop/app\n+++ head/v1/ConfigMap/shop/app\n@@ -1,6 +1,6 @@\n apiVersion: v1\n data:\n-  a: password=***\n+  a: password=***\n kind: ConfigMap\n metadata:\n   name: app\n"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Objects(objs(t, tc.base...), objs(t, tc.head...), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnifiedHunks(t *testing.T) {
	var before, after strings.Builder
	for i := 1; i <= 30; i++ {
		before.WriteString("line " + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "\n")
	}
	lines := strings.Split(before.String(), "\n")
	lines[4] = "changed near the top"
	lines[25] = "changed near the end"
	after.WriteString(strings.Join(lines, "\n"))
	got := Unified(before.String(), after.String(), "x", 3)
	if n := strings.Count(got, "@@ -"); n != 2 {
		t.Errorf("%d hunks, want 2:\n%s", n, got)
	}
	if !strings.Contains(got, "@@ -2,7 +2,7 @@\n") || !strings.Contains(got, "@@ -23,7 +23,7 @@\n") {
		t.Errorf("hunk headers:\n%s", got)
	}
}

// TestMarkdownSplits: a diff too long for one comment comes in numbered
// parts, each under the limit, holding every line of every change.
func TestMarkdownSplits(t *testing.T) {
	var diffs []RootDiff
	for r := 0; r < 6; r++ {
		d := RootDiff{Path: "apps/root-" + string(rune('a'+r))}
		for c := 0; c < 40; c++ {
			body := strings.Repeat("+  line of a large change\n", 30+c)
			d.Changes = append(d.Changes, Change{Object: "v1/ConfigMap/ns/cm-" + string(rune('a'+c%26)) + string(rune('a'+c/26)), Action: Added,
				Diff: "--- /dev/null\n+++ head/x\n" + body})
		}
		diffs = append(diffs, d)
	}
	// One change larger than a whole part.
	diffs[0].Changes[0].Diff = "--- /dev/null\n+++ head/x\n" + strings.Repeat("+  a very long change\n", 6000)
	const limit = 20000
	parts := Markdown(diffs, "kubectl gitops diff", limit)
	if len(parts) < 5 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	var all strings.Builder
	for i, p := range parts {
		if len(p) > limit {
			t.Errorf("part %d has %d characters, over %d", i+1, len(p), limit)
		}
		if want := "_Part " + fmt.Sprint(i+1) + " of " + fmt.Sprint(len(parts)) + "_"; !strings.HasPrefix(p, want) {
			t.Errorf("part %d starts %q", i+1, p[:min(40, len(p))])
		}
		if strings.Count(p, "<details>") != strings.Count(p, "</details>") || strings.Count(p, "```")%2 != 0 {
			t.Errorf("part %d leaves a section or fence open", i+1)
		}
		all.WriteString(p)
	}
	for _, d := range diffs {
		for _, c := range d.Changes {
			if got, want := strings.Count(all.String(), "a very long change"), 6000; c.Diff == diffs[0].Changes[0].Diff && got != want {
				t.Errorf("the large change has %d of its %d lines across the parts", got, want)
			}
		}
	}
	if got, want := strings.Count(all.String(), "line of a large change"), countLines(diffs, "line of a large change"); got != want {
		t.Errorf("%d lines across the parts, want %d", got, want)
	}
}

func countLines(diffs []RootDiff, s string) int {
	n := 0
	for _, d := range diffs {
		for _, c := range d.Changes {
			n += strings.Count(c.Diff, s)
		}
	}
	return n
}

func TestWithoutCommon(t *testing.T) {
	docs := func(texts ...string) []manifest.Doc {
		var out []manifest.Doc
		for _, s := range texts {
			out = append(out, manifest.Doc{Text: []byte(s)})
		}
		return out
	}
	texts := func(ds []manifest.Doc) []string {
		var out []string
		for _, d := range ds {
			out = append(out, string(d.Text))
		}
		return out
	}
	for _, tc := range []struct {
		before, after         []string
		wantBefore, wantAfter []string
	}{
		{nil, nil, nil, nil},
		{[]string{"a"}, []string{"a"}, nil, nil},
		{[]string{"a", "b"}, []string{"c"}, []string{"a", "b"}, []string{"c"}},
		{[]string{"a", "b", "b", "c"}, []string{"b", "c", "d"}, []string{"a", "b"}, []string{"d"}},
		{[]string{"x: 1"}, []string{"x: 2", "x: 1", "x: 1"}, nil, []string{"x: 2", "x: 1"}},
	} {
		b, a := withoutCommon(docs(tc.before...), docs(tc.after...))
		if diff := cmp.Diff(tc.wantBefore, texts(b)); diff != "" {
			t.Errorf("%q -> %q: before (-want +got):\n%s", tc.before, tc.after, diff)
		}
		if diff := cmp.Diff(tc.wantAfter, texts(a)); diff != "" {
			t.Errorf("%q -> %q: after (-want +got):\n%s", tc.before, tc.after, diff)
		}
	}
}
