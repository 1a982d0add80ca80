package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/safetext"
)

// RenderOptions are the options of `kubectl gitops render`.
type RenderOptions struct {
	genericiooptions.IOStreams
	repoOptions
	shardOptions

	Dirs   []string
	All    bool
	Ref    string
	Output string
}

// NewCmdRender returns the render command.
func NewCmdRender(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RenderOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "render [DIR...]",
		Short: "Render overlays and Flux Kustomizations as the cluster would get them",
		Long: `Render every root of the repository, or the roots at or under each DIR:
each Flux Kustomization whose source is this repository, built as
kustomize-controller builds it, and each leaf kustomize overlay no Flux
Kustomization covers, built as 'kustomize build' builds it.

Nothing is fetched: remote bases are refused unless --allow-remote, and a
path or symlink that leaves the repository is refused. Roots whose inputs
did not change since an earlier run come from the cache.`,
		Example: examples(`  # Render everything the repository deploys
  %[1]s render --all

  # Render one overlay as it is on main, without checking it out
  %[1]s render deploy/kubernetes/overlays/prod --ref main

  # As JSON, with the files each root read
  %[1]s render --all -o json`),
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.All, "all", false, "render every root of the repository, wherever the command runs")
	cmd.Flags().StringVar(&o.Ref, "ref", "", "render the repository at this Git revision (branch, tag, commit, HEAD~3...) instead of the working tree")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "yaml", "output format: yaml or json")
	o.addShardFlag(cmd.Flags())
	return cmd
}

// Complete opens the repository and resolves the directories.
func (o *RenderOptions) Complete(_ *cobra.Command, args []string) error {
	if err := o.complete(o.ErrOut); err != nil {
		return withCode(ExitFailure, err)
	}
	dirs, err := o.RelPaths(args, o.Cwd)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	o.Dirs = dirs
	if o.All {
		o.Dirs = []string{"."}
	}
	return nil
}

// Validate checks the flags.
func (o *RenderOptions) Validate() error {
	if o.Output != "yaml" && o.Output != "json" {
		return withCode(ExitFailure, fmt.Errorf("--output must be yaml or json, got %q", o.Output))
	}
	if err := o.parseShard(); err != nil {
		return withCode(ExitFailure, err)
	}
	return nil
}

// Run renders and prints.
func (o *RenderOptions) Run(ctx context.Context) error {
	stop := o.showProgress(o.ErrOut, "rendering")
	defer stop()
	out, err := o.Render(ctx, o.Ref, o.Dirs, o.shard)
	if err != nil {
		return withCode(ExitFailure, err)
	}
	eng, r, results := out.Engine, out.Repository, out.Results
	stop() // before anything else goes out, on the same terminal perhaps
	warnUnsupported(o.ErrOut, r, o.Dirs)
	// A root that fails is reported and leaves the others' output whole:
	// the run still fails, after printing what did render.
	failed := reportFailures(o.ErrOut, results)
	if o.Output == "json" {
		// writeRenderJSON reads every array of objects before it writes:
		// an error leaves nothing half-printed.
		w := bufio.NewWriterSize(o.Out, 64<<10)
		if err := writeRenderJSON(w, eng.Cache(), results, r.SkippedUnder(o.Dirs)); err != nil {
			return withCode(ExitFailure, err)
		}
		err = w.Flush()
	} else {
		// Every root is loaded first: nothing can fail half-way through,
		// so the objects stream out instead of being gathered first.
		if err := eng.Load(ctx, results); err != nil {
			return withCode(ExitFailure, err)
		}
		w := bufio.NewWriterSize(o.Out, 64<<10)
		writeRenderYAML(w, results)
		err = w.Flush()
	}
	eng.Trim()
	if err == nil && failed != nil {
		return withCode(ExitFailure, failed)
	}
	return err
}

// warnUnsupported names the Flux Kustomizations written under dirs that
// Flux would render from this repository and kubectl gitops leaves out,
// and those Flux itself refuses.
func warnUnsupported(w io.Writer, r *render.Repository, dirs []string) {
	for _, d := range r.BrokenUnder(dirs) {
		fmt.Fprintf(w, "warning: %s\n", safetext.Line(d.Error()))
	}
	for _, s := range r.SkippedUnder(dirs) {
		k := s.Kustomization
		level := "note"
		if s.Unsupported {
			level = "warning"
		}
		fmt.Fprintf(w, "%s: Kustomization %s (%s:%d) is not rendered: %s\n", level, safetext.Text(k.ID()), safetext.Text(k.Object.File), k.Object.Line, safetext.Line(s.Reason))
	}
}

