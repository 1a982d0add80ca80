// Package version tells which build of kubectl-gitops is running and which
// versions of the libraries that decide its output are built in.
package version

import (
	"os"
	"runtime/debug"
	"strconv"
)

// Set at link time: -X github.com/kubectl-gitops/kubectl-gitops/internal/version.version=v0.1.0
var (
	version = "dev"
	commit  = ""
)

// Info describes this build.
type Info struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	GoVersion  string `json:"goVersion"`
	Kustomize  string `json:"kustomize"`
	Kubernetes string `json:"kubernetes"`
	Flux       string `json:"fluxKustomizeController"`
	Helm       string `json:"helm"`
}

// Get returns this build's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return infoOf(version, commit, bi)
}

// infoOf is the Info of a build linked with version and commit, whose
// build information is bi (nil when there is none). A build `go install
// …@vX` made carries no linked version: its module's version, vX, is
// taken; and a build from a Git checkout, its commit.
func infoOf(version, commit string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit}
	if bi == nil {
		return info
	}
	if info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Commit = s.Value
			}
		}
	}
	info.GoVersion = bi.GoVersion
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		switch d.Path {
		case "sigs.k8s.io/kustomize/api":
			info.Kustomize = d.Version
		case "k8s.io/client-go":
			info.Kubernetes = d.Version
		case "github.com/fluxcd/kustomize-controller/api":
			info.Flux = d.Version
		case "helm.sh/helm/v4":
			info.Helm = d.Version
		}
	}
	return info
}

// CacheSalt distinguishes this build's cached results from another build's.
// A development build, which carries no version, is told apart by its
// executable's size and modification time.
func CacheSalt() string {
	i := Get()
	salt := i.Version + "/" + i.Commit + "/" + i.Kustomize + "/" + i.Flux + "/" + i.Helm
	if i.Version != "dev" {
		return salt
	}
	exe, err := os.Executable()
	if err != nil {
		return salt
	}
	st, err := os.Stat(exe)
	if err != nil {
		return salt
	}
	return salt + "/" + strconv.FormatInt(st.Size(), 10) + "/" + strconv.FormatInt(st.ModTime().UnixNano(), 10)
}
