package version

import (
	"runtime/debug"
	"testing"
)

func TestInfoOf(t *testing.T) {
	deps := []*debug.Module{
		{Path: "sigs.k8s.io/kustomize/api", Version: "v0.21.2"},
		{Path: "helm.sh/helm/v4", Version: "v4.3.2"},
		{Path: "k8s.io/client-go", Version: "v0.37.0", Replace: &debug.Module{Path: "k8s.io/client-go", Version: "v0.37.2"}},
	}
	cases := []struct {
		name             string
		linked, commit   string
		main             string
		settings         []debug.BuildSetting
		version, commit2 string
	}{
		{name: "go install @v1.2.3", linked: "dev", main: "v1.2.3", version: "v1.2.3"},
		{name: "a release build", linked: "v1.2.3", commit: "abc", main: "(devel)", version: "v1.2.3", commit2: "abc"},
		{name: "go build in a checkout", linked: "dev", main: "(devel)", settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}}, version: "dev", commit2: "0123abc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i := infoOf(tc.linked, tc.commit, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: tc.main}, Deps: deps, Settings: tc.settings})
			if i.Version != tc.version || i.Commit != tc.commit2 {
				t.Errorf("version %q commit %q, want %q %q", i.Version, i.Commit, tc.version, tc.commit2)
			}
			if i.Kustomize != "v0.21.2" || i.Helm != "v4.3.2" || i.Kubernetes != "v0.37.2" {
				t.Errorf("libraries %+v", i)
			}
		})
	}
	if i := infoOf("dev", "", nil); i.Version != "dev" {
		t.Errorf("no build information: %+v", i)
	}
}
