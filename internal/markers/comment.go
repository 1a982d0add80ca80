package markers

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// shortHand is the key of a marker's JSON.
const shortHand = "$imagepolicy"

// setterRef starts the long form of a setter reference, which kyaml also
// reads: {"$ref": "#/definitions/io.k8s.cli.setters.<setter>"}.
const setterRef = "#/definitions/io.k8s.cli.setters."

// setterName returns the setter a scalar's comment names, read the way kyaml
// reads field metadata. The comment without its leading '#'s must decode as
// a JSON object of strings holding a non-empty "$imagepolicy"; failing that,
// kyaml reads it as an OpenAPI schema, and a "$ref" to a setter in the first
// JSON value of the comment names the setter even when text follows that
// value (the schema keeps the reference it decoded before the error).
func setterName(comment string) (string, bool) {
	body := strings.TrimLeft(comment, "#")
	var short map[string]string
	if err := json.Unmarshal([]byte(body), &short); err == nil {
		if name := short[shortHand]; name != "" {
			return name, true
		}
	}
	var obj map[string]json.RawMessage
	if json.NewDecoder(strings.NewReader(body)).Decode(&obj) != nil {
		return "", false
	}
	var ref string
	if raw, ok := obj["$ref"]; !ok || json.Unmarshal(raw, &ref) != nil || !strings.HasPrefix(ref, setterRef) {
		return "", false
	}
	return strings.TrimPrefix(ref, setterRef), true
}

// dns1123Label and dns1123Subdomain are the names Kubernetes accepts for a
// namespace and for an ImagePolicy.
var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// parseSetter splits a setter name into the policy and the field. reason is
// not empty when no ImagePolicy could ever match it.
func parseSetter(name string) (p Policy, f Field, reason string) {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) == 1:
		return p, f, fmt.Sprintf("%q names no namespace: write \"<namespace>:%s\"", name, name)
	case len(parts) == 3:
		switch Field(parts[2]) {
		case FieldTag, FieldName, FieldDigest:
			f = Field(parts[2])
		default:
			return p, f, fmt.Sprintf("%q ends with an unknown suffix %q: Flux knows \":tag\", \":name\" and \":digest\"", name, ":"+parts[2])
		}
	case len(parts) > 3:
		return p, f, fmt.Sprintf("%q has too many parts: write \"<namespace>:<name>\", optionally followed by \":tag\", \":name\" or \":digest\"", name)
	}
	p = Policy{Namespace: parts[0], Name: parts[1]}
	switch {
	case len(p.Namespace) > 63 || !dns1123Label.MatchString(p.Namespace):
		return Policy{}, "", fmt.Sprintf("%q is not a namespace Kubernetes accepts, so no ImagePolicy matches %q", p.Namespace, name)
	case len(p.Name) > 253 || !dns1123Subdomain.MatchString(p.Name):
		return Policy{}, "", fmt.Sprintf("%q is not a name Kubernetes accepts for an ImagePolicy, so none matches %q", p.Name, name)
	}
	return p, f, ""
}

// mentionsMarker tells whether text speaks of an image policy marker.
func mentionsMarker(text string) bool {
	l := strings.ToLower(text)
	return strings.Contains(l, "$imagepolicy") || strings.Contains(l, `"imagepolicy"`)
}

// commentMentions tells whether one comment line looks like it means to be
// a marker: it names $imagepolicy as a key (quoted, or followed by a
// colon) or is an object mentioning imagepolicy. Prose about markers ("#
// Flux rewrites the $imagepolicy markers") is not one.
func commentMentions(line string) bool {
	body := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
	l := strings.ToLower(body)
	if !strings.Contains(l, "imagepolicy") {
		return false
	}
	if strings.HasPrefix(body, "{") {
		return true
	}
	for _, key := range []string{`"$imagepolicy`, `$imagepolicy"`, `'$imagepolicy`, `$imagepolicy'`, "$imagepolicy:"} {
		if strings.Contains(l, key) {
			return true
		}
	}
	return false
}

// textProblem returns why a comment line's text is not a marker, or "" when
// the text is a well-formed marker.
func textProblem(line string) string {
	if name, ok := setterName(strings.TrimSpace(line)); ok {
		_, _, reason := parseSetter(name)
		return reason
	}
	body := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
	const want = `write {"$imagepolicy": "<namespace>:<name>"}`
	dec := json.NewDecoder(strings.NewReader(body))
	var v any
	if err := dec.Decode(&v); err != nil {
		if strings.Contains(body, "'") {
			return "the marker is not valid JSON (JSON strings take double quotes): " + want
		}
		if !strings.HasPrefix(body, "{") {
			return "the marker is not a JSON object: " + want
		}
		return fmt.Sprintf("the marker is not valid JSON (%v): %s", err, want)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "text follows the marker's JSON on the same line, so Flux cannot read it: remove it"
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "the marker is not a JSON object: " + want
	}
	var short map[string]string
	if json.Unmarshal([]byte(body), &short) != nil {
		return "every value in the marker's JSON must be a string: " + want
	}
	if _, ok := short[shortHand]; ok {
		return "the marker names no policy: " + want
	}
	for k := range obj {
		if strings.EqualFold(strings.TrimPrefix(k, "$"), "imagepolicy") {
			return fmt.Sprintf("the key is %q: Flux reads only %q, in lower case with the '$'", k, shortHand)
		}
	}
	return "the marker has no \"$imagepolicy\" member: " + want
}

// trimComment returns a comment's text after its '#'s, as Marker.Raw holds
// it.
func trimComment(c string) string {
	return strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(c), "#"))
}

// findComment returns the offset in text of the comment line c of kind k
// that belongs to the node at offset near, or -1. A head comment is a line of
// its own above the node, a foot comment one below it, and a line comment
// ends a line at or after the node's.
func findComment(text, c string, near int, k commentKind) int {
	c = strings.TrimRight(strings.TrimLeft(c, " \t"), " \t")
	if c == "" {
		return -1
	}
	best := -1
	for i := 0; ; {
		j := strings.Index(text[i:], c)
		if j < 0 {
			break
		}
		at := i + j
		i = at + 1
		lineStart := strings.LastIndexAny(text[:at], "\n\r") + 1
		end := yamlscalar.LineEnd(text, at)
		ownLine := strings.TrimLeft(text[lineStart:at], " \t") == ""
		if strings.TrimRight(text[at+len(c):end], " \t") != "" {
			continue // c does not end the line
		}
		switch {
		case k == headComment && (!ownLine || at > near):
			continue
		case k == footComment && (!ownLine || at < near):
			continue
		case k == lineComment && end < near:
			continue
		}
		if best < 0 || abs(at-near) < abs(best-near) {
			best = at
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// commentLines splits a comment as YAML stores it into its lines, blank
// lines left out.
func commentLines(c string) []string {
	var lines []string
	for _, l := range strings.Split(c, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
