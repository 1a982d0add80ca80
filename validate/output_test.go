package validate

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzWritePaths gives every output format a finding whose file and
// message come from the fuzzer: each format must keep its structure (the
// text one finding line under one file line, the GitHub format one
// workflow command per line, JSON and SARIF the exact path back).
func FuzzWritePaths(f *testing.F) {
	for _, s := range []string{"apps/x/deploy.yaml", "a\nb", "x\n::error file=y::forged", "a</code></summary>\n\n### ok", "a%0Ab,c:d", "\x1b[2J", "a\u202eb"} {
		f.Add(s, "message "+s)
	}
	f.Fuzz(func(t *testing.T, file, msg string) {
		if file == "" {
			return
		}
		r := &Report{Findings: []Finding{{Rule: "syntax", Severity: Error, File: file, Line: 3, Message: msg}}}
		r.Summary.Errors = 1

		var text bytes.Buffer
		if err := Write(&text, r, FormatText, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		// file, finding, blank line, summary.
		if lines := strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n"); len(lines) != 4 {
			t.Errorf("text output of %q is %d lines, want 4:\n%s", file, len(lines), text.String())
		}

		var gh bytes.Buffer
		if err := Write(&gh, r, FormatGitHub, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSuffix(gh.String(), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "::error file=") {
			t.Errorf("GitHub output of %q is not one command:\n%s", file, gh.String())
		}

		var js bytes.Buffer
		if err := Write(&js, r, FormatJSON, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatalf("JSON output does not parse: %v\n%s", err, js.String())
		}
		// JSON holds only UTF-8: a name that is not keeps its place, each
		// bad byte a U+FFFD (and is a finding of its own).
		if len(back.Findings) != 1 || (utf8.ValidString(file) && back.Findings[0].File != file) {
			t.Errorf("JSON gave back %+v for %q", back.Findings, file)
		}

		var sarif bytes.Buffer
		if err := Write(&sarif, r, FormatSARIF, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		var log sarifLog
		if err := json.Unmarshal(sarif.Bytes(), &log); err != nil {
			t.Fatalf("SARIF output does not parse: %v", err)
		}
		uri := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI
		if got, err := url.PathUnescape(uri); err != nil || (utf8.ValidString(file) && got != file) {
			t.Errorf("SARIF URI %q does not unescape to %q: %q, %v", uri, file, got, err)
		}
	})
}