// reportFailures prints why each failed root or HelmRelease failed, and
// returns an error counting them; a HelmRelease not rendered for want of
// its chart is noted.
func reportFailures(w io.Writer, results []*render.Result) error {
	roots, releases, all := 0, 0, 0
	// An object several clusters or roots render is noted once.
	noted := map[string]bool{}
	note := func(line string) {
		if !noted[line] {
			noted[line] = true
			fmt.Fprint(w, line)
		}
	}
	for _, res := range results {
		if res.Err != nil {
			roots++
			fmt.Fprintf(w, "error: %s: %s\n", res.Root, safetext.Line(res.Err.Error()))
		}
		for _, u := range res.Unrendered {
			note(fmt.Sprintf("note: %s %s (%s:%d) is not rendered: %s\n", u.Kind, safetext.Text(u.ID()), safetext.Text(u.File), u.Line, safetext.Line(u.Reason)))
		}
		for _, rel := range res.Releases {
			all++
			switch {
			case rel.Err != nil:
				releases++
				fmt.Fprintf(w, "error: %s\n", safetext.Line(rel.Err.Error()))
			case rel.Unchecked != "":
				note(fmt.Sprintf("note: HelmRelease %s (%s:%d) is not rendered: %s\n", safetext.Text(rel.ID()), safetext.Text(rel.File), rel.Line, safetext.Line(rel.Unchecked)))
			}
		}
	}
	var parts []string
	if roots > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d roots", roots, len(results)))
	}
	if releases > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d HelmReleases", releases, all))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s did not render", strings.Join(parts, " and "))
}

// writeRenderYAML prints each root's objects after a "# Source:" comment,
// then those of each of its HelmReleases after one naming the release and
// its chart.
func writeRenderYAML(w io.Writer, results []*render.Result) {
	for _, res := range results {
		if res.Err != nil {
			continue // reported on standard error
		}
		fmt.Fprintf(w, "---\n# Source: %s\n", res.Root)
		data, _ := res.Own() // loaded by Run
		w.Write(data)
		for _, rel := range res.Releases {
			if !rel.Rendered() {
				continue
			}
			fmt.Fprintf(w, "---\n# Source: %s HelmRelease %s, chart %s\n", res.Root, safetext.Text(rel.ID()), safetext.Text(rel.Chart))
			data, _ := rel.YAML()
			w.Write(data)
		}
	}
}

type renderJSON struct {
	Roots []rootJSON `json:"roots"`
	// Skipped are the Flux Kustomizations not rendered, and why.
	Skipped []skippedJSON `json:"skipped"`
}

type skippedJSON struct {
	Kustomization string `json:"kustomization"`
	File          string `json:"file"`
	Line          int    `json:"line"`
	Reason        string `json:"reason"`
}

type rootJSON struct {
	Path          string      `json:"path"`
	Kustomization string      `json:"kustomization,omitempty"`
	Cluster       string      `json:"cluster,omitempty"`
	Revision      string      `json:"revision,omitempty"`
	Inputs        []kfs.Input `json:"inputs"`
	// Error is why the root did not render; its objects are then empty.
	Error string `json:"error,omitempty"`
	// Objects is a JSON array of the objects.
	Objects json.RawMessage `json:"objects"`
	// Releases are the HelmReleases the root applies, each with the
	// objects it installs.
	Releases []releaseJSON `json:"releases,omitempty"`
	// NotRendered are the ResourceSets among the objects whose own
	// objects only the cluster can tell, and why.
	NotRendered []notRenderedJSON `json:"notRendered,omitempty"`
}

type notRenderedJSON struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

type releaseJSON struct {
	HelmRelease string          `json:"helmRelease"`
	File        string          `json:"file,omitempty"`
	Line        int             `json:"line,omitempty"`
	Chart       string          `json:"chart,omitempty"`
	Version     string          `json:"version,omitempty"`
	NotRendered string          `json:"notRendered,omitempty"`
	Error       string          `json:"error,omitempty"`
	Objects     json.RawMessage `json:"objects"`
}

func writeRenderJSON(w io.Writer, c *cache.Cache, results []*render.Result, skipped []render.Skipped) error {
	out := renderJSON{Roots: make([]rootJSON, 0, len(results)), Skipped: make([]skippedJSON, 0, len(skipped))}
	for _, s := range skipped {
		k := s.Kustomization
		out.Skipped = append(out.Skipped, skippedJSON{Kustomization: k.ID(), File: k.Object.File, Line: k.Object.Line, Reason: s.Reason})
	}
	arrays := &objectArrays{cache: c}
	for _, res := range results {
		rj := rootJSON{Path: res.Root.Path, Kustomization: res.Root.KustomizationID(), Cluster: res.Root.ClusterName(), Inputs: res.Inputs}
		if at := res.Root.At; at != nil {
			rj.Revision = at.What
		}
		if rj.Inputs == nil {
			rj.Inputs = []kfs.Input{}
		}
		if res.Err != nil {
			rj.Error, rj.Objects = res.Err.Error(), json.RawMessage("[]")
			out.Roots = append(out.Roots, rj)
			continue
		}
		rj.Objects = arrays.add(res.Root.String(), res.OwnDigest(), res.Own)
		for _, rel := range res.Releases {
			rj.Releases = append(rj.Releases, releaseJSON{HelmRelease: rel.ID(), File: rel.File, Line: rel.Line, Chart: rel.Chart, Version: rel.Version, NotRendered: rel.Unchecked, Error: errString(rel.Err)})
		}
		for _, u := range res.Unrendered {
			rj.NotRendered = append(rj.NotRendered, notRenderedJSON{Kind: u.Kind, Name: u.ID(), File: u.File, Line: u.Line, Reason: u.Reason})
		}
		for i, rel := range res.Releases {
			if rel.Rendered() {
				rj.Releases[i].Objects = arrays.add(res.Root.String()+": HelmRelease "+rel.ID(), rel.Digest, rel.YAML)
			} else {
				rj.Releases[i].Objects = json.RawMessage("[]")
			}
		}
		out.Roots = append(out.Roots, rj)
	}
	// The envelope is encoded with a placeholder for each array of
	// objects, which are spliced in indented for where they stand: most of
	// the output, read from the cache as it is printed.
	var envelope bytes.Buffer
	enc := json.NewEncoder(&envelope)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	return arrays.splice(w, envelope.Bytes())
}

