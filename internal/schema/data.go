package schema

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// readKubernetes decodes the embedded data of one full version. Only its
// kinds are decoded: the definitions are cut out of the text as they
// are (splitObject), each decoded when a kind reaches it, which spares
// every run that validates a few kinds the scan of them all.
func readKubernetes(version string) (*kubernetesFile, error) {
	name := "data/" + kubernetesPrefix + version + dataSuffix
	body, err := readGzip(name)
	if err != nil {
		return nil, err
	}
	top, err := splitObject(body)
	if err != nil {
		return nil, fmt.Errorf("decoding embedded %s: %w", name, err)
	}
	f := &kubernetesFile{}
	if err := json.Unmarshal(top["kubernetesVersion"], &f.KubernetesVersion); err != nil {
		return nil, fmt.Errorf("decoding embedded %s: %w", name, err)
	}
	if err := json.Unmarshal(top["kinds"], &f.Kinds); err != nil {
		return nil, fmt.Errorf("decoding embedded %s: %w", name, err)
	}
	if f.Definitions, err = splitObject(top["definitions"]); err != nil {
		return nil, fmt.Errorf("decoding embedded %s: definitions: %w", name, err)
	}
	return f, nil
}

// splitObject cuts a JSON object into its members' values, as
// json.Unmarshal into a map of json.RawMessage does but without checking
// or copying them: it is for the embedded data, which hack/schemas wrote
// with encoding/json and the tests decode whole. Keys are read as they
// are written, without escapes.
func splitObject(data []byte) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, fmt.Errorf("not an object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return out, nil
	}
	for i < len(data) {
		end := valueEnd(data, i)
		if data[i] != '"' || end < 0 {
			return nil, fmt.Errorf("a key at byte %d is not a string", i)
		}
		key := string(data[i+1 : end-1])
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, fmt.Errorf("no colon after key %q", key)
		}
		i = skipSpace(data, i+1)
		end = valueEnd(data, i)
		if end <= i {
			return nil, fmt.Errorf("the value of %q does not end", key)
		}
		out[key] = data[i:end:end]
		i = skipSpace(data, end)
		if i < len(data) && data[i] == '}' {
			return out, nil
		}
		if i >= len(data) || data[i] != ',' {
			return nil, fmt.Errorf("no comma after the value of %q", key)
		}
		i = skipSpace(data, i+1)
	}
	return nil, fmt.Errorf("the object does not end")
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value at data[i:], or -1: past
// the closing quote of a string, past the bracket closing an object or
// array, or at the delimiter after a number or literal.
func valueEnd(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				end := stringEnd(data, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for i < len(data) && strings.IndexByte(",:}] \t\n\r", data[i]) < 0 {
		i++
	}
	return i
}

// stringEnd returns the end of the JSON string at data[i:], past its
// closing quote, or -1.
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
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
	body, err := readGzip(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding embedded %s: %w", name, err)
	}
	return nil
}

// readGzip returns an embedded file's content, decompressed.
func readGzip(name string) ([]byte, error) {
	raw, err := dataFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decompressing embedded %s: %w", name, err)
	}
	// Sized once from the size gzip's trailer records (modulo 4 GiB),
	// with room for the read that meets the end: grown as it fills, the
	// buffer would be copied some ten times, a tenth of a validating
	// run's start on fresh memory.
	var body bytes.Buffer
	if len(raw) >= 4 {
		body.Grow(int(binary.LittleEndian.Uint32(raw[len(raw)-4:])) + bytes.MinRead)
	}
	if _, err := body.ReadFrom(zr); err != nil {
		return nil, fmt.Errorf("decompressing embedded %s: %w", name, err)
	}
	return body.Bytes(), nil
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
