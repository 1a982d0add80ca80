package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/pkg/version"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// ChartMediaType is the media type of a Helm chart's layer in an OCI
// artifact.
const ChartMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

// ErrNotCached is returned, wrapped, offline for a chart or a version list
// the cache does not hold.
var ErrNotCached = errors.New("not in the cache, and --offline keeps from fetching it")

// Fetcher fetches charts from Helm repositories and OCI registries once,
// keeping each chart in the cache by digest and each version resolution
// for its source's interval, as source-controller keeps an artifact
// between reconciliations.
type Fetcher struct {
	cache    *cache.Cache
	registry *registry.Client
	offline  bool
	now      func() time.Time
	flights  singleflight.Group
	// down are the hosts this run could not reach, with the Auth.key of
	// the sources that tried (a *hostDown): the other charts they serve
	// are not asked for again the same way.
	down sync.Map
	// unpacked are the files of the archives read this run, by digest,
	// shared by the renders of the same chart.
	unpacked sync.Map
	// loaded are the charts loaded this run, by digest (see Chart.load).
	loaded sync.Map
	// clients are the registry clients of the sources with their own
	// credentials or TLS settings, by Auth.key.
	clients sync.Map
}

// chart returns the chart whose archive is data, unpacked once per run.
func (f *Fetcher) chart(r resolution, data []byte, c Chart) (*Chart, error) {
	files, ok := f.unpacked.Load(r.Digest)
	if !ok {
		unpacked, err := archive.LoadArchiveFiles(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("chart %s is not a chart archive: %w", &c, err)
		}
		files, _ = f.unpacked.LoadOrStore(r.Digest, unpacked)
	}
	c.Digest, c.files, c.loads = r.Digest, files.([]*archive.BufferedFile), &f.loaded
	return &c, nil
}

// FetcherOptions configure a Fetcher.
type FetcherOptions struct {
	// Cache keeps charts and resolutions between runs; nil keeps nothing.
	Cache *cache.Cache
	// Registry reads OCI registries and HTTP repositories.
	Registry *registry.Client
	// Offline fetches nothing: what the cache lacks is an error wrapping
	// ErrNotCached.
	Offline bool
	// Now is the clock resolutions age by; nil is time.Now.
	Now func() time.Time
}

// NewFetcher returns a Fetcher.
func NewFetcher(opts FetcherOptions) *Fetcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Fetcher{cache: opts.Cache, registry: opts.Registry, offline: opts.Offline, now: opts.Now}
}

// FetchesAhead tells whether a chart fetched ahead of its render saves
// the render its fetch: the fetcher is online and keeps what it fetches
// in its cache.
func (f *Fetcher) FetchesAhead() bool { return !f.offline && f.cache != nil }

// resolution is where a chart version was found: what the cache keeps of a
// version lookup.
type resolution struct {
	Version string
	// Ref is the archive's URL or the OCI reference, with its tag.
	Ref string
	// Digest is the SHA-256 of the archive, in hex.
	Digest string
	At     time.Time
}

func (r resolution) encode() string {
	return strings.Join([]string{r.Version, r.Ref, r.Digest, strconv.FormatInt(r.At.Unix(), 10)}, "\n")
}

func decodeResolution(s string) (resolution, bool) {
	p := strings.Split(s, "\n")
	if len(p) != 4 {
		return resolution{}, false
	}
	at, err := strconv.ParseInt(p[3], 10, 64)
	if err != nil {
		return resolution{}, false
	}
	return resolution{Version: p[0], Ref: p[1], Digest: p[2], At: time.Unix(at, 0)}, true
}

