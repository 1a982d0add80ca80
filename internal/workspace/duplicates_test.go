package workspace

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// TestChangeFindsDuplicates: two Kustomizations of the prod cluster, and
// one of staging, apply team folders. A change that makes one of prod's
// apply the ConfigMap the other applies is a duplicate-object error in the
// check of that change alone (the hook, the pull-request bot), whichever
// of the two comes first; staging applying the same ConfigMap is no
// duplicate; and the shards of a split find it exactly once, as the whole.
func TestChangeFindsDuplicates(t *testing.T) {
	ks := func(name, cluster, path string) []byte {
		return []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ` + name + `, namespace: flux-system}
spec: {interval: 10m, path: ` + path + `, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`)
	}
	sync := func(cluster string) []byte {
		return []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, ref: {branch: main}, url: "https://example.com/fleet.git"}
---
` + string(ks("flux-system", cluster, "./clusters/"+cluster)))
	}
	cm := func(name, team string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {team: " + team + "}\n")
	}
	files := map[string][]byte{
		"clusters/prod/flux-system/gotk-sync.yaml":    sync("prod"),
		"clusters/prod/team-a.yaml":                   ks("team-a", "prod", "./teams/a"),
		"clusters/prod/team-b.yaml":                   ks("team-b", "prod", "./teams/b"),
		"clusters/staging/flux-system/gotk-sync.yaml": sync("staging"),
		"clusters/staging/team-b.yaml":                ks("team-b", "staging", "./teams/b"),
		"teams/a/kustomization.yaml":                  []byte("namespace: team\nresources: [cm.yaml]\n"),
		"teams/a/cm.yaml":                             cm("settings-a", "a"),
		"teams/b/kustomization.yaml":                  []byte("namespace: team\nresources: [cm.yaml]\n"),
		"teams/b/cm.yaml":                             cm("settings-b", "b"),
	}
	g := gittest.Init(t, t.TempDir())
	g.CommitFiles(t, "import", files)
	duplicates := func(findingsJSON string) []string {
		var fs []validate.Finding
		if err := json.Unmarshal([]byte(findingsJSON), &fs); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			if f.Rule == "duplicate-object" {
				out = append(out, f.File+": "+f.Message)
			}
		}
		return out
	}
	for _, tc := range []struct{ file, from, to, want string }{
		{"teams/b/cm.yaml", "settings-b", "settings-a", "teams/b/cm.yaml: v1/ConfigMap/team/settings-a is applied by Kustomization flux-system/team-b and also by Kustomization flux-system/team-a, which render it differently: they would fight over it"},
		{"teams/a/cm.yaml", "settings-a", "settings-b", "teams/a/cm.yaml: v1/ConfigMap/team/settings-b is applied by Kustomization flux-system/team-a and also by Kustomization flux-system/team-b, which render it differently: they would fight over it"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(g.Dir, filepath.FromSlash(tc.file))
			if err := os.WriteFile(p, []byte(strings.Replace(string(files[tc.file]), tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, files[tc.file], 0o644)
			for _, all := range []bool{false, true} {
				got := duplicates(findingsOf(t, g.Dir, tc.file, all))
				if len(got) != 1 || got[0] != tc.want {
					t.Errorf("rendering every root %v: duplicate-object findings %q, want %q", all, got, tc.want)
				}
			}
			check := func(s Scope) *validate.Report { return checkScope(t, g.Dir, s) }
			whole := duplicates(findingsJSON(t, check(Scope{All: true})))
			for n := 2; n <= 3; n++ {
				var parts []*validate.Report
				for i := 1; i <= n; i++ {
					parts = append(parts, check(Scope{All: true, Shard: render.Shard{I: i, N: n}}))
				}
				if got := duplicates(findingsJSON(t, validate.Merge(parts...))); strings.Join(got, "\n") != strings.Join(whole, "\n") || len(whole) != 1 {
					t.Errorf("%d shards find %q, the whole %q", n, got, whole)
				}
			}
		})
	}
}

