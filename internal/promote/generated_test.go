package promote

import (
	"maps"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// gen writes random kustomizations in the layouts people write: indented or
// not, CRLF or LF, comments on every kind of line, every quoting style.
type gen struct {
	r   *rand.Rand
	eol string
}

func (g *gen) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) comment(indent string) string {
	if g.chance(0.2) {
		return indent + "# " + g.pick("note", "why: because", "- not a key", "images:") + g.eol
	}
	if g.chance(0.1) {
		return g.eol
	}
	return ""
}

func (g *gen) trailing() string {
	if g.chance(0.2) {
		return " # " + g.pick("current", "pinned", "x: y")
	}
	return ""
}

func (g *gen) scalar(v string) string {
	switch g.r.Intn(3) {
	case 0:
		return yamlscalar.Encode(v, yamlscalar.Plain, false)
	case 1:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return yamlscalar.DoubleQuote(v)
}

// kustomization returns a kustomization with entries for some of names,
// and the versions it gives them.
func (g *gen) kustomization(names []string, unique bool) string {
	var b strings.Builder
	b.WriteString(g.comment(""))
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1" + g.trailing() + g.eol)
	if g.chance(0.5) {
		b.WriteString("resources:" + g.eol + g.pick("", "  ") + "- ../../base" + g.eol)
	}
	if g.chance(0.1) {
		return b.String() // no images
	}
	b.WriteString(g.comment(""))
	b.WriteString("images:" + g.trailing() + g.eol)
	dash := g.pick("", "  ")
	keyOff := g.pick("  ", "    ")
	keyIndent := dash + keyOff
	first := dash + "-" + keyOff[1:]
	for _, n := range names {
		if g.chance(0.3) {
			continue
		}
		copies := 1
		if !unique && g.chance(0.1) {
			copies = 2
		}
		for range copies {
			b.WriteString(g.comment(dash))
			b.WriteString(first + "name: " + g.scalar(n) + g.trailing() + g.eol)
			keys := []string{keyNewName, keyTagSuffix, keyNewTag, keyDigest}
			if g.chance(0.3) {
				g.r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			}
			for _, k := range keys {
				var v string
				switch k {
				case keyNewName:
					if !g.chance(0.5) {
						continue
					}
					v = g.pick("registry.example.com/"+n, "ghcr.io/dev/"+n)
				case keyTagSuffix:
					if !g.chance(0.1) {
						continue
					}
					v = g.pick("-debug", "_x")
				case keyNewTag:
					if !g.chance(0.6) {
						continue
					}
					v = g.pick("v1", "1.10", "v2.0", "main-abc-1", "true", "it's")
				case keyDigest:
					if !g.chance(0.4) {
						continue
					}
					v = g.pick("sha256:1111", "sha256:2222", "")
				}
				b.WriteString(g.comment(keyIndent))
				b.WriteString(keyIndent + k + ": " + g.scalar(v) + g.trailing() + g.eol)
			}
		}
	}
	if g.chance(0.5) {
		b.WriteString(g.comment("") + "replicas:" + g.eol + "- name: x" + g.eol + "  count: 2" + g.eol)
	}
	b.WriteString(g.comment(""))
	return b.String()
}

// commentLines returns the lines of data that hold only a comment.
func commentLines(data string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestPlanGenerated promotes random kustomizations into random
// kustomizations and checks what a promotion promises: every target entry
// of a source image holds the source's version, other entries and every
// newName keep theirs, an image the target lacks is added whole, comment
// lines stay, and promoting again changes nothing.
func TestPlanGenerated(t *testing.T) {
	names := []string{"a", "b", "ghcr.io/org/c", "d"}
	stats := map[string]int{}
	defer func() { t.Logf("stats: %v", stats) }()
	for i := range 3000 {
		g := &gen{r: rand.New(rand.NewSource(int64(i))), eol: "\n"}
		if g.chance(0.3) {
			g.eol = "\r\n"
		}
		src := g.kustomization(names, true)
		dst := g.kustomization(names, false)
		from, to := kust("dev/kustomization.yaml", src), kust("test/kustomization.yaml", dst)
		res, err := Plan(from, to, nil)
		if err != nil {
			t.Fatalf("seed %d: Plan: %v\nsource:\n%s\ntarget:\n%s", i, err, src, dst)
		}
		out := dst
		if d, ok := res.Files[to.Kustomization.Path]; ok {
			out = string(d)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: "+format+"\nsource:\n%s\ntarget:\n%s\nresult:\n%s", append(append([]any{i}, args...), src, dst, out)...)
		}
		sk, _ := readKustomization(from.Kustomization)
		tk, _ := readKustomization(to.Kustomization)
		nk, err := readKustomization(File{Path: "out", Data: []byte(out)})
		if err != nil {
			fail("the result does not read: %v", err)
		}
		source := map[string]*entry{}
		for _, e := range sk.entries {
			source[e.name] = e
		}
		for j, e := range tk.entries {
			ne := nk.entries[j]
			want := e.version()
			if s := source[e.name]; s != nil && len(s.version()) > 0 {
				want = s.version()
			}
			if ne.name != e.name || ne.fields[keyNewName].str() != e.fields[keyNewName].str() || !maps.Equal(ne.version(), want) {
				fail("entry %d (%s) holds %v, want %v", j, e.name, ne.version(), want)
			}
		}
		added := nk.entries[len(tk.entries):]
		for _, ne := range added {
			s := source[ne.name]
			if s == nil || ne.fields[keyNewName].str() != s.fields[keyNewName].str() || !maps.Equal(ne.version(), s.version()) {
				fail("added entry %s does not match the source", ne.name)
			}
		}
		if g.eol == "\r\n" && strings.Count(out, "\n") != strings.Count(out, "\r\n") {
			fail("the result mixes line ends")
		}
		if !slices.Equal(commentLines(dst), commentLines(out)) {
			fail("comment lines changed")
		}
		for _, c := range res.Changes {
			stats[string(c.Action)]++
		}
		if len(res.Changes) > 0 {
			stats["plans with changes"]++
		}
		again, err := Plan(from, kust(to.Kustomization.Path, out), nil)
		if err != nil || len(again.Changes) != 0 {
			fail("promoting again: %v %+v", err, again.Changes)
		}
	}
}
