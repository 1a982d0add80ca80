package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/httpretry"
)

// MaxArtifact bounds what Layer and Fetch read: a Helm chart, or a chart
// repository's index, larger than this is refused.
const MaxArtifact = 64 << 20

// Layer pulls the manifest ref ("registry/path/name:tag" or "@sha256:…")
// names, and returns the content of its first layer of mediaType (the first
// layer when mediaType is empty), as stored (compressed), and the digest of
// the manifest. It is how a Helm chart or an OCIRepository's artifact is
// read.
func (c *Client) Layer(ctx context.Context, ref, mediaType string) ([]byte, string, error) {
	r, err := name.ParseReference(ref, c.nameOptions(ref)...)
	if err != nil {
		return nil, "", &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	p, err := c.artifactPuller()
	if err != nil {
		return nil, "", &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	ctx, stats := httpretry.WithCounter(ctx)
	fail := func(err error) ([]byte, string, error) {
		e := classify(ctx, ref, err, stats, c.opts.Timeout)
		e.tag = true
		return nil, "", e
	}
	desc, err := p.Get(ctx, r)
	if err != nil {
		return fail(err)
	}
	img, err := desc.Image()
	if err != nil {
		return fail(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fail(err)
	}
	for _, l := range m.Layers {
		if mediaType != "" && string(l.MediaType) != mediaType {
			continue
		}
		if l.Size > MaxArtifact {
			return nil, "", &Error{Repository: ref, Kind: KindInvalid, Err: fmt.Errorf("layer of %d bytes is past the %d bytes read", l.Size, MaxArtifact)}
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return fail(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return fail(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, MaxArtifact+1))
		if err != nil {
			return fail(err)
		}
		return data, desc.Digest.String(), nil
	}
	want := "a layer"
	if mediaType != "" {
		want = "a layer of type " + mediaType
	}
	return nil, "", &Error{Repository: ref, Kind: KindNotFound, Err: fmt.Errorf("the manifest has no %s", want), tag: true}
}

// Fetch gets an HTTP(S) URL with the client's timeout and retries, as a
// Helm chart repository's index or chart archive is read, with basic
// credentials when username is set. Errors never hold the credentials.
func (c *Client) Fetch(ctx context.Context, u, username, password string) ([]byte, error) {
	ctx, stats := httpretry.WithCounter(ctx)
	shown := u
	if pu, err := url.Parse(u); err == nil {
		pu.User = nil
		pu.RawQuery = ""
		shown = pu.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Repository: shown, Kind: KindInvalid, Err: err}
	}
	if username != "" {
		req.SetBasicAuth(username, password)
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := (&http.Client{Transport: c.transport()}).Do(req)
	if err != nil {
		e := classify(ctx, shown, err, stats, c.opts.Timeout)
		e.http = true
		return nil, e
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := classify(ctx, shown, &transport.Error{StatusCode: resp.StatusCode}, stats, c.opts.Timeout)
		e.http = true
		return nil, e
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxArtifact+1))
	if err != nil {
		return nil, classify(ctx, shown, err, stats, c.opts.Timeout)
	}
	if len(data) > MaxArtifact {
		return nil, &Error{Repository: shown, Kind: KindInvalid, Err: fmt.Errorf("more than %d bytes", MaxArtifact)}
	}
	return data, nil
}

// Push writes data to ref ("registry/path/name:tag") as an OCI artifact
// of one layer of mediaType, replacing what the tag pointed to: how a
// shared render cache stores an entry.
func (c *Client) Push(ctx context.Context, ref, mediaType string, data []byte) error {
	r, err := name.NewTag(ref, c.nameOptions(ref)...)
	if err != nil {
		return &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     static.NewLayer(data, types.MediaType(mediaType)),
		MediaType: types.MediaType(mediaType),
	})
	if err != nil {
		return &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	p, err := c.artifactPusher()
	if err != nil {
		return &Error{Repository: ref, Kind: KindInvalid, Err: err}
	}
	ctx, stats := httpretry.WithCounter(ctx)
	if err := p.Push(ctx, r, img); err != nil {
		e := classify(ctx, ref, err, stats, c.opts.Timeout)
		e.tag = true
		return e
	}
	return nil
}