// TestSharedObjectShards: four Kustomizations of a cluster apply one
// ConfigMap from four folders. The whole check reports it once, at the
// last, naming the other three; the shards of every split report it
// exactly so, once between them.
func TestSharedObjectShards(t *testing.T) {
	files := map[string][]byte{}
	for _, team := range []string{"a", "b", "c", "d"} {
		files["clusters/prod/team-"+team+".yaml"] = []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: team-" + team + ", namespace: flux-system}\n" +
			"spec: {interval: 10m, path: ./teams/" + team + ", prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n")
		files["teams/"+team+"/kustomization.yaml"] = []byte("resources: [cm.yaml]\n")
		files["teams/"+team+"/cm.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: team}\ndata: {owner: platform}\n")
	}
	g := fleetRepo(t, files)
	duplicates := func(r *validate.Report) []string {
		var out []string
		for _, f := range r.Findings {
			if f.Rule == "duplicate-object" {
				out = append(out, f.File+": "+f.Message)
			}
		}
		return out
	}
	check := func(s Scope) *validate.Report { return checkScope(t, g.Dir, s) }
	whole := duplicates(check(Scope{All: true}))
	want := "teams/d/cm.yaml: v1/ConfigMap/team/shared is applied by Kustomization flux-system/team-d and also by Kustomizations flux-system/team-a, flux-system/team-b and flux-system/team-c, alike but for labels and annotations"
	if len(whole) != 1 || !strings.HasPrefix(whole[0], want) {
		t.Fatalf("the whole finds %q, want one starting %q", whole, want)
	}
	for n := 2; n <= 4; n++ {
		var parts []*validate.Report
		for i := 1; i <= n; i++ {
			parts = append(parts, check(Scope{All: true, Shard: render.Shard{I: i, N: n}}))
		}
		if got := duplicates(validate.Merge(parts...)); strings.Join(got, "\n") != strings.Join(whole, "\n") {
			t.Errorf("%d shards find %q, the whole %q", n, got, whole)
		}
	}
}

func findingsJSON(t *testing.T, r *validate.Report) string {
	t.Helper()
	data, err := json.Marshal(r.Findings)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestKeptAnswersFollowChanges: the hook keeps, between runs, whether
// each Kustomization of a cluster may apply what the changed root
// applies. A later run where another root's files changed asks again: a
// change of one team's ConfigMap checked alone, then again once the other
// team's folder was edited to apply the same ConfigMap, finds the
// duplicate the second time, as a run without a cache does.
func TestKeptAnswersFollowChanges(t *testing.T) {
	ks := func(name, path string) []byte {
		return []byte("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: " + name + ", namespace: flux-system}\n" +
			"spec: {interval: 10m, path: " + path + ", prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n")
	}
	cm := func(name, team string) []byte {
		return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {team: " + team + "}\n")
	}
	g := fleetRepo(t, map[string][]byte{
		"clusters/prod/team-a.yaml":  ks("team-a", "./teams/a"),
		"clusters/prod/team-b.yaml":  ks("team-b", "./teams/b"),
		"teams/a/kustomization.yaml": []byte("namespace: team\nresources: [cm.yaml]\n"),
		"teams/a/cm.yaml":            cm("settings-a", "a"),
		"teams/b/kustomization.yaml": []byte("namespace: team\nresources: [cm.yaml]\n"),
		"teams/b/cm.yaml":            cm("settings-b", "b"),
	})
	t.Setenv("GITOPS_CACHE_DIR", t.TempDir())
	check := func() []string {
		w, err := Open(Options{Dir: g.Dir, Jobs: 2, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		tree, err := w.Repo.Tree("")
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.Check(context.Background(), tree, Scope{Files: []string{"teams/a/cm.yaml"}}, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range r.Findings {
			if f.Rule == "duplicate-object" {
				out = append(out, f.File+": "+f.Message)
			}
		}
		return out
	}
	write := func(file string, data []byte) {
		if err := os.WriteFile(filepath.Join(g.Dir, filepath.FromSlash(file)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("teams/a/cm.yaml", cm("settings-a", "a2"))
	if got := check(); len(got) != 0 {
		t.Fatalf("before team b's edit: duplicates %q", got)
	}
	w, err := Open(Options{Dir: g.Dir, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.openAnswers().Len(); n == 0 {
		t.Fatal("the check kept no answer")
	}
	write("teams/b/cm.yaml", cm("settings-a", "b"))
	want := "teams/a/cm.yaml: v1/ConfigMap/team/settings-a is applied by Kustomization flux-system/team-a and also by Kustomization flux-system/team-b, which render it differently: they would fight over it"
	if got := check(); len(got) != 1 || got[0] != want {
		t.Errorf("after team b's edit: duplicates %q, want %q", got, []string{want})
	}
}