// resolve returns the cached resolution of key when it is younger than
// interval (any age offline), else calls lookup, fetches the archive and
// keeps both. Concurrent calls for one key share one lookup. A host that
// could not be reached with auth is not asked again this run with it, and
// every call for it, the first included, gets the same error (hostDown).
func (f *Fetcher) resolve(host string, auth Auth, key string, interval time.Duration, lookup func() (resolution, []byte, error)) (resolution, []byte, error) {
	ckey := cache.Key("helm-resolve/1", key)
	if f.cache != nil {
		if s, ok := f.cache.GetString(ckey); ok {
			if r, ok := decodeResolution(s); ok && (f.offline || f.now().Sub(r.At) < interval) {
				if data, ok := f.archive(r.Digest); ok {
					return r, data, nil
				}
			}
		}
	}
	if f.offline {
		return resolution{}, nil, ErrNotCached
	}
	reach := host + "\x00" + auth.key()
	if d, ok := f.down.Load(reach); ok {
		return resolution{}, nil, d.(*hostDown)
	}
	type out struct {
		r    resolution
		data []byte
	}
	v, err, _ := f.flights.Do(ckey, func() (any, error) {
		r, data, err := lookup()
		if err != nil {
			if rerr := (*registry.Error)(nil); errors.As(err, &rerr) && unreachable(rerr) {
				d, _ := f.down.LoadOrStore(reach, &hostDown{host, rerr})
				return nil, d.(*hostDown)
			}
			return nil, err
		}
		r.At = f.now()
		r.Digest = cache.Digest(data)
		if f.cache != nil {
			if f.cache.Put("helm-chart/"+r.Digest, data) == nil {
				_ = f.cache.Put(ckey, []byte(r.encode()))
			}
		}
		return out{r, data}, nil
	})
	if err != nil {
		return resolution{}, nil, err
	}
	o := v.(out)
	return o.r, o.data, nil
}

// archive reads a cached chart archive, checking its digest.
func (f *Fetcher) archive(digest string) ([]byte, bool) {
	if f.cache == nil || digest == "" {
		return nil, false
	}
	data, ok := f.cache.Get("helm-chart/" + digest)
	if !ok || cache.Digest(data) != digest {
		return nil, false
	}
	return data, true
}

// FromRepository fetches chart name at the version want (an exact version
// or a semver range; empty or "*" is the newest stable one) from the Helm
// repository at repoURL: an HTTP(S) repository's index.yaml, or the tags of
// an OCI repository (oci://host/path) as source-controller lists them. The
// basic credentials of auth go only to repoURL's host unless
// passCredentials, as Helm's getter sends them.
func (f *Fetcher) FromRepository(ctx context.Context, repoURL, name, want string, interval time.Duration, auth Auth, passCredentials bool) (*Chart, error) {
	what := fmt.Sprintf("chart %s %s from %s", name, versionWord(want), repoURL)
	client, err := f.client(auth)
	if err != nil {
		return nil, &Unchecked{Reason: what + ": " + err.Error()}
	}
	if strings.HasPrefix(repoURL, "oci://") {
		ref := strings.TrimSuffix(strings.TrimPrefix(repoURL, "oci://"), "/") + "/" + name
		return f.fromOCI(ctx, client, ref, name, want, interval, auth)
	}
	key := cache.Key(repoURL, name, want, auth.Username)
	r, data, err := f.resolve(hostOf(repoURL), auth, key, interval, func() (resolution, []byte, error) {
		index, err := f.index(ctx, client, repoURL, auth)
		if err != nil {
			return resolution{}, nil, err
		}
		entries, ok := index.Entries[name]
		if !ok || len(entries) == 0 {
			return resolution{}, nil, fmt.Errorf("the repository's index has no chart %q", name)
		}
		candidates := make([]Candidate, 0, len(entries))
		byVersion := map[Candidate]*indexEntry{}
		for _, e := range entries {
			if e == nil || e.Metadata == nil {
				continue
			}
			c := Candidate{Version: e.Version, Created: e.Created}
			candidates = append(candidates, c)
			byVersion[c] = e
		}
		c, err := pickVersion(candidates, want)
		if err != nil {
			return resolution{}, nil, err
		}
		e := byVersion[c]
		if len(e.URLs) == 0 {
			return resolution{}, nil, fmt.Errorf("the index lists %s %s without a URL", name, e.Version)
		}
		u, err := chartURL(repoURL, e.URLs[0])
		if err != nil {
			return resolution{}, nil, err
		}
		user, password := auth.Username, auth.Password
		if !passCredentials && hostOf(u) != hostOf(repoURL) {
			user, password = "", ""
		}
		data, err := client.Fetch(ctx, u, user, password)
		if err != nil {
			return resolution{}, nil, err
		}
		return resolution{Version: e.Version, Ref: u}, data, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", what, err, refusedHint(err, auth))
	}
	return f.chart(r, data, Chart{Name: name, Version: r.Version, Source: repoURL})
}

// indexFile is what a fetch reads of a chart repository's index.yaml: the
// fields of Helm's repo.IndexFile and repo.ChartVersion it uses, decoded
// alike (TestIndexAsHelmReadsIt). Not Helm's types themselves: their
// package links Helm's getters and plugin runtime (88 packages, a
// WebAssembly engine among them) into every command, for three fields.
type indexFile struct {
	APIVersion string                   `json:"apiVersion"`
	Entries    map[string][]*indexEntry `json:"entries"`
}

// indexEntry is one version of a chart in an index (repo.ChartVersion):
// its chart's metadata, nil when the entry has none, as in Helm's.
type indexEntry struct {
	*chartv2.Metadata
	URLs    []string  `json:"urls"`
	Created time.Time `json:"created"`
}

// index fetches and reads a repository's index.yaml.
func (f *Fetcher) index(ctx context.Context, client *registry.Client, repoURL string, auth Auth) (*indexFile, error) {
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, fmt.Errorf("invalid repository URL: %w", err)
	}
	u.Path = path.Join(u.Path, "index.yaml")
	data, err := client.Fetch(ctx, u.String(), auth.Username, auth.Password)
	if err != nil {
		return nil, err
	}
	index := &indexFile{}
	if err := yaml.Unmarshal(data, index); err != nil {
		return nil, fmt.Errorf("the repository's index.yaml is not an index: %w", err)
	}
	if index.APIVersion == "" {
		return nil, errors.New("the repository's index.yaml has no apiVersion: not a chart repository index")
	}
	return index, nil
}

