package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// WriteJSON prints diffs as {"roots":[...]}.
func WriteJSON(w io.Writer, diffs []RootDiff) error {
	if diffs == nil {
		diffs = []RootDiff{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Roots []RootDiff `json:"roots"`
	}{diffs})
}

const (
	colorRed   = "\x1b[31m"
	colorGreen = "\x1b[32m"
	colorCyan  = "\x1b[36m"
	colorBold  = "\x1b[1m"
	colorReset = "\x1b[0m"
)

// WriteText prints each root's summary line and its objects' diffs,
// coloured when color is set.
func WriteText(w io.Writer, diffs []RootDiff, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + colorReset
	}
	for _, c := range ChartChanges(diffs) {
		where := ""
		if c.Cluster != "" {
			where = " (cluster " + safetext.Text(c.Cluster) + ")"
		}
		fmt.Fprintf(w, "HelmRelease %s%s: chart %s %s -> %s\n", safetext.Text(c.HelmRelease), where, safetext.Text(c.Chart), safetext.Text(c.From), safetext.Text(c.To))
	}
	for _, d := range diffs {
		fmt.Fprintln(w, paint(colorBold, d.Name()+": "+summary(d)))
		if d.MovedFrom != "" {
			fmt.Fprintf(w, "  (moved from %s)\n", safetext.Text(d.MovedFrom))
		}
		if d.BaseError != "" {
			fmt.Fprintf(w, "  (the base did not render: %s)\n", safetext.Line(d.BaseError))
		}
		for _, u := range d.Unrendered {
			fmt.Fprintf(w, "  (%s)\n", u.sentence(safetext.Text(u.HelmRelease), safetext.Line(u.Reason)))
		}
		for _, c := range d.Changes {
			if c.From != "" {
				fmt.Fprintf(w, "# %s renamed from %s\n", safetext.Text(c.Object), safetext.Text(c.From))
			}
			for _, l := range strings.SplitAfter(c.Diff, "\n") {
				switch {
				case l == "":
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
					fmt.Fprint(w, paint(colorBold, strings.TrimSuffix(l, "\n"))+"\n")
				case strings.HasPrefix(l, "@@"):
					fmt.Fprint(w, paint(colorCyan, strings.TrimSuffix(l, "\n"))+"\n")
				case strings.HasPrefix(l, "+"):
					fmt.Fprint(w, paint(colorGreen, strings.TrimSuffix(l, "\n"))+"\n")
				case strings.HasPrefix(l, "-"):
					fmt.Fprint(w, paint(colorRed, strings.TrimSuffix(l, "\n"))+"\n")
				default:
					fmt.Fprint(w, l)
				}
			}
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, totals(diffs))
	return err
}

// sentence says that the release (id and reason as the output prints
// them) is not rendered, where, and why; its objects are left out of the
// diff.
func (u Unrendered) sentence(id, reason string) string {
	where := map[string]string{"head": "on the head side", "base": "on the base side", "both": "on either side"}[u.Side]
	return fmt.Sprintf("HelmRelease %s is not rendered %s, and its objects are left out of the diff: %s", id, where, reason)
}

