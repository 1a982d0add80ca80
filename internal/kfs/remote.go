package kfs

import (
	"bytes"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// IsKustomizationFile tells whether the file at rel is a kustomization file
// by its name, as kustomize recognizes them.
func IsKustomizationFile(rel string) bool {
	base := path.Base(rel)
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if base == n {
			return true
		}
	}
	return false
}

// FindRemote returns the first remote reference in a kustomization file's
// resources, bases or components, or a URL a generator, crds or
// configurations entry would download, with its line.
func FindRemote(data []byte) (string, int, bool) {
	if !mayHaveRemote(data) {
		return "", 0, false
	}
	node, err := kyaml.Parse(string(data))
	if err != nil || node.YNode().Kind != kyaml.MappingNode {
		return "", 0, false // kustomize reports the malformed file itself
	}
	// The fields whose entries kustomize may load from a Git repository or URL.
	for _, field := range [...]string{"resources", "bases", "components"} {
		list := node.Field(field)
		if list == nil || list.Value.YNode().Kind != kyaml.SequenceNode {
			continue
		}
		for _, item := range list.Value.YNode().Content {
			if item.Kind == kyaml.ScalarNode && IsRemote(item.Value) {
				return item.Value, item.Line, true
			}
		}
	}
	// What kustomize's loader reads as a file, which it downloads when it
	// is an http(s) URL.
	var files []*kyaml.Node
	for _, field := range [...]string{"crds", "configurations"} {
		if list := node.Field(field); list != nil && list.Value.YNode().Kind == kyaml.SequenceNode {
			files = append(files, list.Value.YNode().Content...)
		}
	}
	for _, field := range [...]string{"configMapGenerator", "secretGenerator"} {
		list := node.Field(field)
		if list == nil || list.Value.YNode().Kind != kyaml.SequenceNode {
			continue
		}
		for _, gen := range list.Value.YNode().Content {
			g := kyaml.NewRNode(gen)
			for _, key := range [...]string{"files", "envs"} {
				if f := g.Field(key); f != nil && f.Value.YNode().Kind == kyaml.SequenceNode {
					files = append(files, f.Value.YNode().Content...)
				}
			}
			if f := g.Field("env"); f != nil {
				files = append(files, f.Value.YNode())
			}
		}
	}
	for _, item := range files {
		if item.Kind != kyaml.ScalarNode {
			continue
		}
		_, src, found := strings.Cut(item.Value, "=")
		if !found {
			src = item.Value
		}
		if lower := strings.ToLower(strings.TrimSpace(src)); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
			return strings.TrimSpace(src), item.Line, true
		}
	}
	return "", 0, false
}

// mayHaveRemote is a cheap test that rules out most kustomization files
// before they are parsed.
func mayHaveRemote(data []byte) bool {
	return bytes.Contains(data, []byte("://")) || bytes.Contains(data, []byte("@")) ||
		bytes.Contains(bytes.ToLower(data), []byte("github.com")) ||
		bytes.Contains(bytes.ToLower(data), []byte("git::"))
}

// IsRemote tells whether kustomize would load a resources, bases or
// components entry from the network: a Git repository URL in any of the
// forms kustomize accepts (https, http, ssh and file schemes, scp-like
// user@host:path, github.com shorthands, with or without a git:: prefix) or
// an http(s) URL of a single file.
func IsRemote(ref string) bool {
	s := strings.TrimSpace(ref)
	if len(s) >= 5 && strings.EqualFold(s[:5], "git::") {
		s = s[5:]
	}
	lower := strings.ToLower(s)
	for _, scheme := range []string{"ssh://", "https://", "http://", "file://"} {
		if strings.HasPrefix(lower, scheme) {
			return true
		}
	}
	if strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:") {
		return true
	}
	return hasSCPUser(s)
}

// hasSCPUser tells whether s starts with "user@", a letter followed by
// letters, digits or dashes: kustomize's sign of an scp-like Git URL.
func hasSCPUser(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 {
		return false
	}
	for i, r := range s[:at] {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter || !letter && r != '-' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
