package validate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// Formats Write knows.
const (
	FormatText   = "text"
	FormatJSON   = "json"
	FormatSARIF  = "sarif"
	FormatGitHub = "github"
)

// Formats lists the output formats.
func Formats() []string { return []string{FormatText, FormatJSON, FormatSARIF, FormatGitHub} }

// WriteOptions tune Write.
type WriteOptions struct {
	// Color uses terminal colours in the text format.
	Color bool
	// Version is this program's version, for SARIF's tool description.
	Version string
}

// Write prints a report in one of the Formats.
func Write(w io.Writer, r *Report, format string, opts WriteOptions) error {
	switch format {
	case FormatText:
		return writeText(w, r, opts.Color)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatSARIF:
		return writeSARIF(w, r, opts.Version)
	case FormatGitHub:
		return writeGitHub(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

const (
	bold   = "\x1b[1m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

// writeText prints findings grouped by file, then a summary line.
func writeText(w io.Writer, r *Report, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + reset
	}
	file := ""
	for _, f := range r.Findings {
		if f.File != file {
			if file != "" {
				fmt.Fprintln(w)
			}
			file = f.File
			fmt.Fprintln(w, paint(bold, safetext.Text(file)))
		}
		pos := ""
		if f.Line > 0 {
			pos = fmt.Sprint(f.Line)
			if f.Column > 0 {
				pos += fmt.Sprintf(":%d", f.Column)
			}
		}
		sev := paint(red, "error  ")
		if f.Severity == Warning {
			sev = paint(yellow, "warning")
		}
		msg := f.Message
		if f.Object != "" && !strings.Contains(msg, f.Object) {
			msg = f.Object + ": " + msg
		}
		fmt.Fprintf(w, "  %-7s %s %s %s\n", pos, sev, safetext.Line(msg), paint(dim, "("+f.Rule+")"))
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, r.Summary)
	return err
}

// String says what a summary counts: "1 error, 0 warnings in 3 roots
// (120 objects)".
func (s Summary) String() string {
	return fmt.Sprintf("%s, %s in %s (%s)", plural(s.Errors, "error"), plural(s.Warnings, "warning"),
		plural(s.Roots, "root"), plural(s.Objects, "object"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeGitHub prints GitHub Actions workflow commands, which annotate the
// lines of a pull request.
func writeGitHub(w io.Writer, r *Report) error {
	for _, f := range r.Findings {
		level := "error"
		if f.Severity == Warning {
			level = "warning"
		}
		props := []string{"file=" + ghProperty(f.File)}
		if f.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Line))
		}
		if f.Column > 0 {
			props = append(props, fmt.Sprintf("col=%d", f.Column))
		}
		props = append(props, "title="+ghProperty(f.Rule))
		msg := f.Message
		if f.Object != "" && !strings.Contains(msg, f.Object) {
			msg = f.Object + ": " + msg
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), ghData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SARIF 2.1.0, the subset code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region *sarifRegion `json:"region,omitempty"`
	} `json:"physicalLocation"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

func sarifLevel(s Severity) string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

func writeSARIF(w io.Writer, r *Report, version string) error {
	driver := sarifDriver{Name: "kubectl-gitops", Version: version, InformationURI: "https://github.com/kubectl-gitops/kubectl-gitops"}
	index := map[string]int{}
	for i, rule := range Rules() {
		sr := sarifRule{ID: rule.ID, ShortDescription: sarifMessage{Text: rule.Description}}
		sr.DefaultConfiguration.Level = sarifLevel(rule.Severity)
		driver.Rules = append(driver.Rules, sr)
		index[rule.ID] = i
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		msg := f.Message
		if f.Object != "" && !strings.Contains(msg, f.Object) {
			msg = f.Object + ": " + msg
		}
		res := sarifResult{RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity), Message: sarifMessage{Text: msg}}
		var loc sarifLocation
		loc.PhysicalLocation.ArtifactLocation.URI = (&url.URL{Path: f.File}).EscapedPath()
		if f.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		}
		res.Locations = []sarifLocation{loc}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}