// summary is one root's counts, "1 added, 2 changed" or "root added".
func summary(d RootDiff) string {
	a, c, r := d.Count()
	var parts []string
	if d.Status != "" {
		parts = append(parts, "root "+d.Status)
	}
	for _, p := range []struct {
		n    int
		word string
	}{{a, "added"}, {c, "changed"}, {r, "removed"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	if n := oneSided(d.Unrendered); n > 0 {
		word := "HelmReleases"
		if n == 1 {
			word = "HelmRelease"
		}
		parts = append(parts, fmt.Sprintf("%d %s not compared", n, word))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// totals is the last line: how many objects changed in how many roots.
func totals(diffs []RootDiff) string {
	if len(diffs) == 0 {
		return "No differences."
	}
	var a, c, r int
	for _, d := range diffs {
		x, y, z := d.Count()
		a, c, r = a+x, c+y, r+z
	}
	roots := "roots"
	if len(diffs) == 1 {
		roots = "root"
	}
	verb := "differ"
	if len(diffs) == 1 {
		verb = "differs"
	}
	return fmt.Sprintf("%d %s %s: %d added, %d changed, %d removed.", len(diffs), roots, verb, a, c, r)
}

// MarkdownLimit is the largest comment a forge takes (GitHub's is 65,536
// characters).
const MarkdownLimit = 65536

// Markdown renders diffs for a pull-request comment: a summary table, then
// one collapsible section per root. When the whole would pass limit
// characters it is split into numbered parts, each under the limit: between
// roots where possible, else between objects, else between lines. Nothing
// is ever cut off.
func Markdown(diffs []RootDiff, title string, limit int) []string {
	if limit <= 0 {
		limit = MarkdownLimit
	}
	var head strings.Builder
	fmt.Fprintf(&head, "### %s\n\n", title)
	if len(diffs) == 0 {
		head.WriteString("No differences.\n")
		return []string{head.String()}
	}
	if charts := ChartChanges(diffs); len(charts) > 0 {
		head.WriteString("| HelmRelease | chart | from | to |\n|---|---|---|---|\n")
		for _, c := range charts {
			name := safetext.CodeSpan(c.HelmRelease)
			if c.Cluster != "" {
				name += " (cluster " + safetext.CodeSpan(c.Cluster) + ")"
			}
			fmt.Fprintf(&head, "| %s | %s | %s | %s |\n", name, safetext.CodeSpan(c.Chart), safetext.CodeSpan(c.From), safetext.CodeSpan(c.To))
		}
		head.WriteString("\n")
	}
	head.WriteString("| root | added | changed | removed |\n|---|---:|---:|---:|\n")
	for _, d := range diffs {
		a, c, r := d.Count()
		name := safetext.CodeSpan(d.Path)
		if d.Kustomization != "" {
			name += " (Kustomization " + safetext.CodeSpan(d.Kustomization) + ")"
		}
		if d.Status != "" {
			name += " — root " + d.Status
		}
		fmt.Fprintf(&head, "| %s | %d | %d | %d |\n", name, a, c, r)
	}
	head.WriteString("\n")

	// The pieces a part is made of, each small enough for a part of its
	// own; sections open and close around them.
	var blocks []mdBlock
	for _, d := range diffs {
		// An HTML block: its text is HTML, and a blank line would end it.
		open := fmt.Sprintf("<details><summary><code>%s</code>: %s</summary>\n\n", safetext.HTML(d.Name()), summary(d))
		if d.MovedFrom != "" {
			open += fmt.Sprintf("Moved from %s.\n\n", safetext.CodeSpan(d.MovedFrom))
		}
		if d.BaseError != "" {
			open += fmt.Sprintf("The base did not render: %s\n\n", safetext.CodeSpan(safetext.Line(d.BaseError)))
		}
		for _, u := range d.Unrendered {
			open += u.sentence(safetext.CodeSpan(u.HelmRelease), safetext.CodeSpan(safetext.Line(u.Reason))) + "\n\n"
		}
		for _, c := range d.Changes {
			text := c.Diff
			if c.From != "" {
				text = "# renamed from " + safetext.Text(c.From) + "\n" + text
			}
			for _, chunk := range chunkLines(text, limit/2) {
				fence := safetext.Fence(chunk)
				blocks = append(blocks, mdBlock{open: open, body: fence + "diff\n" + chunk + fence + "\n"})
			}
		}
		if len(d.Changes) == 0 {
			blocks = append(blocks, mdBlock{open: open})
		}
	}
	return assemble(head.String(), blocks, limit)
}

// mdBlock is a fenced diff inside the section open starts.
type mdBlock struct {
	open, body string
}

const closeSection = "\n</details>\n\n"

// assemble packs blocks into parts no longer than limit, reopening a
// section that continues into the next part.
func assemble(head string, blocks []mdBlock, limit int) []string {
	var parts []string
	var cur strings.Builder
	cur.WriteString(head)
	section := ""
	flush := func() {
		if section != "" {
			cur.WriteString(closeSection)
		}
		parts = append(parts, cur.String())
		cur.Reset()
		section = ""
	}
	for _, b := range blocks {
		add := b.body
		if b.open != section {
			add = b.open + b.body
			if section != "" {
				add = closeSection + add
			}
		}
		if cur.Len()+len(add)+len(closeSection)+64 > limit && cur.Len() > len(head) {
			flush()
			add = b.open + b.body
		}
		cur.WriteString(add)
		section = b.open
	}
	flush()
	if len(parts) > 1 {
		for i := range parts {
			parts[i] = fmt.Sprintf("_Part %d of %d_\n\n", i+1, len(parts)) + parts[i]
		}
	}
	return parts
}

// chunkLines splits text into pieces of whole lines, each at most max
// bytes (a single longer line is cut).
func chunkLines(text string, max int) []string {
	if len(text) <= max {
		return []string{text}
	}
	var out []string
	var cur strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		for len(l) > max {
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			cut := max
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut-- // never split a character
			}
			out = append(out, l[:cut]+"\n")
			l = l[cut:]
		}
		if cur.Len()+len(l) > max {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