// objectArrays are the arrays of objects an output holds, each written as
// a placeholder in its envelope: a JSON string starting with a NUL, which
// encoding/json never writes as such.
type objectArrays struct {
	cache *cache.Cache
	list  []objectArray
}

type objectArray struct {
	what, digest string
	yaml         func() ([]byte, error)
}

const placeholder = `"\u0000`

func (a *objectArrays) add(what, digest string, yaml func() ([]byte, error)) json.RawMessage {
	a.list = append(a.list, objectArray{what, digest, yaml})
	return json.RawMessage(placeholder + strconv.Itoa(len(a.list)-1) + `"`)
}

// splice writes envelope with each placeholder replaced by its array,
// indented as json.Encoder indents it at that line. Every array is read
// (or made) before anything is written, so an error leaves w untouched.
// A cached array is checked then and read again as it is written, each
// through the same buffer: holding them all would take fresh memory for
// the whole output, which costs more than the second read.
func (a *objectArrays) splice(w io.Writer, envelope []byte) error {
	type piece struct {
		text   []byte
		array  int // -1: text only
		prefix string
	}
	var pieces []piece
	for {
		i := bytes.Index(envelope, []byte(placeholder))
		if i < 0 {
			pieces = append(pieces, piece{text: envelope, array: -1})
			break
		}
		rest := envelope[i+len(placeholder):]
		end := bytes.IndexByte(rest, '"')
		n, err := strconv.Atoi(string(rest[:end]))
		if err != nil || n >= len(a.list) {
			return fmt.Errorf("malformed placeholder in the JSON envelope")
		}
		line := envelope[bytes.LastIndexByte(envelope[:i], '\n')+1 : i]
		prefix := line[:len(line)-len(bytes.TrimLeft(line, " "))]
		pieces = append(pieces, piece{text: envelope[:i], array: n, prefix: string(prefix)})
		envelope = rest[end+1:]
	}
	var buf []byte
	made := map[int][]byte{}
	// array returns p's array: made before, else from the cache through
	// buf, else made now and kept.
	array := func(p piece) ([]byte, error) {
		if data, ok := made[p.array]; ok {
			return data, nil
		}
		if data, ok := a.cached(a.list[p.array], p.prefix, &buf); ok {
			return data, nil
		}
		data, err := a.indented(a.list[p.array], p.prefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.list[p.array].what, err)
		}
		made[p.array] = data
		return data, nil
	}
	for _, p := range pieces {
		if p.array < 0 {
			continue
		}
		if _, err := array(p); err != nil {
			return err
		}
	}
	for _, p := range pieces {
		if _, err := w.Write(p.text); err != nil {
			return err
		}
		if p.array < 0 {
			continue
		}
		// An array checked in the cache above is gone from it only if
		// another process trimmed it meanwhile: then it is made again.
		data, err := array(p)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// key is where the cache keeps an array indented at prefix.
func (arr objectArray) key(prefix string) string {
	return "json/2/" + strconv.Itoa(len(prefix)) + "/" + arr.digest
}

// cached reads an array indented at prefix from the cache into *buf.
func (a *objectArrays) cached(arr objectArray, prefix string, buf *[]byte) ([]byte, bool) {
	if a.cache == nil || arr.digest == "" {
		return nil, false
	}
	return a.cache.ReadInto(arr.key(prefix), buf)
}

// indented makes an array of objects as JSON indented at prefix, and
// keeps it in the cache by the YAML's digest and the prefix, so a warm
// run reads it instead of parsing every object again.
func (a *objectArrays) indented(arr objectArray, prefix string) ([]byte, error) {
	data, err := arr.yaml()
	if err != nil {
		return nil, err
	}
	objs, err := render.ParseObjects(data)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	compact.WriteByte('[')
	for i, obj := range objs {
		j, err := obj.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if i > 0 {
			compact.WriteByte(',')
		}
		compact.Write(j)
	}
	compact.WriteByte(']')
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), prefix, "  "); err != nil {
		return nil, err
	}
	if a.cache != nil && arr.digest != "" {
		_ = a.cache.Put(arr.key(prefix), out.Bytes())
	}
	return out.Bytes(), nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
