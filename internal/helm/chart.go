package helm

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Chart is a chart as a source serves it, before it is loaded.
type Chart struct {
	Name    string
	Version string
	// Source is where it comes from: a repository URL, an OCI reference or
	// a directory of a Git repository.
	Source string
	// Digest is the SHA-256 of its content, in hex.
	Digest string

	files []*archive.BufferedFile
	// unbuilt is set for a chart directory of a Git repository, whose
	// dependencies source-controller downloads when they are not in its
	// charts/ directory.
	unbuilt bool
	// adjust are what source-controller changes in the chart it packages
	// (valuesFiles, version metadata), applied on every load.
	adjust []func(*chartv2.Chart) error
	// loads are the charts a Fetcher loaded this run, by Digest; nil
	// loads the chart anew each time.
	loads *sync.Map
}

// adjusted adds a change to the chart, and what it depends on to its
// digest.
func (c *Chart) adjusted(what string, f func(*chartv2.Chart) error) {
	c.adjust = append(c.adjust, f)
	c.Digest = cache.Key(c.Digest, what)
}

// String names the chart as findings name it.
func (c *Chart) String() string {
	if c.Name == "" {
		return c.Source
	}
	return fmt.Sprintf("%s %s from %s", c.Name, c.Version, c.Source)
}

// load returns the loaded chart. Rendering may change a loaded chart
// (Helm prunes its dependencies by their conditions and imports their
// values into it), so a chart with dependencies is loaded anew for each
// render; one without is loaded once and shared, as nothing changes it:
// Helm copies a chart's values before merging others into them.
func (c *Chart) load() (*chartv2.Chart, error) {
	ch, err := c.loadShared()
	if err != nil {
		return nil, err
	}
	if c.Name == "" && ch.Metadata != nil {
		c.Name, c.Version = ch.Metadata.Name, ch.Metadata.Version
	}
	if c.unbuilt {
		if missing := missingDependencies(ch); len(missing) > 0 {
			return nil, &Unchecked{Reason: fmt.Sprintf("chart %s lists dependencies its charts/ directory does not hold (%s): source-controller downloads them, a render does not", c, strings.Join(missing, ", "))}
		}
	}
	return ch, nil
}

// loaded is a chart loaded once, for the renders that may share it.
type loaded struct {
	once  sync.Once
	chart *chartv2.Chart
	err   error
}

// loadShared returns the chart loaded once for c's digest when renders may
// share it, else loads it anew.
func (c *Chart) loadShared() (*chartv2.Chart, error) {
	if c.loads == nil {
		return c.loadFiles()
	}
	v, _ := c.loads.LoadOrStore(c.Digest, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() { l.chart, l.err = c.loadFiles() })
	if l.err != nil {
		return nil, l.err
	}
	if l.chart.Metadata == nil || l.chart.Metadata.Dependencies != nil || len(l.chart.Dependencies()) > 0 {
		return c.loadFiles()
	}
	return l.chart, nil
}

// loadFiles loads the chart from its files, with source-controller's
// changes.
func (c *Chart) loadFiles() (*chartv2.Chart, error) {
	ch, err := loader.LoadFiles(c.files)
	if err != nil {
		return nil, fmt.Errorf("chart %s does not load: %w", c, err)
	}
	for _, f := range c.adjust {
		if err := f(ch); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

// missingDependencies names the dependencies Chart.yaml lists that the
// chart does not hold, as Helm's action.CheckDependencies finds them.
func missingDependencies(ch *chartv2.Chart) []string {
	if ch.Metadata == nil {
		return nil
	}
	held := map[string]bool{}
	for _, d := range ch.Dependencies() {
		held[d.Name()] = true
	}
	var out []string
	for _, d := range ch.Metadata.Dependencies {
		if !held[d.Name] {
			out = append(out, d.Name)
		}
	}
	return out
}

// FromTree reads the chart in directory dir of a repository's tree, as
// source-controller packages a chart of a GitRepository: every file below
// dir but those its .helmignore (and Helm's defaults) leave out. read is
// called with each file read, for the caller's record.
func FromTree(tree repo.Tree, dir string, read func(path string)) (*Chart, error) {
	rules := ignore.Empty()
	if data, err := tree.ReadFile(path.Join(dir, ignore.HelmIgnore)); err == nil {
		if read != nil {
			read(path.Join(dir, ignore.HelmIgnore))
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, ignore.HelmIgnore), err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var content bytes.Buffer
	var walk func(rel string) error
	walk = func(rel string) error {
		entries, err := tree.ReadDir(path.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := path.Join(rel, e.Name)
			if rules.Ignore(name, entryInfo{e}) {
				continue
			}
			switch e.Kind {
			case repo.Dir:
				if err := walk(name); err != nil {
					return err
				}
			case repo.File:
				full := path.Join(dir, name)
				data, err := tree.ReadFile(full)
				if err != nil {
					return err
				}
				if read != nil {
					read(full)
				}
				data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
				files = append(files, &archive.BufferedFile{Name: name, Data: data})
				fmt.Fprintf(&content, "%s\x00%d\x00", name, len(data))
				content.Write(data)
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, fmt.Errorf("chart directory %s: %w", dir, err)
	}
	c := &Chart{Source: dir, Digest: cache.Digest(content.Bytes()), files: files, unbuilt: true}
	if _, err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// entryInfo is a tree entry as .helmignore rules look at it: a name and
// whether it is a directory.
type entryInfo struct{ e repo.Entry }

func (i entryInfo) Name() string { return i.e.Name }
func (i entryInfo) Size() int64  { return 0 }
func (i entryInfo) Mode() fs.FileMode {
	if i.e.Kind == repo.Dir {
		return fs.ModeDir
	}
	return 0
}
func (i entryInfo) ModTime() time.Time { return time.Time{} }
func (i entryInfo) IsDir() bool        { return i.e.Kind == repo.Dir }
func (i entryInfo) Sys() any           { return nil }

// setVersionMetadata sets SemVer build metadata on a chart's version, as
// source-controller does for the Revision reconcile strategy.
func setVersionMetadata(ch *chartv2.Chart, meta string) error {
	v, err := semver.NewVersion(ch.Metadata.Version)
	if err != nil {
		return fmt.Errorf("chart %s: version %q is not SemVer: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	withMeta, err := v.SetMetadata(meta)
	if err != nil {
		return err
	}
	ch.Metadata.Version = withMeta.String()
	return nil
}
