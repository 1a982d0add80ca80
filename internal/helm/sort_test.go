package helm

import (
	"reflect"
	"testing"

	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// FuzzSortManifests holds sortManifests to Helm's SortManifests on two
// template files: the same hooks, manifests, heads and order, or an
// error on both sides with the same message; and each manifest's objects
// as parsing it under its "# Source:" comment gives them.
func FuzzSortManifests(f *testing.F) {
	seeds := [][2]string{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 2\n", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"},
		{"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install, Post-Upgrade\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n", "kind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test-success, helm.sh/hook-output-log-policy: hook-failed}\n"},
		{"kind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: not-an-event}\n", "kind: ConfigMap\nmetadata:\n  name: a\n  annotations: {scrape: true}\n"},
		{"kind: ConfigMap\nmetadata:\n  name: yes\n  annotations: {a: on, b: 1.0, c: ~, d: '', e: \"x\"}\n", "Kind: ConfigMap\nmetadata: {Name: b}\n---\nkind: Secret\nkind: ConfigMap\n"},
		{"kind: List\napiVersion: v1\nitems:\n- kind: ConfigMap\n  metadata: {name: a}\n", "kind: ConfigMap\nmetadata: &m {name: a}\nother: *m\n"},
		{"kind: ConfigMap\ndata: {a: .inf, b: -Infinity, c: 1e3, d: !!binary aGk=}\n", "kind: ConfigMap\n? [a]\n: b\n"},
		{"# only a comment\n", "kind: [\n---\nkind: ConfigMap\n"},
		{"kind: ConfigMap\nmetadata: x\n", "kind: 12\nmetadata: {name: 1_000}\n---\n<<: {kind: Secret}\n"},
		{"apiVersion: v1\nkind: CustomThing\nmetadata:\n  name: z\n---\nkind: AnotherThing\n---\nkind: ServiceAccount\n", "kind: |\n  Secret\nmetadata:\n  name: >-\n    folded\n    name\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		files := map[string]string{"app/templates/a.yaml": a, "app/templates/b.yaml": b}
		wantHooks, wantManifests, wantErr := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
		hooks, manifests, objects, err := sortManifests(files)
		if (err != nil) != (wantErr != nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("error %v, Helm's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(hooks, wantHooks) {
			t.Errorf("hooks %+v, Helm's %+v", hooks, wantHooks)
		}
		if !reflect.DeepEqual(manifests, wantManifests) {
			t.Errorf("manifests %+v, Helm's %+v", manifests, wantManifests)
		}
		for i, m := range manifests {
			want, wantErr := parseObjects("# Source: " + m.Name + "\n" + m.Content)
			if got := objects[i]; (got.err != nil) != (wantErr != nil) || string(printed(t, got.objects)) != string(printed(t, want)) {
				t.Errorf("manifest %d's objects %q (%v), parsed alone %q (%v)", i, printed(t, got.objects), got.err, printed(t, want), wantErr)
			}
		}
	})
}
