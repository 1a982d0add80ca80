package diff

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteTextUnrendered: a root whose only news is a HelmRelease the
// head cannot render says so, and counts it, rather than "no changes".
func TestWriteTextUnrendered(t *testing.T) {
	d := RootDiff{Path: "apps", Kustomization: "flux-system/apps", Changes: []Change{},
		Unrendered: []Unrendered{
			{HelmRelease: "apps/web", Side: "head", Reason: `no version matches "9.x"`},
			{HelmRelease: "apps/db", Side: "both", Reason: "--offline"},
		}}
	var b bytes.Buffer
	if err := WriteText(&b, []RootDiff{d}, false); err != nil {
		t.Fatal(err)
	}
	want := `apps (Kustomization flux-system/apps): 1 HelmRelease not compared
  (HelmRelease apps/web is not rendered on the head side, and its objects are left out of the diff: no version matches "9.x")
  (HelmRelease apps/db is not rendered on either side, and its objects are left out of the diff: --offline)

1 root differs: 0 added, 0 changed, 0 removed.
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	md := strings.Join(Markdown([]RootDiff{d}, "Rendered diff", 0), "")
	if !strings.Contains(md, "HelmRelease `apps/web` is not rendered on the head side") {
		t.Errorf("the comment does not name the release:\n%s", md)
	}
}

// FuzzMarkdownPaths gives the PR comment a root path, a Kustomization and
// an object name from the fuzzer (also the name of a HelmRelease not
// rendered, and the folder the root moved from), and a diff body holding
// backtick fences (also why the release is not rendered):
// the comment must keep its structure, one section per root opened and
// closed on lines of their own, no heading but the title, and every code
// block closed by its own fence.
func FuzzMarkdownPaths(f *testing.F) {
	for _, s := range []string{"apps/x", "a\nb", "a</code></summary>\n\n### 0 errors", "a`b|c", "x\n```\n# h"} {
		f.Add(s, "flux-system/apps", "v1/ConfigMap/"+s, "  k: ```\n")
	}
	f.Fuzz(func(t *testing.T, path, ks, object, body string) {
		d := RootDiff{Path: path, Kustomization: ks, Changes: []Change{{Object: object, Action: Changed,
			Diff: "--- base/x\n+++ head/x\n@@ -1 +1 @@\n-" + body + "\n+" + body + "\n"}},
			Unrendered: []Unrendered{{HelmRelease: object, Side: "head", Reason: body}}, MovedFrom: path}
		for _, part := range Markdown([]RootDiff{d}, "Rendered diff", 0) {
			opened, closed, fence := 0, 0, ""
			for _, line := range strings.Split(part, "\n") {
				if fence != "" {
					if line == fence {
						fence = ""
					}
					continue
				}
				switch {
				case strings.HasPrefix(line, "```"):
					fence = strings.TrimSuffix(line, "diff")
				case strings.HasPrefix(line, "<details>"):
					opened++
				case line == "</details>":
					closed++
				case strings.HasPrefix(line, "#") && line != "### Rendered diff":
					t.Errorf("a heading from the input: %q", line)
				case strings.Contains(stripCodeSpans(line), "</summary>") || strings.Contains(stripCodeSpans(line), "<details>"):
					t.Errorf("a section tag out of place: %q", line)
				}
			}
			if opened != 1 || closed != 1 || fence != "" {
				t.Errorf("%d sections opened, %d closed, fence %q left open:\n%s", opened, closed, fence, part)
			}
		}
	})
}

// stripCodeSpans drops markdown code spans (inert text) from a line: a run
// of n backticks up to the next run of exactly n.
func stripCodeSpans(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		if line[i] != '`' {
			b.WriteByte(line[i])
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(line); {
			if line[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(line) && line[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			b.WriteString(line[i:])
			break
		}
		i = end
	}
	return b.String()
}
