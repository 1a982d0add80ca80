package plugin

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// TestReportFailuresNotesOnce checks that an object several roots or
// clusters leave unrendered, for the same reason, is noted once, and that
// each failed root is still named.
func TestReportFailuresNotesOnce(t *testing.T) {
	suspended := &render.Release{Namespace: "media", Name: "plex", File: "apps/plex/helmrelease.yaml", Line: 3, Unchecked: "spec.suspend is set: helm-controller does not reconcile it"}
	set := render.Unrendered{Kind: "ResourceSet", Namespace: "flux-system", Name: "apps", File: "apps/set.yaml", Line: 1, Reason: "its inputs come from a provider"}
	results := []*render.Result{
		{Root: render.Root{Path: "clusters/prod"}, Releases: []*render.Release{suspended}, Unrendered: []render.Unrendered{set}},
		{Root: render.Root{Path: "clusters/staging"}, Releases: []*render.Release{suspended}, Unrendered: []render.Unrendered{set}},
		{Root: render.Root{Path: "apps/a"}, Err: errors.New("resource \"x.yaml\" not found")},
		{Root: render.Root{Path: "apps/b"}, Err: errors.New("resource \"x.yaml\" not found")},
	}
	var out strings.Builder
	err := reportFailures(&out, results)
	if err == nil || err.Error() != "2 of 4 roots did not render" {
		t.Errorf("error %v", err)
	}
	want := `note: ResourceSet flux-system/apps (apps/set.yaml:1) is not rendered: its inputs come from a provider
note: HelmRelease media/plex (apps/plex/helmrelease.yaml:3) is not rendered: spec.suspend is set: helm-controller does not reconcile it
error: apps/a: resource "x.yaml" not found
error: apps/b: resource "x.yaml" not found
`
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
