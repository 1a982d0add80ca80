package ci

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDetect(t *testing.T) {
	event := map[string][]byte{"/event.json": []byte(`{"action":"synchronize","number":7,"pull_request":{"number":7}}`)}
	read := func(p string) ([]byte, error) {
		if d, ok := event[p]; ok {
			return d, nil
		}
		return nil, errors.New("no such file")
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Job
		ok   bool
	}{
		{name: "not CI", env: map[string]string{}},
		{
			name: "GitHub Actions pull request",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "org/fleet", "GITHUB_EVENT_PATH": "/event.json", "GITHUB_BASE_REF": "main", "GITHUB_SERVER_URL": "https://github.com"},
			want: Job{Provider: "github", Server: "https://github.com", Repo: "org/fleet", PR: 7, Base: "main"}, ok: true,
		},
		{
			name: "Gitea Actions, number from the ref",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_REPOSITORY": "org/fleet", "GITHUB_REF": "refs/pull/12/merge", "GITHUB_SERVER_URL": "https://gitea.example.com"},
			want: Job{Provider: "gitea", Server: "https://gitea.example.com", Repo: "org/fleet", PR: 12}, ok: true,
		},
		{
			name: "GitLab merge request",
			env:  map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "group/sub/fleet", "CI_MERGE_REQUEST_IID": "3", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"},
			want: Job{Provider: "gitlab", Server: "https://gitlab.example.com", Repo: "group/sub/fleet", PR: 3, Base: "main"}, ok: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Detect(func(k string) string { return tc.env[k] }, read)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func body(i int, text string) string { return Marker + "\n" + partMarker(i) + "\n" + text }

func TestPlan(t *testing.T) {
	someone := Existing{ID: "9", Body: "LGTM"}
	for _, tc := range []struct {
		name     string
		existing []Existing
		parts    []string
		want     []Action
	}{
		{name: "first run", existing: []Existing{someone}, parts: []string{"a"}, want: []Action{{Op: "create", Body: body(1, "a")}}},
		{name: "same again", existing: []Existing{someone, {ID: "1", Body: body(1, "a")}}, parts: []string{"a"}},
		{name: "edited in place", existing: []Existing{{ID: "1", Body: body(1, "a")}, someone}, parts: []string{"b"}, want: []Action{{Op: "edit", ID: "1", Body: body(1, "b")}}},
		{
			name:     "grows into parts",
			existing: []Existing{{ID: "1", Body: body(1, "a")}},
			parts:    []string{"b1", "b2", "b3"},
			want:     []Action{{Op: "edit", ID: "1", Body: body(1, "b1")}, {Op: "create", Body: body(2, "b2")}, {Op: "create", Body: body(3, "b3")}},
		},
		{
			name:     "shrinks: extra parts deleted",
			existing: []Existing{{ID: "1", Body: body(1, "a")}, {ID: "2", Body: body(2, "b")}, {ID: "3", Body: body(3, "c")}},
			parts:    []string{"x"},
			want:     []Action{{Op: "edit", ID: "1", Body: body(1, "x")}, {Op: "delete", ID: "2"}, {Op: "delete", ID: "3"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Plan(tc.existing, tc.parts)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
