package schema

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// dataFS holds the files that hack/schemas writes: kubernetes-vX.Y.Z.json.gz
// for each Kubernetes version and flux-vX.Y.Z.json.gz for the Flux release.
//
//go:embed data/*.json.gz
var dataFS embed.FS

// kubernetesFile is the embedded data of one Kubernetes version, as
// hack/schemas writes it.
type kubernetesFile struct {
	KubernetesVersion string                     `json:"kubernetesVersion"`
	Kinds             []kindEntry                `json:"kinds"`
	Definitions       map[string]json.RawMessage `json:"definitions"`
}

// kindEntry is one creatable built-in kind.
type kindEntry struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
	Definition string `json:"definition"`
}

// fluxFile is the embedded data of one Flux release.
type fluxFile struct {
	FluxVersion string            `json:"fluxVersion"`
	CRDs        []json.RawMessage `json:"crds"`
}

const (
	kubernetesPrefix = "kubernetes-"
	fluxPrefix       = "flux-"
	dataSuffix       = ".json.gz"
)

// embeddedVersions returns the full versions ("v1.37.2") of the embedded
// Kubernetes data, oldest first.
func embeddedVersions() []string {
	entries, err := fs.ReadDir(dataFS, "data")
	if err != nil {
		return nil // cannot happen: the folder is embedded
	}
	var versions []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, kubernetesPrefix) && strings.HasSuffix(name, dataSuffix) {
			versions = append(versions, strings.TrimSuffix(strings.TrimPrefix(name, kubernetesPrefix), dataSuffix))
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	return versions
}

// embeddedFluxVersion returns the version of the embedded Flux data.
func embeddedFluxVersion() (string, error) {
	entries, err := fs.ReadDir(dataFS, "data")
	if err != nil {
		return "", fmt.Errorf("reading embedded schema data: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, fluxPrefix) && strings.HasSuffix(name, dataSuffix) {
			return strings.TrimSuffix(strings.TrimPrefix(name, fluxPrefix), dataSuffix), nil
		}
	}
	return "", fmt.Errorf("no embedded Flux schema data")
}

// readKubernetes decodes the embedded data of one full version.
func readKubernetes(version string) (*kubernetesFile, error) {
	var f kubernetesFile
	if err := readGzipJSON("data/"+kubernetesPrefix+version+dataSuffix, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// readFlux decodes the embedded Flux data.
func readFlux() (*fluxFile, error) {
	version, err := embeddedFluxVersion()
	if err != nil {
		return nil, err
	}
	var f fluxFile
	if err := readGzipJSON("data/"+fluxPrefix+version+dataSuffix, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func readGzipJSON(name string, v any) error {
	raw, err := dataFS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading embedded %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decompressing embedded %s: %w", name, err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("decompressing embedded %s: %w", name, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding embedded %s: %w", name, err)
	}
	return nil
}

// parseVersion reads "v1.37.2", "1.37" or "v1.37" into its numbers; patch
// is -1 when absent.
func parseVersion(s string) (major, minor, patch int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	nums := []int{0, 0, -1}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], true
}

// versionLess orders full versions numerically.
func versionLess(a, b string) bool {
	am, an, ap, _ := parseVersion(a)
	bm, bn, bp, _ := parseVersion(b)
	if am != bm {
		return am < bm
	}
	if an != bn {
		return an < bn
	}
	return ap < bp
}