// chartURL resolves an index entry's URL against the repository's, as
// source-controller does: an absolute URL as is, else relative to the
// repository URL as a directory.
func chartURL(repoURL, ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("invalid chart URL %q: %w", ref, err)
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	base, err := url.Parse(repoURL)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	return base.ResolveReference(u).String(), nil
}

// fromOCI fetches chart name from the OCI repository ref (host/path/name):
// want as the tag when it is a version, else the newest tag in range, Helm's
// "_" in tags standing for "+".
func (f *Fetcher) fromOCI(ctx context.Context, client *registry.Client, ref, name, want string, interval time.Duration, auth Auth) (*Chart, error) {
	what := fmt.Sprintf("chart %s %s from oci://%s", name, versionWord(want), ref)
	r, data, err := f.resolve(hostOf(ref), auth, cache.Key("oci", ref, want), interval, func() (resolution, []byte, error) {
		tag, err := ociTag(ctx, client, ref, want)
		if err != nil {
			return resolution{}, nil, err
		}
		data, _, err := client.Layer(ctx, ref+":"+strings.ReplaceAll(tag, "+", "_"), ChartMediaType)
		if err != nil {
			return resolution{}, nil, err
		}
		return resolution{Version: tag, Ref: ref + ":" + tag}, data, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", what, err, refusedHint(err, auth))
	}
	return f.chart(r, data, Chart{Name: name, Version: r.Version, Source: "oci://" + path.Dir(ref)})
}

func ociTag(ctx context.Context, client *registry.Client, ref, want string) (string, error) {
	if isVersion(want) {
		return want, nil
	}
	res := client.ListTags(ctx, []string{ref})[ref]
	if res.Err != nil {
		return "", res.Err
	}
	if len(res.Tags) == 0 {
		return "", errors.New("the repository has no tags")
	}
	candidates := make([]Candidate, len(res.Tags))
	for i, t := range res.Tags {
		candidates[i] = Candidate{Version: strings.ReplaceAll(t, "_", "+")}
	}
	c, err := pickVersion(candidates, want)
	return c.Version, err
}

// OCIRef is an OCIRepository's spec.ref.
type OCIRef struct {
	Tag, SemVer, SemverFilter, Digest string
}

// FromOCIRepository fetches the chart an OCIRepository at url (oci://…)
// serves, at ref as source-controller resolves it: digest, then semver
// (among the tags semverFilter keeps), then tag, else "latest". The chart
// is the artifact's layer of mediaType, or of the Helm chart type.
func (f *Fetcher) FromOCIRepository(ctx context.Context, rawURL string, ref OCIRef, mediaType string, interval time.Duration, auth Auth) (*Chart, error) {
	if mediaType == "" {
		mediaType = ChartMediaType
	}
	r, data, err := f.ociArtifact(ctx, rawURL, ref, mediaType, interval, auth)
	if err != nil {
		return nil, err
	}
	return f.chart(r, data, Chart{Source: rawURL})
}

// Artifact fetches the artifact an OCIRepository at rawURL (oci://…)
// serves at ref, as source-controller resolves the ref: its layer of
// mediaType, or its first layer when mediaType is empty, as stored. It is
// kept in the cache as charts are. It returns the layer, the reference it
// was read from (with the manifest's digest) and the layer's SHA-256.
func (f *Fetcher) Artifact(ctx context.Context, rawURL string, ref OCIRef, mediaType string, interval time.Duration, auth Auth) (data []byte, from, digest string, err error) {
	r, data, err := f.ociArtifact(ctx, rawURL, ref, mediaType, interval, auth)
	if err != nil {
		return nil, "", "", err
	}
	return data, r.Ref, r.Digest, nil
}

func (f *Fetcher) ociArtifact(ctx context.Context, rawURL string, ref OCIRef, mediaType string, interval time.Duration, auth Auth) (resolution, []byte, error) {
	base := strings.TrimPrefix(rawURL, "oci://")
	client, err := f.client(auth)
	if err != nil {
		return resolution{}, nil, &Unchecked{Reason: fmt.Sprintf("OCI artifact %s: %v", rawURL, err)}
	}
	var target, shown string
	switch {
	case ref.Digest != "":
		target, shown = base+"@"+ref.Digest, ref.Digest
	case ref.SemVer != "":
		shown = ref.SemVer
	case ref.Tag != "":
		target, shown = base+":"+ref.Tag, ref.Tag
	default:
		target, shown = base+":latest", "latest"
	}
	key := cache.Key("ocirepository", base, ref.Digest, ref.SemVer, ref.SemverFilter, ref.Tag, mediaType)
	r, data, err := f.resolve(hostOf(base), auth, key, interval, func() (resolution, []byte, error) {
		t := target
		if t == "" {
			tag, err := semverTag(ctx, client, base, ref)
			if err != nil {
				return resolution{}, nil, err
			}
			t = base + ":" + tag
		}
		data, digest, err := client.Layer(ctx, t, mediaType)
		if err != nil {
			return resolution{}, nil, err
		}
		return resolution{Ref: t + "@" + digest}, data, nil
	})
	if err != nil {
		return resolution{}, nil, fmt.Errorf("OCI artifact %s (%s): %w%s", rawURL, shown, err, refusedHint(err, auth))
	}
	return r, data, nil
}

func semverTag(ctx context.Context, client *registry.Client, base string, ref OCIRef) (string, error) {
	res := client.ListTags(ctx, []string{base})[base]
	if res.Err != nil {
		return "", res.Err
	}
	var filter *regexp.Regexp
	if ref.SemverFilter != "" {
		var err error
		if filter, err = regexp.Compile(ref.SemverFilter); err != nil {
			return "", fmt.Errorf("semverFilter %q: %w", ref.SemverFilter, err)
		}
	}
	var candidates []Candidate
	for _, t := range res.Tags {
		if filter == nil || filter.MatchString(t) {
			candidates = append(candidates, Candidate{Version: t})
		}
	}
	c, err := pickVersion(candidates, ref.SemVer)
	return c.Version, err
}

// isVersion tells whether want names one version rather than a range, as
// source-controller tells it before listing an OCI repository's tags.
func isVersion(want string) bool {
	_, err := version.ParseVersion(want)
	return err == nil
}

func versionWord(want string) string {
	if want == "" || want == "*" {
		return "(newest stable)"
	}
	return want
}

// hostOf is the host of a URL or of an OCI reference.
func hostOf(ref string) string {
	if u, err := url.Parse(ref); err == nil && u.Host != "" {
		return u.Host
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(ref, "oci://"), "/")
	return host
}

// unreachable tells a failure to reach a host (no answer, no such host, a
// timeout) from an answer.
func unreachable(err error) bool {
	var rerr *registry.Error
	return errors.As(err, &rerr) && rerr.Status == 0 && (rerr.Kind == registry.KindUnavailable || rerr.Kind == registry.KindTimeout)
}

// refusedHint is what to add to err, a refusal of auth's credentials, for
// a source whose provider signs in with the cloud's identity.
func refusedHint(err error, auth Auth) string {
	var rerr *registry.Error
	if errors.As(err, &rerr) && (rerr.Kind == registry.KindUnauthorized || rerr.Kind == registry.KindForbidden) {
		return auth.hint()
	}
	return ""
}

// hostDown is the error of every fetch of a run from a host that did not
// answer: one text for all, whichever of the run's concurrent fetches
// asked first, so that what a run reports does not depend on its timing.
type hostDown struct {
	host string
	err  *registry.Error // the first failure's
}

func (e *hostDown) Error() string { return "cannot reach " + e.host + ": " + e.err.Unreached() }

func (e *hostDown) Unwrap() error { return e.err }
