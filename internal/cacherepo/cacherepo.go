// Package cacherepo keeps the render cache's entries in an OCI registry,
// so that CI runners share what any of them rendered: each entry is an
// artifact of one layer, tagged with the entry's key in the cache, pulled
// when the local cache lacks it and pushed when a run stores it.
//
// The registry is a help, never a requirement: one that cannot be reached,
// or refuses the credentials, is named once and the run goes on with the
// local cache. An entry whose layer does not match its digest (truncated,
// damaged) is left out; one that does but does not decode is rebuilt by
// its reader, and the rebuilt entry replaces it.
package cacherepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
)

// MediaType is the media type of an entry's layer.
const MediaType = "application/vnd.kubectl-gitops.cache.entry.v1"

// pushes bounds the entries sent at once.
const pushes = 8

// isTag tells whether an entry's key can name a tag, as the OCI
// distribution spec's grammar has it ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}):
// the cache's keys are hex digests, some with a letter before. A loop, not
// that regular expression, which compiles its bounded repetition into a
// thousand allocations when the package loads, in every command.
func isTag(key string) bool {
	if key == "" || len(key) > 128 || key[0] == '.' || key[0] == '-' {
		return false
	}
	for _, c := range []byte(key) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// Repo is a repository of a registry holding cache entries; it is a
// cache.Remote.
type Repo struct {
	ctx    context.Context
	client *registry.Client
	repo   string
	warn   func(string)

	down   atomic.Bool
	once   sync.Once
	pushed errgroup.Group
	mu     sync.Mutex
	// sending holds, by key, the entry to push once the push under way
	// ends (nil: none).
	sending map[string][]byte
	// pulled are the digests of the entries read from the registry, by
	// key: not sent back unless the run stores something else under the
	// key (what it read did not decode, and was rebuilt).
	pulled sync.Map
	// Pulled and Pushed count the entries read and sent.
	Pulled, Pushed atomic.Int64
}

// New returns the repository ref ("registry/path/name") through client;
// warn is told, once, when the registry cannot be used. ctx bounds every
// request.
func New(ctx context.Context, ref string, client *registry.Client, warn func(string)) (*Repo, error) {
	if err := Check(ref); err != nil {
		return nil, err
	}
	r := &Repo{ctx: ctx, client: client, repo: ref, warn: warn, sending: map[string][]byte{}}
	r.pushed.SetLimit(pushes)
	return r, nil
}

var _ cache.Remote = (*Repo)(nil)

// Check tells whether ref names a repository of a registry.
func Check(ref string) error {
	if _, err := name.NewRepository(ref); err != nil {
		return fmt.Errorf("the cache repository %q is not REGISTRY/PATH/NAME: %w", ref, err)
	}
	return nil
}

// Get pulls the entry stored under key.
func (r *Repo) Get(key string) ([]byte, bool) {
	if r.down.Load() || !isTag(key) {
		return nil, false
	}
	data, _, err := r.client.Layer(r.ctx, r.repo+":"+key, MediaType)
	if err != nil {
		if !errors.Is(err, registry.ErrNotFound) {
			r.failed(err)
		}
		return nil, false
	}
	r.pulled.Store(key, cache.Digest(data))
	r.Pulled.Add(1)
	return data, true
}

// Put pushes the entry in the background; Flush waits for it. Entries
// stored twice under one key (a memo saved again) are pushed in order,
// the last one last.
func (r *Repo) Put(key string, data []byte) {
	if r.down.Load() || !isTag(key) {
		return
	}
	if d, ok := r.pulled.Load(key); ok && d == cache.Digest(data) {
		return
	}
	data = bytes.Clone(data)
	r.mu.Lock()
	if _, busy := r.sending[key]; busy {
		r.sending[key] = data // pushed once the one being pushed is
		r.mu.Unlock()
		return
	}
	r.sending[key] = nil
	r.mu.Unlock()
	// Go waits while the most pushes are under way; each takes the lock
	// as it ends, so it is not held here.
	r.pushed.Go(func() error {
		for data != nil {
			if !r.down.Load() {
				if err := r.client.Push(r.ctx, r.repo+":"+key, MediaType, data); err != nil {
					r.failed(err)
				} else {
					r.Pushed.Add(1)
				}
			}
			r.mu.Lock()
			data = r.sending[key]
			if data == nil {
				delete(r.sending, key)
			} else {
				r.sending[key] = nil
			}
			r.mu.Unlock()
		}
		return nil
	})
}

// Flush waits for the entries being pushed.
func (r *Repo) Flush() { _ = r.pushed.Wait() }

// failed stops using the registry when the error says it cannot be used
// (unreachable, refusing the credentials, overloaded); another error
// concerns one entry, which is left out.
func (r *Repo) failed(err error) {
	for _, unusable := range []error{registry.ErrUnauthorized, registry.ErrForbidden, registry.ErrUnavailable,
		registry.ErrTimeout, registry.ErrRateLimited, registry.ErrInvalid} {
		if errors.Is(err, unusable) {
			r.down.Store(true)
			r.once.Do(func() {
				r.warn(fmt.Sprintf("the shared cache %s cannot be used (%v): going on with the local cache only", r.repo, err))
			})
			return
		}
	}
}
