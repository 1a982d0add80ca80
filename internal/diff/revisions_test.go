package diff

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// TestUnrenderedReleases: a HelmRelease rendered on one side only is left
// out on both and named; one rendered on neither is named; a root that
// did not render on the base leaves nothing out.
func TestUnrenderedReleases(t *testing.T) {
	rendered := func(name string) *render.Release { return &render.Release{Namespace: "apps", Name: name} }
	offline := func(name string) *render.Release {
		return &render.Release{Namespace: "apps", Name: name, Unchecked: "the chart is not cached (--offline)"}
	}
	broken := func(name string) *render.Release {
		return &render.Release{Namespace: "apps", Name: name, Err: errors.New(`no version matches "9.x"`)}
	}
	for _, tc := range []struct {
		name       string
		base, head *render.Result
		left       map[string]bool
		unrendered []Unrendered
	}{
		{
			name: "rendered on both",
			base: &render.Result{Releases: []*render.Release{rendered("web")}},
			head: &render.Result{Releases: []*render.Release{rendered("web")}},
			left: map[string]bool{},
		},
		{
			name:       "not on the head",
			base:       &render.Result{Releases: []*render.Release{rendered("web"), rendered("db")}},
			head:       &render.Result{Releases: []*render.Release{broken("web"), rendered("db")}},
			left:       map[string]bool{"apps/web": true},
			unrendered: []Unrendered{{HelmRelease: "apps/web", Side: "head", Reason: `no version matches "9.x"`}},
		},
		{
			name:       "not on the base",
			base:       &render.Result{Releases: []*render.Release{offline("web")}},
			head:       &render.Result{Releases: []*render.Release{rendered("web")}},
			left:       map[string]bool{"apps/web": true},
			unrendered: []Unrendered{{HelmRelease: "apps/web", Side: "base", Reason: "the chart is not cached (--offline)"}},
		},
		{
			name:       "on neither",
			base:       &render.Result{Releases: []*render.Release{offline("web")}},
			head:       &render.Result{Releases: []*render.Release{offline("web")}},
			left:       map[string]bool{},
			unrendered: []Unrendered{{HelmRelease: "apps/web", Side: "both", Reason: "the chart is not cached (--offline)"}},
		},
		{
			name:       "new on the head, not rendered",
			base:       &render.Result{},
			head:       &render.Result{Releases: []*render.Release{offline("web")}},
			left:       map[string]bool{},
			unrendered: []Unrendered{{HelmRelease: "apps/web", Side: "head", Reason: "the chart is not cached (--offline)"}},
		},
		{
			name:       "the base did not render",
			base:       &render.Result{Err: errors.New("no kustomization"), Releases: []*render.Release{rendered("web")}},
			head:       &render.Result{Releases: []*render.Release{offline("web")}},
			left:       map[string]bool{},
			unrendered: []Unrendered{{HelmRelease: "apps/web", Side: "head", Reason: "the chart is not cached (--offline)"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			left, unrendered := unrenderedReleases(tc.base, tc.head)
			if diff := cmp.Diff(tc.left, left); diff != "" {
				t.Errorf("left out (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.unrendered, unrendered); diff != "" {
				t.Errorf("named (-want +got):\n%s", diff)
			}
			if want := tc.name != "rendered on both" && tc.name != "on neither"; (oneSided(unrendered) > 0) != want {
				t.Errorf("oneSided = %d, want one-sided releases: %v", oneSided(unrendered), want)
			}
		})
	}
}
